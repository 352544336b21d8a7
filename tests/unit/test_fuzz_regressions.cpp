// Regressions for the bugs the libFuzzer targets (tests/fuzz) found. Each crash input is also
// kept in tests/fuzz/corpus/<target>/regression-*; these tests hold the same ground in the
// normal suite (GCC, no fuzzing build needed).
#include <readyprobe/config.hpp>
#include <readyprobe/render.hpp>
#include <readyprobe/snapshot.hpp>
#include <readyprobe/url.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

using namespace readyprobe;

namespace {

// The ConfigError load_settings(env) throws (fails the test if it throws anything else).
std::string config_error(const Environment& env) {
    try {
        load_settings(env);
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("expected a ConfigError");
    return "";
}

struct JsonFile {
    explicit JsonFile(const std::string& text) {
        char name[] = "/tmp/rp-unit-fuzzreg-XXXXXX";
        const int fd = ::mkstemp(name);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = name;
        std::ofstream(path) << text;
    }
    ~JsonFile() { std::remove(path.c_str()); }
    std::string path;
};

}  // namespace

// url: "user:12345/pw@db" read as host "user", port 12345 and path "/pw@db": the password
// was printed by redacted() (logs, `config`). Now refused as ambiguous, without echoing it.
TEST_CASE("fuzz regression: a password of digits then / or ? is refused as ambiguous - not split and printed",
          "[url][secret][fuzz]") {
    for (const char* url : {"https://user:12345/pw@api:8443/v1/health", "redis://:2024/Summer@cache:6379/0",
                            "postgres://app:12?Secret@db:5432/orders"}) {
        INFO(url);
        try {
            const Url u = parse_url(url);
            FAIL("parsed as " << u.redacted());
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            CHECK(what.find("ambiguous") != std::string::npos);
            CHECK(what.find("pw") == std::string::npos);
            CHECK(what.find("Summer") == std::string::npos);
            CHECK(what.find("Secret") == std::string::npos);
        }
    }
    // Encoded, the same passwords are fine.
    CHECK(parse_url("https://user:12345%2Fpw@api:8443/v1/health").password.reveal() == "12345/pw");
    CHECK(parse_url("redis://:2024%2FSummer@cache:6379/0").host == "cache");
    // A port with a path is still a port with a path.
    CHECK(parse_url("http://api:8080/v1/health").port == 8080);
    CHECK(parse_url("http://api:8080/users/%40me").path == "/users/%40me");
}

// url: "u:@0/Pw-After-At@db" — a password starting with '@' and holding a '/' — left "Pw-After-At"
// in the path. Another '@' after the userinfo is now ambiguous too.
TEST_CASE("fuzz regression: an @ after the userinfo is refused as ambiguous", "[url][secret][fuzz]") {
    for (const char* url : {"postgres://app:@0/Pw-After-At@db:5432/orders", "postgres://app:ab@c/Pw-Tail@db/orders"}) {
        INFO(url);
        try {
            const Url u = parse_url(url);
            FAIL("parsed as " << u.redacted());
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).find("Pw-") == std::string::npos);
        }
    }
    CHECK(parse_url("postgres://app:p@ss@db:5432/orders").password.reveal() == "p@ss");
    CHECK(parse_url("postgres://app:hunter2/x@db/orders").password.reveal() == "hunter2/x");
}

// config: nlohmann's parse errors end with "last read: '<token>'", which held the start of a
// password when a JSON string was malformed (a raw tab in it).
TEST_CASE("fuzz regression: a malformed JSON file's error does not quote the bad token", "[config][secret][fuzz]") {
    const JsonFile file("{\"checks\": {\"db\": {\"url\": \"postgres://a@h/d\", \"password\": \"Tab-Secret\t\"}}}");
    const std::string what = config_error({{"READYPROBE_CONFIG", file.path}});
    INFO(what);
    CHECK(what.find("READYPROBE_CONFIG") != std::string::npos);
    CHECK(what.find("not valid JSON") != std::string::npos);
    CHECK(what.find("Tab-Secret") == std::string::npos);
}

// config: a number too large for a double is nlohmann's out_of_range, not a parse_error: it
// escaped load_settings, and the sidecar said "readyprobe: [json.exception.out_of_range.406]
// ..." with exit 1 instead of a configuration error.
TEST_CASE("fuzz regression: a JSON number overflow is a configuration error", "[config][fuzz]") {
    const JsonFile file("{\"interval\": 8888888E888}");
    const std::string what = config_error({{"READYPROBE_CONFIG", file.path}});
    INFO(what);
    CHECK(what.find("READYPROBE_CONFIG") == 0);
    CHECK(what.find("8888888E888") == std::string::npos);
}

// config: `readyprobe config` (Settings::to_json) threw nlohmann's type_error 316 on a URL with
// bytes that are not UTF-8.
TEST_CASE("fuzz regression: to_json survives a URL that is not UTF-8", "[config][fuzz]") {
    const Settings s = load_settings({{"READYPROBE_CHECK_API", "http://api:8080/he\xa3\x93th"}});
    std::string dump;
    REQUIRE_NOTHROW(dump = s.to_json());
    CHECK(nlohmann::json::parse(dump)["checks"]["api"]["kind"] == "http");
}

// endpoints: a check message that is not UTF-8 (a Redis error reply, a PostgreSQL message in
// the server's encoding) made render_json throw: /health?format=json answered 500.
TEST_CASE("fuzz regression: render_json survives a check message that is not UTF-8", "[render][fuzz]") {
    Snapshot snap;
    CheckState s;
    s.name = "cache";
    s.kind = "redis";
    s.status = CheckStatus::down;
    s.message = "ERR \xff\xfe bad reply";
    const TimePoint now = SteadyClock::now();
    s.last_result = now;
    snap.checks.push_back(s);
    const GroupResult result = evaluate(snap, "ready", now);
    std::string body;
    REQUIRE_NOTHROW(body = render_json(result, snap, Details::full, now));
    CHECK(nlohmann::json::parse(body)["checks"]["cache"]["status"] == "down");
}

// config: values echoed in errors ("must be none, status or full, not \"...\"", REQUIRE and
// MIGRATION items) printed a URL's password (userinfo or ?password=) when a URL was put in the
// wrong variable. Only the scheme of such a value is shown now.
TEST_CASE("fuzz regression: a URL in the wrong variable is echoed as its scheme only", "[config][secret][fuzz]") {
    const std::vector<std::pair<Environment, std::string>> cases = {
        {{{"READYPROBE_DETAILS", "postgres://app:Misplaced-Pw-1@db:5432/app"}}, "READYPROBE_DETAILS"},
        {{{"READYPROBE_CHECK_DB", "postgres://app@db/app"},
          {"READYPROBE_CHECK_DB_REQUIRE", "redis://:Require-Pw-2@cache:6379/0"}},
         "READYPROBE_CHECK_DB_REQUIRE"},
        {{{"READYPROBE_CHECK_DB", "postgres://app@db/app"},
          {"READYPROBE_CHECK_DB_MIGRATION", "postgres://app:Migration-Pw-3@db/app?sslmode=require"}},
         "READYPROBE_CHECK_DB_MIGRATION"},
        {{{"READYPROBE_LOG_FORMAT", "postgres://app@db/app?sslmode=disable&password=Query-Pw-4"}},
         "READYPROBE_LOG_FORMAT"},
    };
    for (const auto& [env, where] : cases) {
        const std::string what = config_error(env);
        INFO(what);
        CHECK(what.find(where) == 0);
        CHECK(what.find("-Pw-") == std::string::npos);
    }
}

// config: a duration with hundreds of digits made std::stod throw std::out_of_range, which
// escaped load_settings: "readyprobe: stod", exit 1, no variable named. (Found reading the code
// while writing the config fuzz target; kept in its corpus as regression-duration-out-of-range.)
TEST_CASE("regression: a duration too long for a double is a configuration error naming the variable",
          "[config][fuzz]") {
    for (const std::string& value : {"1" + std::string(400, '0') + "s", "0." + std::string(400, '0') + "1ms"}) {
        const std::string what = config_error({{"READYPROBE_INTERVAL", value}});
        INFO(what);
        CHECK(what.find("READYPROBE_INTERVAL") == 0);
    }
}

// config: a URL pasted into READYPROBE_LISTEN was split at its last ':' and the tail echoed as
// the bad port: "bad port \"//app?P&password=wJJNJSTE=\"" (found by fuzz_config in CI, 30 s).
TEST_CASE("fuzz regression: a bad READYPROBE_LISTEN port does not echo a URL's password", "[config][secret][fuzz]") {
    const std::string err = config_error({{"READYPROBE_LISTEN", "gres://app?P&password=wJJNJSTE="}});
    CHECK(err.find("READYPROBE_LISTEN") == 0);
    CHECK(err.find("wJJNJSTE") == std::string::npos);
    CHECK(err.find("bad port") != std::string::npos);
    // A plain word is still echoed, to help.
    CHECK(config_error({{"READYPROBE_LISTEN", "0.0.0.0:80a"}}).find("\"80a\"") != std::string::npos);
}
