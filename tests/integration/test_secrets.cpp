// Secrets never appear in any output: logs at debug level (text and JSON, their event fields
// included), every endpoint at every details level (per-check paths too), metrics, `config`,
// `status` and `check`, while checks fail with a wrong password.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

using namespace rptest;

TEST_CASE("passwords are absent from every output while checks fail with them", "[secrets]") {
    const std::string pg_pw = "Pg-Secret-Pw-4242";
    const std::string redis_pw = "Redis-Secret-Pw-4242";
    const std::string override_pw = "Override-Secret-Pw-4242";
    const std::string rediss_pw = "Rediss-Secret-Pw-4242";
    Redis locked({"--requirepass", "the-real-one"});
    Redis tls_locked({"--requirepass", "the-real-one"}, true);
    std::string pg = shared_pg_url();
    const std::string wrong_pg = pg.substr(0, pg.find(':', 12) + 1) + pg_pw + pg.substr(pg.find('@'));

    for (const char* format : {"text", "json"}) {
        for (const char* details : {"none", "status", "full"}) {
            Sidecar rp({{"READYPROBE_CHECK_DB", wrong_pg},
                        {"READYPROBE_CHECK_CACHE", "redis://:" + redis_pw + "@127.0.0.1:" + std::to_string(locked.port())},
                        {"READYPROBE_CHECK_API", "http://user:apipw-4242@127.0.0.1:" + std::to_string(free_port()) + "/"},
                        {"READYPROBE_CHECK_API_PASSWORD", override_pw},
                        // TLS: the handshake succeeds (CA_FILE), then AUTH fails with the password.
                        {"READYPROBE_CHECK_TLSCACHE", "rediss://:" + rediss_pw + "@127.0.0.1:" + std::to_string(tls_locked.port())},
                        {"READYPROBE_CHECK_TLSCACHE_CA_FILE", tls_certs() + "/ca.crt"},
                        {"READYPROBE_INTERVAL", "100ms"},
                        {"READYPROBE_DRAIN", "0s"},
                        {"READYPROBE_DETAILS", details},
                        {"READYPROBE_LOG_LEVEL", "debug"},
                        {"READYPROBE_LOG_FORMAT", format}});
            REQUIRE(eventually([&] { return rp.get("/health?format=json").body.find("\"down\"") != std::string::npos ||
                                            std::string(details) == "none"; },
                               5000ms));
            std::this_thread::sleep_for(300ms);
            std::string everything;
            for (const char* path : {"/health", "/health?verbose", "/health?format=json", "/readyz?verbose",
                                     "/livez?verbose", "/startupz?verbose", "/startupz?format=json", "/metrics",
                                     "/readyz/db?verbose", "/readyz/cache?format=json", "/startupz/api?verbose",
                                     "/readyz/nope", "/groups/nope", "/health?exclude=nope"}) {
                everything += rp.get(path).body;
            }
            // `check` prints the failing checks' reasons at full details: through the front and the core.
            for (const auto& bin : {binary(), core_binary()}) {
                auto check = run({bin, "check", "http://127.0.0.1:" + std::to_string(rp.port()) + "/startupz"}, base_env());
                if (std::string(details) == "full") CHECK(check.out.find("db down (") != std::string::npos);
                everything += check.out + check.err;
            }
            if (std::string(details) == "full") {
                // The failure reasons are shown, just not the secrets.
                CHECK(everything.find("password authentication failed") != std::string::npos);
                CHECK(everything.find("AUTH failed: WRONGPASS") != std::string::npos);
            }
            auto status = run({binary(), "status", "http://127.0.0.1:" + std::to_string(rp.port()) + "/health"},
                              base_env());
            everything += status.out + status.err;
            rp.process().signal(SIGTERM);
            REQUIRE(rp.process().wait_for(5000ms).has_value());
            const std::string logs = rp.process().err();
            // The transitions' fields are there (and checked for secrets below with the rest).
            CHECK(logs.find(std::string(format) == "json" ? "\"event\":\"transition\"" : " event=transition") !=
                  std::string::npos);
            CHECK(logs.find(std::string(format) == "json" ? "\"reason\":\"" : " reason=\"") != std::string::npos);
            everything += rp.process().out() + logs;
            INFO(format << " " << details);
            for (const auto& secret : {pg_pw, redis_pw, override_pw, rediss_pw, std::string("apipw-4242")}) {
                CHECK(everything.find(secret) == std::string::npos);
            }
        }
    }
}

// libpq's sslpassword (a client key passphrase) and any *password* URL parameter: passed to
// libpq (the check is up with it), shown as *** by config, the startup log and every endpoint.
TEST_CASE("sslpassword in a postgres URL is masked in config, the startup log, /readyz and /metrics", "[secrets]") {
    const std::string ssl_pw = "Ssl-Key-Passphrase-4242";
    const std::string wrong_pw = "Wrong-Pg-Pw-4242";
    const std::string pg = shared_pg_url();
    const std::string up = pg + "?sslmode=disable&sslpassword=" + ssl_pw;
    const std::string down =
        pg.substr(0, pg.find(':', 12) + 1) + wrong_pw + pg.substr(pg.find('@')) + "?sslpassword=" + ssl_pw;
    const Env checks{{"READYPROBE_CHECK_DB", up}, {"READYPROBE_CHECK_WRONG", down}};

    Env env = base_env();
    for (const auto& [k, v] : checks) env[k] = v;
    const auto config = run({binary(), "config"}, env);
    INFO(config.out << config.err);
    REQUIRE(config.exit_code == 0);
    CHECK(config.out.find("sslpassword=***") != std::string::npos);
    CHECK(config.out.find(ssl_pw) == std::string::npos);
    CHECK(config.out.find(wrong_pw) == std::string::npos);

    for (const char* format : {"text", "json"}) {
        Env rp_env = checks;
        rp_env["READYPROBE_INTERVAL"] = "100ms";
        rp_env["READYPROBE_DRAIN"] = "0s";
        rp_env["READYPROBE_DETAILS"] = "full";
        rp_env["READYPROBE_LOG_LEVEL"] = "debug";
        rp_env["READYPROBE_LOG_FORMAT"] = format;
        Sidecar rp(rp_env);
        REQUIRE(eventually([&] {
            const std::string v = rp.get("/readyz?verbose").body;
            return v.find("[+]db ok") != std::string::npos && v.find("[-]wrong failed") != std::string::npos;
        }, 5000ms));
        std::string everything;
        for (const char* path : {"/readyz?verbose", "/readyz?format=json", "/health?verbose", "/startupz?verbose",
                                 "/metrics"}) {
            everything += rp.get(path).body;
        }
        // The check that uses it is up (libpq took the keyword); the failing one says why.
        CHECK(everything.find("password authentication failed") != std::string::npos);
        rp.process().signal(SIGTERM);
        REQUIRE(rp.process().wait_for(5000ms).has_value());
        const std::string log = rp.process().out() + rp.process().err();
        INFO(format << "\n" << log);
        CHECK(log.find("sslpassword=***") != std::string::npos);  // the startup log names the check's URL
        everything += log;
        for (const auto& secret : {ssl_pw, wrong_pw}) CHECK(everything.find(secret) == std::string::npos);
    }
}

TEST_CASE("a rejected command line never echoes a URL's password", "[secrets][cli]") {
    const std::string pw = "Cli-Secret-Pw-4242";
    const std::string url = "postgres://app:" + pw + "@127.0.0.1:1/app";
    const std::vector<std::vector<std::string>> lines = {
        {"guard", "--drops", "orders", url},                      // an unexpected positional argument
        {"guard", "--drops", "orders", "--url", url, "extra", url},
        {"config", "--nope=" + url},
        {"check", "http://user:" + pw + "@127.0.0.1:1/", "surplus"},
        {"guard", "--drops", "orders", "postgres://app:" + pw + "@[::1"},  // not even a URL libpq reads
        {"guard", "--drops", "orders", "postgres://127.0.0.1:1/app?password=" + pw},
        {"guard", "--drops", "orders", "postgres://127.0.0.1:1/app?sslmode=require&sslpassword=" + pw},
    };
    // Percent-encoded as typed: neither the encoded nor the decoded text may appear.
    const std::string encoded = "Cli%40Secret%2FPw";
    RunResult r = run({binary(), "guard", "--drops", "orders", "postgres://app:" + encoded + "@127.0.0.1:1/app"},
                      base_env());
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(encoded) == std::string::npos);
    CHECK(r.err.find("Cli@Secret/Pw") == std::string::npos);
    CHECK(r.err.find("postgres://app:***@127.0.0.1:1/app") != std::string::npos);
    for (const auto& args : lines) {
        std::vector<std::string> argv{binary()};
        argv.insert(argv.end(), args.begin(), args.end());
        RunResult r = run(argv, base_env());
        INFO(args.front() << ": " << r.out << r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("readyprobe: ") == 0);
        CHECK(r.err.find('\n') == r.err.size() - 1);
        CHECK(r.err.find(pw) == std::string::npos);
        CHECK(r.out.find(pw) == std::string::npos);
    }
}
