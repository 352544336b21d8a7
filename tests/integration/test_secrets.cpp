// Secrets never appear in any output: logs at debug level (text and JSON), every endpoint at
// every details level, metrics, `config` and `status`, while checks fail with a wrong password.
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
                                     "/livez?verbose", "/startupz?verbose", "/startupz?format=json", "/metrics"}) {
                everything += rp.get(path).body;
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
            everything += rp.process().out() + rp.process().err();
            INFO(format << " " << details);
            for (const auto& secret : {pg_pw, redis_pw, override_pw, rediss_pw, std::string("apipw-4242")}) {
                CHECK(everything.find(secret) == std::string::npos);
            }
        }
    }
}
