// load_settings from environment maps and JSON files; durations, status ranges, to_json.
#include <readyprobe/config.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../../sidecar/client_text.hpp"
#include "parse.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

using namespace readyprobe;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

// A JSON configuration file that is removed again at the end of the test.
class TempFile {
public:
    explicit TempFile(const std::string& content) {
        static std::atomic<int> counter{0};
        path_ = "/tmp/readyprobe-unit-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter++) + ".json";
        std::ofstream out(path_);
        out << content;
    }
    ~TempFile() { std::remove(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// load_settings(env) must throw a ConfigError naming `where`, in where() and in what().
void require_config_error(const Environment& env, const std::string& where,
                          const std::string& what_contains = "") {
    try {
        load_settings(env);
        FAIL("expected a ConfigError naming " << where);
    } catch (const ConfigError& e) {
        INFO("what(): " << e.what());
        CHECK(e.where() == where);
        CHECK(std::string(e.what()).find(where) != std::string::npos);
        if (!what_contains.empty()) {
            CHECK(std::string(e.what()).find(what_contains) != std::string::npos);
        }
    }
}

const CheckSpec& only_check(const Settings& s) {
    REQUIRE(s.checks.size() == 1);
    return s.checks.front();
}

const std::string kDb = "postgres://app:urlpw@db.internal:5432/orders";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Defaults and globals

TEST_CASE("config: defaults match the contract", "[config]") {
    const Settings s = load_settings({{"PATH", "/usr/bin"}, {"HOME", "/root"}});
    CHECK(s.listen_host == "0.0.0.0");
    CHECK(s.listen_port == 8081);
    CHECK(s.interval == seconds(2));
    CHECK(s.timeout == seconds(1));
    CHECK(s.rise == 1);
    CHECK(s.fall == 2);
    CHECK(s.drain == seconds(5));
    CHECK(s.details == Details::status);
    CHECK(s.log_format == LogFormat::text);
    CHECK(s.log_level == "info");
    CHECK(s.config_file.empty());
    CHECK(s.checks.empty());

    const auto j = nlohmann::json::parse(s.to_json());
    CHECK(j.at("listen") == "0.0.0.0:8081");
    CHECK(j.at("interval") == "2s");
    CHECK(j.at("timeout") == "1s");
    CHECK(j.at("rise") == 1);
    CHECK(j.at("fall") == 2);
    CHECK(j.at("drain") == "5s");
    CHECK(j.at("details") == "status");
    CHECK(j.at("log_format") == "text");
    CHECK(j.at("log_level") == "info");
}

TEST_CASE("config: a check without options gets the default schedule", "[config]") {
    const Settings s = load_settings({{"READYPROBE_CHECK_DB", kDb}});
    const CheckSpec& c = only_check(s);
    CHECK(c.schedule.interval == seconds(2));
    CHECK(c.schedule.timeout == seconds(1));
    CHECK(c.schedule.rise == 1);
    CHECK(c.schedule.fall == 2);
    CHECK(c.schedule.groups == std::vector<std::string>{"ready", "startup"});
    CHECK(c.schedule.critical);
}

TEST_CASE("config: global settings from the environment", "[config]") {
    const Settings s = load_settings({
        {"READYPROBE_LISTEN", "127.0.0.1:9000"},
        {"READYPROBE_INTERVAL", "5s"},
        {"READYPROBE_TIMEOUT", "750ms"},
        {"READYPROBE_RISE", "2"},
        {"READYPROBE_FALL", "3"},
        {"READYPROBE_DRAIN", "0s"},
        {"READYPROBE_DETAILS", "full"},
        {"READYPROBE_LOG_FORMAT", "json"},
        {"READYPROBE_LOG_LEVEL", "warning"},
        {"READYPROBE_CHECK_DB", kDb},
    });
    CHECK(s.listen_host == "127.0.0.1");
    CHECK(s.listen_port == 9000);
    CHECK(s.interval == seconds(5));
    CHECK(s.timeout == milliseconds(750));
    CHECK(s.rise == 2);
    CHECK(s.fall == 3);
    CHECK(s.drain == Duration::zero());
    CHECK(s.details == Details::full);
    CHECK(s.log_format == LogFormat::json);
    CHECK(s.log_level == "warn");
    // The global schedule is every check's default.
    const CheckSpec& c = only_check(s);
    CHECK(c.schedule.interval == seconds(5));
    CHECK(c.schedule.timeout == milliseconds(750));
    CHECK(c.schedule.rise == 2);
    CHECK(c.schedule.fall == 3);
}

TEST_CASE("config: READYPROBE_LISTEN forms", "[config]") {
    auto listen = [](const std::string& v) { return load_settings({{"READYPROBE_LISTEN", v}}); };
    const Settings port_only = listen(":9090");
    CHECK(port_only.listen_host == "0.0.0.0");
    CHECK(port_only.listen_port == 9090);
    const Settings v6 = listen("[::]:8082");
    CHECK(v6.listen_host == "::");
    CHECK(v6.listen_port == 8082);
    CHECK(nlohmann::json::parse(v6.to_json()).at("listen") == "[::]:8082");
    CHECK(listen("localhost:65535").listen_port == 65535);
}

TEST_CASE("config: ignore_listen skips READYPROBE_LISTEN, even a bad one", "[config]") {
    LoadOptions options;
    options.ignore_listen = true;
    const Settings s = load_settings({{"READYPROBE_LISTEN", "nohost"}}, options);
    CHECK(s.listen_port == 8081);
    CHECK_THROWS_AS(load_settings({{"READYPROBE_LISTEN", "nohost"}}), ConfigError);
}

TEST_CASE("config: LOG_LEVEL accepts the spdlog levels", "[config]") {
    for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
        CHECK(load_settings({{"READYPROBE_LOG_LEVEL", level}}).log_level == level);
    }
    CHECK(load_settings({{"READYPROBE_LOG_LEVEL", "DEBUG"}}).log_level == "debug");
}

// ---------------------------------------------------------------------------------------------
// Checks

TEST_CASE("config: the check name is the lower-cased rest of the variable", "[config]") {
    const Settings s = load_settings({{"READYPROBE_CHECK_ORDERS_DB", kDb}});
    const CheckSpec& c = only_check(s);
    CHECK(c.name == "orders_db");
    CHECK(c.kind == "postgres");
    CHECK(c.url.host == "db.internal");
    CHECK(c.url.port == 5432);
    CHECK(c.url.user == "app");
    CHECK(c.url.password.reveal() == "urlpw");
}

TEST_CASE("config: the scheme picks the kind", "[config]") {
    const Settings s = load_settings({
        {"READYPROBE_CHECK_PG", "postgresql://db/x"},
        {"READYPROBE_CHECK_CACHE", "redis://cache:6379/0"},
        {"READYPROBE_CHECK_API", "https://api.example.com/health"},
        {"READYPROBE_CHECK_APP", "http://127.0.0.1:8080/healthz"},
        {"READYPROBE_CHECK_BROKER", "tcp://mq:5672"},
        {"READYPROBE_CHECK_SENTINEL", "file:///tmp/ready"},
    });
    REQUIRE(s.checks.size() == 6);
    std::map<std::string, std::string> kinds;
    for (const auto& c : s.checks) kinds[c.name] = c.kind;
    CHECK(kinds["pg"] == "postgres");
    CHECK(kinds["cache"] == "redis");
    CHECK(kinds["api"] == "http");
    CHECK(kinds["app"] == "http");
    CHECK(kinds["broker"] == "tcp");
    CHECK(kinds["sentinel"] == "file");
    for (const auto& c : s.checks) {
        if (c.kind == "http") {
            REQUIRE(c.expect.size() == 1);
            CHECK(c.expect[0].lo == 200);
            CHECK(c.expect[0].hi == 399);
        }
    }
}

TEST_CASE("config: rediss:// is a redis check over TLS - CA_FILE names its CA", "[config][tls]") {
    TempFile ca("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const Settings s = load_settings({
        {"READYPROBE_CHECK_CACHE", "rediss://:tok@cache.abc.cache.amazonaws.com:6379/0"},
        {"READYPROBE_CHECK_OWN_CA", "rediss://cache:6380/2"},
        {"READYPROBE_CHECK_OWN_CA_CA_FILE", ca.path()},
    });
    REQUIRE(s.checks.size() == 2);
    for (const auto& c : s.checks) {
        CHECK(c.kind == "redis");
        CHECK(c.url.scheme == "rediss");
    }
    const auto& by_name = [&](const std::string& name) -> const CheckSpec& {
        for (const auto& c : s.checks) {
            if (c.name == name) return c;
        }
        FAIL("no check " << name);
        throw;
    };
    CHECK(by_name("cache").ca_file.empty());
    CHECK(by_name("own_ca").ca_file == ca.path());
    const auto j = nlohmann::json::parse(s.to_json()).at("checks");
    CHECK(j.at("own_ca").at("ca_file") == ca.path());
    CHECK_FALSE(j.at("cache").contains("ca_file"));

    // The JSON file takes the same key.
    TempFile file(R"({"checks": {"cache": {"url": "rediss://cache:6379/0", "ca_file": ")" + ca.path() + R"("}}})");
    CHECK(only_check(load_settings({{"READYPROBE_CONFIG", file.path()}})).ca_file == ca.path());
}

TEST_CASE("config error: CA_FILE missing, not PEM, or on a check that is not rediss://", "[config][errors][tls]") {
    TempFile ca("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    TempFile not_pem("just some text\n");
    const std::string var = "READYPROBE_CHECK_CACHE_CA_FILE";
    require_config_error({{"READYPROBE_CHECK_CACHE", "rediss://cache"}, {var, "/nonexistent/ca.crt"}}, var,
                         "cannot read \"/nonexistent/ca.crt\": no such file or directory");
    require_config_error({{"READYPROBE_CHECK_CACHE", "rediss://cache"}, {var, not_pem.path()}}, var,
                         "holds no PEM certificate");
    require_config_error({{"READYPROBE_CHECK_CACHE", "rediss://cache"}, {var, "/tmp"}}, var, "is a directory");
    require_config_error({{"READYPROBE_CHECK_CACHE", "rediss://cache"}, {var, ""}}, var);
    // Plain redis:// would silently ignore it.
    require_config_error({{"READYPROBE_CHECK_CACHE", "redis://cache"}, {var, ca.path()}}, var, "rediss://");
    // Other kinds have their own TLS settings (PostgreSQL: sslrootcert in the URL).
    require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_CA_FILE", ca.path()}},
                         "READYPROBE_CHECK_DB_CA_FILE", "for redis checks only");
    require_config_error({{"READYPROBE_CHECK_API", "https://api/health"}, {"READYPROBE_CHECK_API_CA_FILE", ca.path()}},
                         "READYPROBE_CHECK_API_CA_FILE", "for redis checks only");
    TempFile file(R"({"checks": {"db": {"url": "postgres://db/x", "ca_file": ")" + ca.path() + R"("}}})");
    require_config_error({{"READYPROBE_CONFIG", file.path()}}, "$.checks.db.ca_file", "for redis checks only");
}

TEST_CASE("config: per-check INTERVAL, TIMEOUT, RISE, FALL", "[config]") {
    const Settings s = load_settings({
        {"READYPROBE_CHECK_DB", kDb},
        {"READYPROBE_CHECK_DB_INTERVAL", "500ms"},
        {"READYPROBE_CHECK_DB_TIMEOUT", "1.5s"},
        {"READYPROBE_CHECK_DB_RISE", "3"},
        {"READYPROBE_CHECK_DB_FALL", "4"},
    });
    const CheckSpec& c = only_check(s);
    CHECK(c.schedule.interval == milliseconds(500));
    CHECK(c.schedule.timeout == milliseconds(1500));
    CHECK(c.schedule.rise == 3);
    CHECK(c.schedule.fall == 4);
    // The globals are untouched.
    CHECK(s.interval == seconds(2));
    CHECK(s.rise == 1);
}

TEST_CASE("config: per-check options apply to their own check only", "[config]") {
    const Settings s = load_settings({
        {"READYPROBE_CHECK_DB", kDb},
        {"READYPROBE_CHECK_CACHE", "redis://cache"},
        {"READYPROBE_CHECK_CACHE_FALL", "5"},
    });
    REQUIRE(s.checks.size() == 2);
    for (const auto& c : s.checks) {
        CHECK(c.schedule.fall == (c.name == "cache" ? 5 : 2));
    }
}

TEST_CASE("config: GROUPS and CRITICAL", "[config]") {
    const Settings s = load_settings({
        {"READYPROBE_CHECK_DB", kDb},
        {"READYPROBE_CHECK_DB_GROUPS", "live, Startup,batch-jobs,live"},
        {"READYPROBE_CHECK_DB_CRITICAL", "false"},
    });
    const CheckSpec& c = only_check(s);
    CHECK(c.schedule.groups == std::vector<std::string>{"live", "startup", "batch-jobs"});
    CHECK_FALSE(c.schedule.critical);

    CHECK(only_check(load_settings({{"READYPROBE_CHECK_DB", kDb},
                                    {"READYPROBE_CHECK_DB_CRITICAL", "TRUE"}}))
              .schedule.critical);
    require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_CRITICAL", "maybe"}},
                         "READYPROBE_CHECK_DB_CRITICAL");
    require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_GROUPS", "ready,,live"}},
                         "READYPROBE_CHECK_DB_GROUPS");
    require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_GROUPS", "re ady"}},
                         "READYPROBE_CHECK_DB_GROUPS");
}

TEST_CASE("config: PASSWORD overrides the URL's password", "[config][secret]") {
    const Settings s = load_settings({
        {"READYPROBE_CHECK_DB", kDb},
        {"READYPROBE_CHECK_DB_PASSWORD", "from-ecs-secret"},
    });
    const CheckSpec& c = only_check(s);
    CHECK(c.url.password.reveal() == "from-ecs-secret");
    CHECK(c.url.user == "app");
    CHECK(c.url.host == "db.internal");

    // Also when the URL has no password at all.
    const Settings bare = load_settings({
        {"READYPROBE_CHECK_CACHE", "redis://cache:6379/0"},
        {"READYPROBE_CHECK_CACHE_PASSWORD", "p@ss word"},
    });
    CHECK(only_check(bare).url.password.reveal() == "p@ss word");

    // A tcp or file check has no password to override.
    require_config_error({{"READYPROBE_CHECK_MQ", "tcp://mq:5672"}, {"READYPROBE_CHECK_MQ_PASSWORD", "x"}},
                         "READYPROBE_CHECK_MQ_PASSWORD");
}

TEST_CASE("config: EXPECT status ranges for an http check", "[config]") {
    const Settings s = load_settings({
        {"READYPROBE_CHECK_APP", "http://app:8080/healthz"},
        {"READYPROBE_CHECK_APP_EXPECT", "200,204,300-399"},
    });
    const CheckSpec& c = only_check(s);
    REQUIRE(c.expect.size() == 3);
    CHECK(c.expect[0].lo == 200);
    CHECK(c.expect[0].hi == 200);
    CHECK(c.expect[1].lo == 204);
    CHECK(c.expect[1].hi == 204);
    CHECK(c.expect[2].lo == 300);
    CHECK(c.expect[2].hi == 399);
    CHECK(nlohmann::json::parse(s.to_json()).at("checks").at("app").at("expect") ==
          "200,204,300-399");

    require_config_error({{"READYPROBE_CHECK_APP", "http://app/"}, {"READYPROBE_CHECK_APP_EXPECT", "2xx"}},
                         "READYPROBE_CHECK_APP_EXPECT");
    require_config_error({{"READYPROBE_CHECK_APP", "http://app/"}, {"READYPROBE_CHECK_APP_EXPECT", "399-300"}},
                         "READYPROBE_CHECK_APP_EXPECT");
}

// ---------------------------------------------------------------------------------------------
// Configuration errors: each names the variable

TEST_CASE("config error: unknown (misspelt) option of an existing check", "[config][errors]") {
    require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_TIMOUT", "5s"}},
                         "READYPROBE_CHECK_DB_TIMOUT", "TIMOUT");
}

TEST_CASE("config error: option for a check with no URL", "[config][errors]") {
    require_config_error({{"READYPROBE_CHECK_CACHE_TIMEOUT", "1s"}}, "READYPROBE_CHECK_CACHE_TIMEOUT");
    require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DBX_RISE", "2"}},
                         "READYPROBE_CHECK_DBX_RISE");
    // A name may not end in an option word: this is an option of a check "my" with no URL.
    require_config_error({{"READYPROBE_CHECK_MY_POOL", kDb}}, "READYPROBE_CHECK_MY_POOL");
}

TEST_CASE("config error: bad durations", "[config][errors]") {
    for (const char* bad : {"5", "abc", "-1s", "1.2.3s", "", "2 s", "1d", "25h"}) {
        INFO("duration: \"" << bad << "\"");
        require_config_error({{"READYPROBE_INTERVAL", bad}}, "READYPROBE_INTERVAL");
        require_config_error({{"READYPROBE_TIMEOUT", bad}}, "READYPROBE_TIMEOUT");
        require_config_error({{"READYPROBE_DRAIN", bad}}, "READYPROBE_DRAIN");
        require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_TIMEOUT", bad}},
                             "READYPROBE_CHECK_DB_TIMEOUT");
        require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_INTERVAL", bad}},
                             "READYPROBE_CHECK_DB_INTERVAL");
    }
}

TEST_CASE("config error: a zero interval or timeout", "[config][errors]") {
    require_config_error({{"READYPROBE_INTERVAL", "0s"}}, "READYPROBE_INTERVAL");
    require_config_error({{"READYPROBE_TIMEOUT", "0ms"}}, "READYPROBE_TIMEOUT");
    require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_INTERVAL", "0ms"}},
                         "READYPROBE_CHECK_DB_INTERVAL");
}

TEST_CASE("config error: bad RISE and FALL", "[config][errors]") {
    require_config_error({{"READYPROBE_RISE", "0"}}, "READYPROBE_RISE");
    require_config_error({{"READYPROBE_FALL", "abc"}}, "READYPROBE_FALL");
    require_config_error({{"READYPROBE_FALL", "-1"}}, "READYPROBE_FALL");
    require_config_error({{"READYPROBE_RISE", "1001"}}, "READYPROBE_RISE");
    require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_RISE", "0"}},
                         "READYPROBE_CHECK_DB_RISE");
    require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_FALL", "abc"}},
                         "READYPROBE_CHECK_DB_FALL");
}

TEST_CASE("config error: bad READYPROBE_LISTEN", "[config][errors]") {
    for (const char* bad : {":0", ":70000", "nohost", "host:", "host:http", "::1:8081", "[::1]8081"}) {
        INFO("listen: " << bad);
        require_config_error({{"READYPROBE_LISTEN", bad}}, "READYPROBE_LISTEN");
    }
}

TEST_CASE("config error: unsupported scheme and malformed URLs", "[config][errors]") {
    require_config_error({{"READYPROBE_CHECK_DB", "mysql://db:3306/x"}}, "READYPROBE_CHECK_DB", "mysql");
    require_config_error({{"READYPROBE_CHECK_DB", "not a url"}}, "READYPROBE_CHECK_DB");
    require_config_error({{"READYPROBE_CHECK_DB", "postgres://db:port/x"}}, "READYPROBE_CHECK_DB");
    require_config_error({{"READYPROBE_CHECK_DB", "postgres://db:99999/x"}}, "READYPROBE_CHECK_DB");
    require_config_error({{"READYPROBE_CHECK_APP", "http:///path-only"}}, "READYPROBE_CHECK_APP");
    require_config_error({{"READYPROBE_CHECK_FLAG", "file://"}}, "READYPROBE_CHECK_FLAG");
    require_config_error({{"READYPROBE_CHECK_CACHE", "redis://cache/notanumber"}}, "READYPROBE_CHECK_CACHE");
}

TEST_CASE("config error: tcp URL without a port", "[config][errors]") {
    require_config_error({{"READYPROBE_CHECK_MQ", "tcp://mq"}}, "READYPROBE_CHECK_MQ");
}

TEST_CASE("config error: EXPECT on a non-http check", "[config][errors]") {
    require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_EXPECT", "200"}},
                         "READYPROBE_CHECK_DB_EXPECT");
}

TEST_CASE("config error: bad DETAILS, LOG_FORMAT, LOG_LEVEL", "[config][errors]") {
    require_config_error({{"READYPROBE_DETAILS", "everything"}}, "READYPROBE_DETAILS");
    require_config_error({{"READYPROBE_LOG_FORMAT", "xml"}}, "READYPROBE_LOG_FORMAT");
    require_config_error({{"READYPROBE_LOG_LEVEL", "verbose"}}, "READYPROBE_LOG_LEVEL");
}

TEST_CASE("config error: unknown READYPROBE_ global variable", "[config][errors]") {
    require_config_error({{"READYPROBE_INTERVALL", "2s"}}, "READYPROBE_INTERVALL");
    require_config_error({{"READYPROBE_PORT", "8081"}}, "READYPROBE_PORT");
}

TEST_CASE("config: POOL, MIGRATION and REQUIRE on a postgres check", "[config]") {
    const Settings s = load_settings({
        {"READYPROBE_CHECK_DB", kDb},
        {"READYPROBE_CHECK_DB_POOL", "4"},
        {"READYPROBE_CHECK_DB_MIGRATION", "golang-migrate>=3"},
        {"READYPROBE_CHECK_DB_REQUIRE", "orders.customer, orders"},
    });
    const CheckSpec& c = only_check(s);
    CHECK(c.pool == 4);
    CHECK(c.migration == "golang-migrate>=3");
    CHECK(c.require == std::vector<std::string>{"orders.customer", "orders"});
    const auto j = nlohmann::json::parse(s.to_json()).at("checks").at("db");
    CHECK(j.at("pool") == 4);
    CHECK(j.at("migration") == "golang-migrate>=3");

    const Settings plain = load_settings({{"READYPROBE_CHECK_DB", kDb}});
    CHECK(only_check(plain).pool == 0);
    CHECK(only_check(plain).migration.empty());
    CHECK(only_check(plain).require.empty());
}

TEST_CASE("config error: bad POOL, MIGRATION and REQUIRE name the variable", "[config][errors]") {
    // Only PostgreSQL checks have them.
    for (const char* word : {"POOL", "MIGRATION", "REQUIRE"}) {
        const std::string var = std::string("READYPROBE_CHECK_CACHE_") + word;
        INFO(var);
        require_config_error({{"READYPROBE_CHECK_CACHE", "redis://cache:6379/0"}, {var, "1"}}, var);
    }
    for (const char* bad : {"0", "abc", "101", "", "-2"}) {
        INFO("POOL=" << bad);
        require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_POOL", bad}},
                             "READYPROBE_CHECK_DB_POOL");
    }
    for (const char* bad : {"golang-migrate", "mysql-migrate>=3", ">=3", "golang-migrate>=",
                            "golang-migrate>=abc", "alembic>=abc1"}) {
        INFO("MIGRATION=" << bad);
        require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_MIGRATION", bad}},
                             "READYPROBE_CHECK_DB_MIGRATION");
    }
    for (const char* bad : {"", "orders,,customer", "orders.customer.x", "orders;drop", ".orders"}) {
        INFO("REQUIRE=" << bad);
        require_config_error({{"READYPROBE_CHECK_DB", kDb}, {"READYPROBE_CHECK_DB_REQUIRE", bad}},
                             "READYPROBE_CHECK_DB_REQUIRE");
    }
}

TEST_CASE("config error: messages never contain the password", "[config][errors][secret]") {
    const Environment env = {
        {"READYPROBE_CHECK_DB", "postgres://app:hunter2@db:5432/x"},
        {"READYPROBE_CHECK_DB_PASSWORD", "s3cr3t-from-ecs"},
        {"READYPROBE_CHECK_DB_RISE", "zero"},
    };
    try {
        load_settings(env);
        FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        CHECK(e.where() == "READYPROBE_CHECK_DB_RISE");
        CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
        CHECK(std::string(e.what()).find("s3cr3t-from-ecs") == std::string::npos);
    }
    try {
        load_settings({{"READYPROBE_CHECK_DB", "mysql://app:hunter2@db:3306/x"}});
        FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    }
    try {
        load_settings({{"READYPROBE_CHECK_DB", "postgres://app:hunter2@db:54x/x"}});
        FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    }
}

// ---------------------------------------------------------------------------------------------
// JSON file

TEST_CASE("config file: settings and checks are read from it", "[config][json]") {
    TempFile file(R"({
        "interval": "3s",
        "timeout": "500ms",
        "rise": 2,
        "fall": 4,
        "drain": "10s",
        "details": "full",
        "log_format": "json",
        "log_level": "debug",
        "listen": "127.0.0.1:9100",
        "checks": {
            "orders_db": {"url": "postgres://app:filepw@db:5432/orders", "interval": "1s",
                          "groups": ["ready", "startup", "batch"], "critical": false},
            "api": {"url": "http://api:8080/health", "expect": "200-299", "rise": 3}
        }
    })");
    const Settings s = load_settings({{"READYPROBE_CONFIG", file.path()}});
    CHECK(s.config_file == file.path());
    CHECK(s.interval == seconds(3));
    CHECK(s.timeout == milliseconds(500));
    CHECK(s.rise == 2);
    CHECK(s.fall == 4);
    CHECK(s.drain == seconds(10));
    CHECK(s.details == Details::full);
    CHECK(s.log_format == LogFormat::json);
    CHECK(s.log_level == "debug");
    CHECK(s.listen_host == "127.0.0.1");
    CHECK(s.listen_port == 9100);
    REQUIRE(s.checks.size() == 2);
    for (const auto& c : s.checks) {
        if (c.name == "orders_db") {
            CHECK(c.kind == "postgres");
            CHECK(c.url.password.reveal() == "filepw");
            CHECK(c.schedule.interval == seconds(1));
            CHECK(c.schedule.timeout == milliseconds(500));  // the file's global
            CHECK(c.schedule.groups == std::vector<std::string>{"ready", "startup", "batch"});
            CHECK_FALSE(c.schedule.critical);
        } else {
            CHECK(c.name == "api");
            CHECK(c.kind == "http");
            CHECK(c.schedule.rise == 3);
            CHECK(c.schedule.fall == 4);
            REQUIRE(c.expect.size() == 1);
            CHECK(c.expect[0].lo == 200);
            CHECK(c.expect[0].hi == 299);
        }
    }
    CHECK(nlohmann::json::parse(s.to_json()).at("config_file") == file.path());
}

TEST_CASE("config file: the environment wins over the file", "[config][json]") {
    TempFile file(R"({
        "interval": "3s",
        "details": "full",
        "checks": {
            "db": {"url": "postgres://app@file-host:5432/orders", "fall": 5, "rise": 2}
        }
    })");
    const Settings s = load_settings({
        {"READYPROBE_CONFIG", file.path()},
        {"READYPROBE_INTERVAL", "4s"},
        {"READYPROBE_CHECK_DB", "postgres://app@env-host:5432/orders"},
        {"READYPROBE_CHECK_DB_FALL", "7"},
        {"READYPROBE_CHECK_DB_PASSWORD", "envpw"},
    });
    CHECK(s.interval == seconds(4));
    CHECK(s.details == Details::full);  // from the file, not overridden
    const CheckSpec& c = only_check(s);
    CHECK(c.url.host == "env-host");
    CHECK(c.schedule.fall == 7);
    CHECK(c.schedule.rise == 2);  // from the file
    CHECK(c.url.password.reveal() == "envpw");
}

TEST_CASE("config file: environment options apply to a check defined in the file", "[config][json]") {
    TempFile file(R"({"checks": {"db": {"url": "postgres://db/x"}}})");
    const Settings s = load_settings({
        {"READYPROBE_CONFIG", file.path()},
        {"READYPROBE_CHECK_DB_TIMEOUT", "300ms"},
    });
    CHECK(only_check(s).schedule.timeout == milliseconds(300));
    // ... and a misspelt option of that check is still an error.
    require_config_error({{"READYPROBE_CONFIG", file.path()}, {"READYPROBE_CHECK_DB_TIMOUT", "3s"}},
                         "READYPROBE_CHECK_DB_TIMOUT");
}

TEST_CASE("config file: unreadable or invalid files name READYPROBE_CONFIG", "[config][json][errors]") {
    require_config_error({{"READYPROBE_CONFIG", "/nonexistent/readyprobe/config.json"}},
                         "READYPROBE_CONFIG", "/nonexistent/readyprobe/config.json");
    TempFile broken(R"({"interval": "2s",)");
    require_config_error({{"READYPROBE_CONFIG", broken.path()}}, "READYPROBE_CONFIG");
    TempFile text("interval=2s\n");
    require_config_error({{"READYPROBE_CONFIG", text.path()}}, "READYPROBE_CONFIG");
}

TEST_CASE("config file: unknown keys are named by their JSON path", "[config][json][errors]") {
    TempFile bogus_check(R"({"checks": {"db": {"url": "postgres://db/x", "bogus": 1}}})");
    require_config_error({{"READYPROBE_CONFIG", bogus_check.path()}}, "$.checks.db.bogus");

    TempFile bogus_global(R"({"intervall": "2s"})");
    require_config_error({{"READYPROBE_CONFIG", bogus_global.path()}}, "$.intervall");

    TempFile nested_config(R"({"config": "/other.json"})");
    require_config_error({{"READYPROBE_CONFIG", nested_config.path()}}, "$.config");

    TempFile upper(R"({"checks": {"db": {"url": "postgres://db/x", "TIMEOUT": "1s"}}})");
    require_config_error({{"READYPROBE_CONFIG", upper.path()}}, "$.checks.db.TIMEOUT");
}

TEST_CASE("config file: wrong types and values are named by their JSON path", "[config][json][errors]") {
    struct Case {
        const char* json;
        const char* where;
    };
    const Case cases[] = {
        {R"({"rise": 1.5})", "$.rise"},
        {R"({"interval": {"s": 2}})", "$.interval"},
        {R"({"interval": "5"})", "$.interval"},
        {R"({"details": "all"})", "$.details"},
        {R"({"checks": []})", "$.checks"},
        {R"({"checks": {"db": "postgres://db/x"}})", "$.checks.db"},
        {R"({"checks": {"db": {"url": 5}}})", "$.checks.db.url"},
        {R"({"checks": {"db": {"timeout": "1s"}}})", "$.checks.db.url"},
        {R"({"checks": {"db": {"url": "postgres://db/x", "groups": ["ready", 1]}}})",
         "$.checks.db.groups[1]"},
        {R"({"checks": {"db": {"url": "postgres://db/x", "fall": 0}}})", "$.checks.db.fall"},
        {R"({"checks": {"db": {"url": "mysql://db/x"}}})", "$.checks.db.url"},
        {R"({"checks": {"Bad-Name": {"url": "postgres://db/x"}}})", "$.checks.Bad-Name"},
    };
    for (const auto& c : cases) {
        INFO("file: " << c.json);
        TempFile file(c.json);
        require_config_error({{"READYPROBE_CONFIG", file.path()}}, c.where);
    }
    TempFile array("[1, 2]");
    try {
        load_settings({{"READYPROBE_CONFIG", array.path()}});
        FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        CHECK(e.where() == "$");
    }
}

// ---------------------------------------------------------------------------------------------
// to_json: secrets masked

TEST_CASE("Settings::to_json never contains a password", "[config][secret]") {
    TempFile file(R"({"checks": {"cache": {"url": "redis://cache:6379/0", "password": "file-secret-pw"},
                                 "other": {"url": "redis://:file-url-pw@other:6379/1"}}})");
    const Settings s = load_settings({
        {"READYPROBE_CONFIG", file.path()},
        {"READYPROBE_CHECK_DB", "postgres://app:url-secret-pw@db:5432/orders"},
        {"READYPROBE_CHECK_ORDERS", "postgres://app:replaced-pw@db:5432/orders"},
        {"READYPROBE_CHECK_ORDERS_PASSWORD", "env-secret-pw"},
        {"READYPROBE_CHECK_QUERY", "redis://cache:6379/0?password=query-secret-pw"},
    });
    REQUIRE(s.checks.size() == 5);
    const std::string out = s.to_json();
    INFO(out);
    for (const char* pw : {"file-secret-pw", "file-url-pw", "url-secret-pw", "replaced-pw",
                           "env-secret-pw", "query-secret-pw"}) {
        CHECK(out.find(pw) == std::string::npos);
    }
    const auto j = nlohmann::json::parse(out);
    for (const char* name : {"cache", "other", "db", "orders", "query"}) {
        INFO("check " << name);
        CHECK(j.at("checks").at(name).at("password") == "***");
    }
    CHECK(j.at("checks").at("db").at("url") == "postgres://app:***@db:5432/orders");
    CHECK(j.at("checks").at("db").at("kind") == "postgres");
    CHECK(j.at("checks").at("db").at("critical") == true);
    CHECK(j.at("checks").at("db").at("groups") == nlohmann::json({"ready", "startup"}));

    // Every secret is reported for masking elsewhere.
    CHECK(s.secrets().size() == 5);
}

TEST_CASE("Settings::to_json shows no password field for a check without one", "[config]") {
    const Settings s = load_settings({{"READYPROBE_CHECK_APP", "http://app:8080/healthz"}});
    const auto j = nlohmann::json::parse(s.to_json());
    CHECK_FALSE(j.at("checks").at("app").contains("password"));
    CHECK(j.at("checks").at("app").at("url") == "http://app:8080/healthz");
    CHECK(s.secrets().empty());
}

TEST_CASE("config: libpq's URL forms in a postgres check - one line errors elsewhere", "[config][postgres]") {
    const Settings multi = load_settings(
        {{"READYPROBE_CHECK_DB", "postgres://app:pw@h1:5432,h2:5433/orders?target_session_attrs=read-write"}});
    const CheckSpec& db = only_check(multi);
    CHECK(db.kind == "postgres");
    REQUIRE(db.url.hosts.size() == 2);
    CHECK(nlohmann::json::parse(multi.to_json()).at("checks").at("db").at("url") ==
          "postgres://app:***@h1:5432,h2:5433/orders?target_session_attrs=read-write");

    const Settings sock = load_settings({{"READYPROBE_CHECK_DB", "postgres://app@%2Fvar%2Frun%2Fpostgresql/orders"}});
    CHECK(only_check(sock).url.host == "/var/run/postgresql");
    const Settings query = load_settings({{"READYPROBE_CHECK_DB", "postgres://app@/orders?host=/tmp&port=5433"}});
    CHECK(only_check(query).url.host == "/tmp");
    CHECK(only_check(query).url.port == 5433);

    require_config_error({{"READYPROBE_CHECK_CACHE", "redis://a:6379,b:6379/0"}}, "READYPROBE_CHECK_CACHE",
                         "several hosts are for postgres URLs only");
    require_config_error({{"READYPROBE_CHECK_API", "http://%2Ftmp%2Fapi.sock/health"}}, "READYPROBE_CHECK_API",
                         "socket directory as host is for postgres URLs only");
    require_config_error({{"READYPROBE_CHECK_DB", "postgres://h1,h2/db?port=1,2,3"}}, "READYPROBE_CHECK_DB",
                         "3 ports for 2 hosts");
    try {
        load_settings({{"READYPROBE_CHECK_CACHE", "redis://:hunter2-pw@a:6379,b:6379/0"}});
        FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        const std::string what = e.what();
        CHECK(what.find('\n') == std::string::npos);
        CHECK(what.find("hunter2-pw") == std::string::npos);
    }
}

TEST_CASE("Settings: sslpassword and every *password* URL parameter are masked and collected", "[config][secret]") {
    const Settings s = load_settings({
        {"READYPROBE_CHECK_DB", "postgres://app:url-pw-1@db:5432/orders?sslmode=require&sslpassword=ssl-pw-2"},
        {"READYPROBE_CHECK_API", "http://api:8080/health?api_password=api-pw-3"},
    });
    const std::string out = s.to_json();
    INFO(out);
    for (const char* pw : {"url-pw-1", "ssl-pw-2", "api-pw-3"}) CHECK(out.find(pw) == std::string::npos);
    const auto j = nlohmann::json::parse(out);
    CHECK(j.at("checks").at("db").at("url") == "postgres://app:***@db:5432/orders?sslmode=require&sslpassword=***");
    CHECK(j.at("checks").at("api").at("url") == "http://api:8080/health?api_password=***");
    std::vector<std::string> secrets;
    for (const auto& secret : s.secrets()) secrets.push_back(secret.reveal());
    std::sort(secrets.begin(), secrets.end());
    CHECK(secrets == std::vector<std::string>{"api-pw-3", "ssl-pw-2", "url-pw-1"});
    // Masking with them hides each in any message.
    CHECK(mask("bad passphrase ssl-pw-2 for api-pw-3", s.secrets()) == "bad passphrase *** for ***");
}

TEST_CASE("check/status default URL: the address READYPROBE_LISTEN names", "[config][cli]") {
    using readyprobe::cli::local_url_for;
    CHECK(local_url_for(nullptr, "/startupz") == "http://127.0.0.1:8081/startupz");
    CHECK(local_url_for("0.0.0.0:9000", "/startupz") == "http://127.0.0.1:9000/startupz");
    CHECK(local_url_for(":9001", "/health") == "http://127.0.0.1:9001/health");
    CHECK(local_url_for("127.0.0.2:9002", "/startupz") == "http://127.0.0.2:9002/startupz");
    CHECK(local_url_for("10.1.2.3:9003", "/startupz") == "http://10.1.2.3:9003/startupz");
    CHECK(local_url_for("localhost:9004", "/startupz") == "http://localhost:9004/startupz");
    CHECK(local_url_for("[::1]:9005", "/startupz") == "http://[::1]:9005/startupz");
    CHECK(local_url_for("[::]:9006", "/startupz") == "http://[::1]:9006/startupz");
    CHECK(local_url_for("[fd00::2]:9007", "/startupz") == "http://[fd00::2]:9007/startupz");
    CHECK(local_url_for(" [::1]:9008 ", "/startupz") == "http://[::1]:9008/startupz");
    // Each default URL is one `check` accepts.
    for (const char* listen : {"0.0.0.0:9000", "127.0.0.2:9002", "[::1]:9005", "[::]:9006", "[fd00::2]:9007"}) {
        INFO(listen);
        const Url u = parse_url(local_url_for(listen, "/startupz"));
        CHECK(u.scheme == "http");
        CHECK_FALSE(u.host.empty());
        CHECK(u.path == "/startupz");
    }
    CHECK(parse_url(local_url_for("[::]:9006", "/x")).host == "::1");
}

// ---------------------------------------------------------------------------------------------
// Durations, status ranges, details

TEST_CASE("parse_duration", "[config][duration]") {
    CHECK(parse_duration("250ms") == milliseconds(250));
    CHECK(parse_duration("2s") == seconds(2));
    CHECK(parse_duration("1.5s") == milliseconds(1500));
    CHECK(parse_duration("1m") == minutes(1));
    CHECK(parse_duration("1h") == hours(1));
    CHECK(parse_duration("0.5m") == seconds(30));
    CHECK(parse_duration(" 3s ") == seconds(3));
    CHECK(parse_duration("0s") == Duration::zero());
    CHECK(parse_duration("24h") == hours(24));
    for (const char* bad : {"", "5", "abc", "-1s", "1.2.3s", "s", ".s", "2 s", "2sec", "1d", "25h", "0.1ms"}) {
        INFO("duration: \"" << bad << "\"");
        CHECK_THROWS_AS(parse_duration(bad), std::invalid_argument);
    }
}

TEST_CASE("format_duration", "[config][duration]") {
    CHECK(format_duration(seconds(2)) == "2s");
    CHECK(format_duration(milliseconds(250)) == "250ms");
    CHECK(format_duration(milliseconds(1500)) == "1500ms");
    CHECK(format_duration(minutes(1)) == "60s");
    for (const char* text : {"250ms", "2s", "1.5s", "1m", "1h", "10ms"}) {
        INFO(text);
        CHECK(parse_duration(format_duration(parse_duration(text))) == parse_duration(text));
    }
}

TEST_CASE("parse_status_ranges", "[config]") {
    const auto r = parse_status_ranges("200,204,300-399");
    REQUIRE(r.size() == 3);
    CHECK((r[0].lo == 200 && r[0].hi == 200));
    CHECK((r[1].lo == 204 && r[1].hi == 204));
    CHECK((r[2].lo == 300 && r[2].hi == 399));

    const auto spaced = parse_status_ranges(" 200 , 500 - 503 ");
    REQUIRE(spaced.size() == 2);
    CHECK((spaced[1].lo == 500 && spaced[1].hi == 503));

    for (const char* bad : {"", "abc", "99", "600", "2000", "300-200", "200,", "200-", "-300", "2xx"}) {
        INFO("ranges: \"" << bad << "\"");
        CHECK_THROWS_AS(parse_status_ranges(bad), std::invalid_argument);
    }
}

TEST_CASE("parse_details", "[config]") {
    CHECK(parse_details("none") == Details::none);
    CHECK(parse_details("status") == Details::status);
    CHECK(parse_details("FULL") == Details::full);
    CHECK_THROWS_AS(parse_details("verbose"), std::invalid_argument);
    CHECK_THROWS_AS(parse_details(""), std::invalid_argument);
}
