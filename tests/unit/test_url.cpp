// parse_url: schemes, userinfo decoding, query password, IPv6, ports, redaction.
#include <readyprobe/url.hpp>

#include "url_text.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <stdexcept>
#include <string>

using readyprobe::parse_url;
using readyprobe::percent_decode;
using readyprobe::Url;

TEST_CASE("parse_url: postgres URL with user, password, port, path and query", "[url]") {
    const Url u = parse_url("postgres://app:s3cret@db.internal:6432/orders?sslmode=require");
    CHECK(u.scheme == "postgres");
    CHECK(u.user == "app");
    CHECK(u.password.reveal() == "s3cret");
    CHECK(u.host == "db.internal");
    CHECK(u.port == 6432);
    CHECK(u.path == "/orders");
    REQUIRE(u.query.size() == 1);
    CHECK(u.query[0].first == "sslmode");
    CHECK(u.query[0].second == "require");
    CHECK(u.param("sslmode") == "require");
    CHECK(u.param("missing", "fallback") == "fallback");
}

TEST_CASE("parse_url: postgresql scheme is lower-cased and the port is optional", "[url]") {
    const Url u = parse_url("PostgreSQL://db/orders");
    CHECK(u.scheme == "postgresql");
    CHECK(u.host == "db");
    CHECK(u.port == 0);
    CHECK(u.user.empty());
    CHECK(u.password.empty());
    CHECK(u.path == "/orders");
}

TEST_CASE("parse_url: redis URL with password only and a database path", "[url]") {
    const Url u = parse_url("redis://:pw@cache:6380/2");
    CHECK(u.scheme == "redis");
    CHECK(u.user.empty());
    CHECK(u.password.reveal() == "pw");
    CHECK(u.host == "cache");
    CHECK(u.port == 6380);
    CHECK(u.path == "/2");
}

TEST_CASE("parse_url: http and https URLs", "[url]") {
    const Url h = parse_url("http://app:8080/healthz?deep=1&x=y");
    CHECK(h.scheme == "http");
    CHECK(h.host == "app");
    CHECK(h.port == 8080);
    CHECK(h.path == "/healthz");
    CHECK(h.param("deep") == "1");
    CHECK(h.param("x") == "y");

    const Url s = parse_url("https://example.com");
    CHECK(s.scheme == "https");
    CHECK(s.host == "example.com");
    CHECK(s.port == 0);
    CHECK(s.path.empty());
    CHECK(s.query.empty());
}

TEST_CASE("parse_url: tcp and file URLs", "[url]") {
    const Url t = parse_url("tcp://10.0.0.5:5432");
    CHECK(t.scheme == "tcp");
    CHECK(t.host == "10.0.0.5");
    CHECK(t.port == 5432);

    const Url f = parse_url("file:///var/run/app/ready");
    CHECK(f.scheme == "file");
    CHECK(f.host.empty());
    CHECK(f.path == "/var/run/app/ready");
}

TEST_CASE("parse_url: user and password are percent-decoded", "[url]") {
    const Url u = parse_url("postgres://my%20user:p%40ss%3Aword%25@db:5432/x");
    CHECK(u.user == "my user");
    CHECK(u.password.reveal() == "p@ss:word%");
    CHECK(u.host == "db");
    CHECK(u.port == 5432);
}

TEST_CASE("parse_url: an unencoded @ or : in the password is kept", "[url]") {
    const Url at = parse_url("postgres://u:p@ss@db:5432/x");
    CHECK(at.user == "u");
    CHECK(at.password.reveal() == "p@ss");
    CHECK(at.host == "db");

    const Url colon = parse_url("postgres://u:a:b:c@db/x");
    CHECK(colon.user == "u");
    CHECK(colon.password.reveal() == "a:b:c");
    CHECK(colon.host == "db");
}

TEST_CASE("parse_url: password from the query goes into the secret and out of the query", "[url]") {
    const Url u = parse_url("redis://cache:6379/0?password=q%40pw&timeout=3");
    CHECK(u.password.reveal() == "q@pw");
    REQUIRE(u.query.size() == 1);
    CHECK(u.query[0].first == "timeout");
    CHECK(u.param("password", "none") == "none");
    CHECK(u.redacted().find("q@pw") == std::string::npos);
    CHECK(u.redacted().find("q%40pw") == std::string::npos);
    CHECK(u.redacted().find("password=") == std::string::npos);
}

TEST_CASE("parse_url: query values are percent-decoded", "[url]") {
    const Url u = parse_url("http://h/p?a=b%20c&flag");
    CHECK(u.param("a") == "b c");
    CHECK(u.param("flag", "absent") == "");
}

TEST_CASE("parse_url: IPv6 host in brackets", "[url]") {
    const Url u = parse_url("postgres://u:pw@[::1]:5432/db");
    CHECK(u.host == "::1");
    CHECK(u.port == 5432);
    CHECK(u.authority() == "[::1]:5432");
    CHECK(u.path == "/db");

    const Url no_port = parse_url("tcp://[fe80::1]");
    CHECK(no_port.host == "fe80::1");
    CHECK(no_port.port == 0);
    CHECK(no_port.authority() == "[fe80::1]");

    CHECK_THROWS_AS(parse_url("tcp://[::1:5432"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("tcp://[::1]5432"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("tcp://[::1]:"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("tcp://[zz::1]:1"), std::invalid_argument);
}

TEST_CASE("parse_url: port range and syntax errors", "[url]") {
    CHECK(parse_url("tcp://h:1").port == 1);
    CHECK(parse_url("tcp://h:65535").port == 65535);
    CHECK_THROWS_AS(parse_url("tcp://h:0"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("tcp://h:65536"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("tcp://h:99999"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("tcp://h:123456"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("tcp://h:54a"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("tcp://h:abc"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("tcp://h:-1"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("tcp://h:"), std::invalid_argument);
}

TEST_CASE("parse_url: missing or bad scheme and bad host", "[url]") {
    CHECK_THROWS_AS(parse_url("db.internal:5432"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("://db:5432"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url(""), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("post gres://db"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("http://bad host/"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("postgres://u:p%zz@db/x"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("postgres://u:p%4@db/x"), std::invalid_argument);
}

TEST_CASE("parse_url: errors about a bad password encoding do not contain the password", "[url][secret]") {
    try {
        parse_url("postgres://u:hunter2%zz@db/x");
        FAIL("expected std::invalid_argument");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    }
    try {
        parse_url("redis://cache/0?password=hunter2%zz");
        FAIL("expected std::invalid_argument");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    }
}

TEST_CASE("Url::redacted never contains the password", "[url][secret]") {
    struct Case {
        const char* url;
        const char* password;  // decoded
    };
    const Case cases[] = {
        {"postgres://app:plainpw@db:5432/orders", "plainpw"},
        {"postgres://app:p@ss@db:5432/orders", "p@ss"},
        {"postgres://app:pa:ss:wd@db:5432/orders", "pa:ss:wd"},
        {"postgres://app:p%40ss@db:5432/orders", "p@ss"},
        {"postgres://app:with spaces here@db:5432/orders", "with spaces here"},
        {"postgres://app:with%20space@db/orders", "with space"},
        {"redis://:only-pw@cache:6379/1", "only-pw"},
        {"redis://cache:6379/1?password=querypw", "querypw"},
        {"postgres://app@[::1]:5432/db?password=v6pw&sslmode=disable", "v6pw"},
    };
    for (const auto& c : cases) {
        INFO("url: " << c.url);
        const Url u = parse_url(c.url);
        REQUIRE(u.password.reveal() == c.password);
        const std::string r = u.redacted();
        INFO("redacted: " << r);
        CHECK(r.find(c.password) == std::string::npos);
        CHECK(r.find("***") != std::string::npos);
        // The raw (possibly encoded) userinfo password must not be there either.
        CHECK(r.find("p%40ss") == std::string::npos);
    }
}

TEST_CASE("Url::redacted keeps everything but the password", "[url]") {
    CHECK(parse_url("postgres://app:pw@db:5432/orders?sslmode=require").redacted() ==
          "postgres://app:***@db:5432/orders?sslmode=require");
    CHECK(parse_url("redis://cache:6379/0?password=x").redacted() == "redis://:***@cache:6379/0");
    CHECK(parse_url("http://app:8080/healthz").redacted() == "http://app:8080/healthz");
    CHECK(parse_url("postgres://app@db/orders").redacted() == "postgres://app@db/orders");
    CHECK(parse_url("tcp://[::1]:5432").redacted() == "tcp://[::1]:5432");
}

TEST_CASE("Url::authority is host:port with IPv6 brackets", "[url]") {
    CHECK(parse_url("postgres://u:pw@db.internal:5432/x").authority() == "db.internal:5432");
    CHECK(parse_url("redis://cache").authority() == "cache");
    CHECK(parse_url("tcp://[2001:db8::7]:443").authority() == "[2001:db8::7]:443");
    CHECK(parse_url("http://127.0.0.1:80/").authority() == "127.0.0.1:80");
}

TEST_CASE("Url: Secret prints as *** on a stream", "[url][secret]") {
    const Url u = parse_url("postgres://u:topsecret@db/x");
    std::ostringstream os;
    os << u.password;
    CHECK(os.str() == "***");
}

TEST_CASE("percent_decode", "[url]") {
    CHECK(percent_decode("a%20b") == "a b");
    CHECK(percent_decode("%41%62c") == "Abc");
    CHECK(percent_decode("100%25") == "100%");
    CHECK(percent_decode("plain") == "plain");
    CHECK_THROWS_AS(percent_decode("%"), std::invalid_argument);
    CHECK_THROWS_AS(percent_decode("%2"), std::invalid_argument);
    CHECK_THROWS_AS(percent_decode("%g1"), std::invalid_argument);
}

// Regression: '#', '/' and '?' in an unencoded password used to cut it, and its head was then
// parsed as host:port and echoed in the error ("bad port \"hunter2\"") or in redacted().
TEST_CASE("parse_url: an unencoded # / ? in a password neither cuts nor leaks it", "[url][secret]") {
    struct Case {
        const char* url;
        const char* password;
    };
    const Case cases[] = {
        {"postgres://app:hunter2#x@db/orders", "hunter2#x"},
        {"postgres://app:hunter2/x@db/orders", "hunter2/x"},
        {"postgres://app:hunter2?x@db/orders", "hunter2?x"},
        {"postgres://app:12345#x@db/orders", "12345#x"},
        {"redis://:hunter2/x@cache:6379/0", "hunter2/x"},
    };
    for (const auto& c : cases) {
        INFO(c.url);
        const Url u = parse_url(c.url);
        CHECK(u.password.reveal() == c.password);
        CHECK(u.host == (std::string(c.url).rfind("redis", 0) == 0 ? "cache" : "db"));
        const std::string r = u.redacted();
        INFO(r);
        CHECK(r.find("hunter2") == std::string::npos);
        CHECK(r.find("12345") == std::string::npos);
    }
    CHECK(parse_url("postgres://app:hunter2/x@db/orders").path == "/orders");
    CHECK(parse_url("redis://:hunter2/x@cache:6379/0").port == 6379);
}

TEST_CASE("parse_url: errors never echo the text around a bad port", "[url][secret]") {
    for (const char* url : {"postgres://app:hunter2@db:54x/orders", "postgres://hunter2@db:99999/x",
                            "tcp://hunter2:hunter2"}) {
        INFO(url);
        try {
            parse_url(url);
            FAIL("expected std::invalid_argument");
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
        }
    }
}

// ----------------------------------------------------------------- libpq's URL forms (issue 14)

TEST_CASE("parse_url: a multi-host postgres URL with target_session_attrs", "[url][postgres]") {
    const Url u = parse_url("postgres://u:pw@h1:5432,h2:5433/db?target_session_attrs=read-write");
    CHECK(u.host == "h1");
    CHECK(u.port == 5432);
    REQUIRE(u.hosts.size() == 2);
    CHECK(u.hosts[0].host == "h1");
    CHECK(u.hosts[0].port == 5432);
    CHECK(u.hosts[1].host == "h2");
    CHECK(u.hosts[1].port == 5433);
    CHECK(u.path == "/db");
    CHECK(u.param("target_session_attrs") == "read-write");
    CHECK(u.host_list() == "h1,h2");
    CHECK(u.port_list() == "5432,5433");
    CHECK(u.redacted() == "postgres://u:***@h1:5432,h2:5433/db?target_session_attrs=read-write");
    CHECK(u.authority() == "h1:5432");
}

TEST_CASE("parse_url: hosts with and without ports, IPv6 in brackets among them", "[url][postgres]") {
    const Url u = parse_url("postgresql://u@h1,[::1]:5,[2001:db8::7],h3:6432/db");
    REQUIRE(u.hosts.size() == 4);
    CHECK(u.hosts[0].host == "h1");
    CHECK(u.hosts[0].port == 0);
    CHECK(u.hosts[1].host == "::1");
    CHECK(u.hosts[1].port == 5);
    CHECK(u.hosts[2].host == "2001:db8::7");
    CHECK(u.hosts[2].port == 0);
    CHECK(u.hosts[3].host == "h3");
    CHECK(u.hosts[3].port == 6432);
    // As libpq takes them: an empty port is its default.
    CHECK(u.host_list() == "h1,::1,2001:db8::7,h3");
    CHECK(u.port_list() == ",5,,6432");
    CHECK(u.redacted() == "postgresql://u@h1,[::1]:5,[2001:db8::7],h3:6432/db");

    const Url no_ports = parse_url("postgres://h1,h2/db");
    CHECK(no_ports.host_list() == "h1,h2");
    CHECK(no_ports.port_list().empty());

    const Url one = parse_url("postgres://db:5432/x");
    REQUIRE(one.hosts.size() == 1);
    CHECK(one.host_list() == "db");
    CHECK(one.port_list() == "5432");
    CHECK(parse_url("postgres:///x").hosts.empty());
    CHECK(parse_url("postgres:///x").host_list().empty());
}

TEST_CASE("parse_url: a percent-encoded Unix-socket directory as host", "[url][postgres]") {
    const Url u = parse_url("postgres://u@%2Fvar%2Frun%2Fpostgresql/db");
    CHECK(u.host == "/var/run/postgresql");
    CHECK(u.port == 0);
    CHECK(u.user == "u");
    CHECK(u.path == "/db");
    CHECK(u.host_list() == "/var/run/postgresql");
    CHECK(u.redacted() == "postgres://u@%2Fvar%2Frun%2Fpostgresql/db");
    CHECK(parse_url(u.redacted()).host == "/var/run/postgresql");

    const Url lower_case = parse_url("postgres://u:pw@%2ftmp%2fpg%20dir:5433/db");
    CHECK(lower_case.host == "/tmp/pg dir");
    CHECK(lower_case.port == 5433);
    CHECK(lower_case.redacted() == "postgres://u:***@%2Ftmp%2Fpg%20dir:5433/db");

    const Url mixed = parse_url("postgres://u@%2Ftmp,db.internal:5432/db");
    REQUIRE(mixed.hosts.size() == 2);
    CHECK(mixed.host_list() == "/tmp,db.internal");
    CHECK(mixed.port_list() == ",5432");
}

TEST_CASE("parse_url: ?host= and ?port= lists replace the authority's, as in libpq", "[url][postgres]") {
    const Url sock = parse_url("postgres://u@/db?host=/var/run/postgresql");
    CHECK(sock.host == "/var/run/postgresql");
    CHECK(sock.query.empty());
    CHECK(sock.redacted() == "postgres://u@%2Fvar%2Frun%2Fpostgresql/db");

    const Url lists = parse_url("postgres://u@/db?host=a,b,::1&port=1,2,3&sslmode=disable");
    REQUIRE(lists.hosts.size() == 3);
    CHECK(lists.hosts[0].host == "a");
    CHECK(lists.hosts[0].port == 1);
    CHECK(lists.hosts[2].host == "::1");
    CHECK(lists.hosts[2].port == 3);
    CHECK(lists.host_list() == "a,b,::1");
    CHECK(lists.port_list() == "1,2,3");
    REQUIRE(lists.query.size() == 1);
    CHECK(lists.param("sslmode") == "disable");
    CHECK(lists.param("host", "none") == "none");
    CHECK(lists.param("port", "none") == "none");
    CHECK(lists.redacted() == "postgres://u@a:1,b:2,[::1]:3/db?sslmode=disable");

    // One port for every host; the authority's port for a ?host= socket directory.
    const Url one_port = parse_url("postgres://h1,h2/db?port=6432");
    CHECK(one_port.port_list() == "6432,6432");
    const Url socket_port = parse_url("postgres://localhost:5433/db?host=%2Ftmp");
    CHECK(socket_port.host == "/tmp");
    CHECK(socket_port.port == 5433);
    CHECK(parse_url("postgres:///db?port=5433").port == 5433);
    CHECK(parse_url("postgres://h/db?host=x").host == "x");

    CHECK_THROWS_WITH(parse_url("postgres://h/db?host=a,b&port=1,2,3"), Catch::Contains("3 ports for 2 hosts"));
    CHECK_THROWS_WITH(parse_url("postgres://h1:1,h2:2/db?host=a"), Catch::Contains("2 ports for 1 hosts"));
    CHECK_THROWS_AS(parse_url("postgres://h/db?port=abc"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("postgres://h/db?port=70000"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("postgres://h/db?host=[::1]"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("postgres://h/db?host=bad host"), std::invalid_argument);

    // Elsewhere host and port are ordinary parameters (an HTTP app's own query).
    const Url http = parse_url("http://app:8080/lookup?host=a,b&port=1");
    CHECK(http.host == "app");
    CHECK(http.param("host") == "a,b");
    CHECK(http.param("port") == "1");
}

TEST_CASE("parse_url: several hosts or a socket directory outside postgres is an error", "[url]") {
    CHECK_THROWS_WITH(parse_url("redis://a:6379,b:6379/0"), Catch::Contains("postgres URLs only"));
    CHECK_THROWS_WITH(parse_url("http://a,b/"), Catch::Contains("postgres URLs only"));
    CHECK_THROWS_WITH(parse_url("tcp://%2Ftmp%2Fsock:1"), Catch::Contains("postgres URLs only"));
    CHECK_THROWS_WITH(parse_url("redis://%2Fvar%2Frun%2Fredis/0"), Catch::Contains("postgres URLs only"));
}

TEST_CASE("parse_url: what stays refused in host lists", "[url][postgres]") {
    CHECK_THROWS_AS(parse_url("postgres://h1,h 2/db"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("postgres://h1:,h2/db"), std::invalid_argument);      // empty port
    CHECK_THROWS_AS(parse_url("postgres://h1,[::1/db"), std::invalid_argument);     // unterminated
    CHECK_THROWS_AS(parse_url("postgres://h1,[::1]x/db"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("postgres://h1:5432,h2:99999/db"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("postgres://h%2C1/db"), std::invalid_argument);       // a ',' libpq would split
    CHECK_THROWS_AS(parse_url("postgres://h%3A1/db"), std::invalid_argument);       // a ':' in a name
    CHECK_THROWS_AS(parse_url("postgres://%2Ftmp%2Ca/db"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("postgres://%2Ftmp%0A/db"), std::invalid_argument);   // control character
    CHECK_THROWS_AS(parse_url("postgres://h%zz/db"), std::invalid_argument);
    // An '@' after a host list is as ambiguous as after one host:port (is "5432,h2/x" a password?).
    CHECK_THROWS_AS(parse_url("postgres://h1:5432,h2/db?application_name=a@b"), std::invalid_argument);
    CHECK_THROWS_AS(parse_url("postgres://[::1]:5432/db?application_name=a@b"), std::invalid_argument);
    // A password with a comma is still a password.
    const Url pw = parse_url("postgres://u:pa,ss/x@h1,h2/db");
    CHECK(pw.password.reveal() == "pa,ss/x");
    CHECK(pw.host_list() == "h1,h2");
    CHECK(pw.redacted().find("pa,ss") == std::string::npos);
}

TEST_CASE("parse_url: every *password* query parameter is a secret, masked and kept for libpq", "[url][secret]") {
    const Url u = parse_url("postgres://app@db/x?sslmode=verify-full&sslpassword=Key%2FPass-42&Old_Password=op-42");
    CHECK(u.password.empty());
    REQUIRE(u.secret_query.size() == 2);
    CHECK(u.secret_query[0].first == "sslpassword");
    CHECK(u.secret_query[0].second.reveal() == "Key/Pass-42");
    CHECK(u.secret_query[1].first == "Old_Password");
    CHECK(u.secret_query[1].second.reveal() == "op-42");
    REQUIRE(u.query.size() == 1);
    CHECK(u.param("sslpassword", "none") == "none");
    CHECK(u.redacted() == "postgres://app@db/x?sslmode=verify-full&sslpassword=***&Old_Password=***");
    const auto secrets = u.secrets();
    REQUIRE(secrets.size() == 2);
    CHECK(secrets[0].reveal() == "Key/Pass-42");
    CHECK(secrets[1].reveal() == "op-42");

    const Url both = parse_url("postgres://app:pw-1@db/x?SSLPASSWORD=pw-2");
    CHECK(both.secrets().size() == 2);
    CHECK(both.redacted() == "postgres://app:***@db/x?SSLPASSWORD=***");
    for (const char* s : {"pw-1", "pw-2"}) CHECK(both.redacted().find(s) == std::string::npos);

    CHECK(readyprobe::is_secret_param("sslpassword"));
    CHECK(readyprobe::is_secret_param("PassWord"));
    CHECK(readyprobe::is_secret_param("x_password_y"));
    CHECK_FALSE(readyprobe::is_secret_param("passfile"));
    CHECK_FALSE(readyprobe::is_secret_param("sslkey"));

    // A bad encoding of one names the parameter, not the value.
    try {
        parse_url("postgres://db/x?sslpassword=hunter2%zz");
        FAIL("expected std::invalid_argument");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
        CHECK(std::string(e.what()).find("sslpassword") != std::string::npos);
    }
}
