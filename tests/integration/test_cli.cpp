// The sidecar's command line: configuration errors, `config`, `check`, `status`, `wait`.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <thread>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

using namespace rptest;

namespace {

RunResult readyprobe(const std::vector<std::string>& args, const Env& extra = {},
                     std::chrono::milliseconds timeout = 20000ms) {
    std::vector<std::string> argv{binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    Env env = base_env();
    for (const auto& [k, v] : extra) env[k] = v;
    return run(argv, env, timeout);
}

int lines(const std::string& text) {
    int n = 0;
    for (char c : text) n += c == '\n';
    return n;
}

}  // namespace

TEST_CASE("every configuration error: one line naming the variable - exit 2 - nothing served", "[cli][config]") {
    const int port = free_port();
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    struct Case {
        Env env;
        std::string names;
    };
    const std::vector<Case> cases = {
        {{{"READYPROBE_CHECK_DB", "postgres://a@h/d"}, {"READYPROBE_CHECK_DB_TIMOUT", "1s"}}, "READYPROBE_CHECK_DB_TIMOUT"},
        {{{"READYPROBE_CHECK_DB_TIMEOUT", "1s"}}, "READYPROBE_CHECK_DB_TIMEOUT"},
        {{{"READYPROBE_CHECK_DB", "postgres://h/d"}, {"READYPROBE_CHECK_DB_INTERVAL", "5"}}, "READYPROBE_CHECK_DB_INTERVAL"},
        {{{"READYPROBE_INTERVAL", "fast"}}, "READYPROBE_INTERVAL"},
        {{{"READYPROBE_TIMEOUT", "0s"}}, "READYPROBE_TIMEOUT"},
        {{{"READYPROBE_LISTEN", "127.0.0.1:99999"}}, "READYPROBE_LISTEN"},
        {{{"READYPROBE_LISTEN", "localhost"}}, "READYPROBE_LISTEN"},
        {{{"READYPROBE_CHECK_DB", "mysql://h/d"}}, "READYPROBE_CHECK_DB"},
        {{{"READYPROBE_CHECK_DB", "not a url"}}, "READYPROBE_CHECK_DB"},
        {{{"READYPROBE_CHECK_DB", "postgres://h:port/d"}}, "READYPROBE_CHECK_DB"},
        {{{"READYPROBE_CHECK_DB", "postgres://h/d"}, {"READYPROBE_CHECK_DB_RISE", "0"}}, "READYPROBE_CHECK_DB_RISE"},
        {{{"READYPROBE_FALL", "-1"}}, "READYPROBE_FALL"},
        {{{"READYPROBE_CHECK_DB", "postgres://h/d"}, {"READYPROBE_CHECK_DB_CRITICAL", "maybe"}}, "READYPROBE_CHECK_DB_CRITICAL"},
        {{{"READYPROBE_CHECK_DB", "postgres://h/d"}, {"READYPROBE_CHECK_DB_EXPECT", "200"}}, "READYPROBE_CHECK_DB_EXPECT"},
        {{{"READYPROBE_CHECK_WEB", "http://h/"}, {"READYPROBE_CHECK_WEB_EXPECT", "2xx"}}, "READYPROBE_CHECK_WEB_EXPECT"},
        {{{"READYPROBE_DETAILS", "everything"}}, "READYPROBE_DETAILS"},
        {{{"READYPROBE_LOG_FORMAT", "xml"}}, "READYPROBE_LOG_FORMAT"},
        {{{"READYPROBE_LOG_LEVEL", "loud"}}, "READYPROBE_LOG_LEVEL"},
        {{{"READYPROBE_INTERVL", "2s"}}, "READYPROBE_INTERVL"},
        {{{"READYPROBE_CHECK_T", "tcp://h"}}, "READYPROBE_CHECK_T"},
        {{{"READYPROBE_CONFIG", "/nonexistent/readyprobe.json"}}, "READYPROBE_CONFIG"},
    };
    for (const auto& c : cases) {
        Env env = c.env;
        if (!env.count("READYPROBE_LISTEN")) env["READYPROBE_LISTEN"] = listen;
        for (const char* cmd : {"serve", "config"}) {
            auto r = readyprobe({cmd}, env, 5000ms);
            INFO(cmd << " " << c.names << " -> stderr: " << r.err);
            CHECK(r.exit_code == 2);
            CHECK(lines(r.err) == 1);
            CHECK(r.err.find(c.names) != std::string::npos);
            CHECK(r.out.empty());
        }
    }
    // Nothing was ever served on the port.
    CHECK(get(port, "/livez").status == -1);
}

TEST_CASE("a bad JSON configuration file names READYPROBE_CONFIG or the JSON path", "[cli][config]") {
    const std::string path = "/tmp/rpt-config-" + std::to_string(free_port()) + ".json";
    auto write = [&](const std::string& text) { std::ofstream(path) << text; };

    write("{not json");
    auto r = readyprobe({"config"}, {{"READYPROBE_CONFIG", path}});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("READYPROBE_CONFIG") != std::string::npos);
    CHECK(lines(r.err) == 1);

    write(R"({"checks": {"db": {"url": "postgres://h/d", "timeout": "soon"}}})");
    r = readyprobe({"config"}, {{"READYPROBE_CONFIG", path}});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("$.checks.db.timeout") != std::string::npos);

    write(R"({"checks": {"db": {"url": "postgres://h/d", "pool_size": 3}}})");
    r = readyprobe({"config"}, {{"READYPROBE_CONFIG", path}});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("$.checks.db.pool_size") != std::string::npos);

    write(R"({"interval": "1s", "checks": {"db": {"url": "postgres://u:filepw@h/d", "groups": ["ready"]}}})");
    r = readyprobe({"config"}, {{"READYPROBE_CONFIG", path}, {"READYPROBE_INTERVAL", "3s"}});
    CHECK(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["interval"] == "3s");  // the environment wins
    CHECK(j["checks"]["db"]["groups"] == nlohmann::json::array({"ready"}));
    CHECK(r.out.find("filepw") == std::string::npos);
    std::remove(path.c_str());
}

TEST_CASE("config prints the effective configuration with secrets masked", "[cli][config]") {
    auto r = readyprobe({"config"}, {{"READYPROBE_CHECK_ORDERS_DB", "postgres://app:hunter2@db.internal:5432/orders"},
                                     {"READYPROBE_CHECK_ORDERS_DB_PASSWORD", "override-pw"},
                                     {"READYPROBE_CHECK_CACHE", "redis://:redispw@cache:6379/2"}});
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["listen"] == "0.0.0.0:8081");
    CHECK(j["checks"]["orders_db"]["kind"] == "postgres");
    CHECK(j["checks"]["orders_db"]["url"] == "postgres://app:***@db.internal:5432/orders");
    CHECK(j["checks"]["cache"]["kind"] == "redis");
    CHECK(r.out.find("hunter2") == std::string::npos);
    CHECK(r.out.find("override-pw") == std::string::npos);
    CHECK(r.out.find("redispw") == std::string::npos);
}

TEST_CASE("usage errors exit 2 - --help and --version exit 0", "[cli]") {
    CHECK(readyprobe({"--version"}).exit_code == 0);
    CHECK(readyprobe({"--version"}).out.find("readyprobe ") == 0);
    CHECK(readyprobe({"--help"}).exit_code == 0);
    auto r = readyprobe({"frobnicate"});
    CHECK(r.exit_code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(readyprobe({"check", "--timeout", "soon"}).exit_code == 2);
    CHECK(readyprobe({"check", "ftp://x/"}).exit_code == 2);
    CHECK(readyprobe({"status", "::::"}).exit_code == 2);
}

TEST_CASE("check: 0 on 2xx - 1 on 503 or no answer - status: 0 ready - 1 not ready - 2 unreachable", "[cli]") {
    Redis redis;
    const int port = free_port();
    Env env = base_env();
    env["READYPROBE_LISTEN"] = "127.0.0.1:" + std::to_string(port);
    env["READYPROBE_INTERVAL"] = "200ms";
    env["READYPROBE_CHECK_CACHE"] = redis.url();
    Process serve({binary(), "serve"}, env);
    REQUIRE(eventually([&] { return get(port, "/health").status == 200; }, 5000ms));

    const Env listen{{"READYPROBE_LISTEN", "127.0.0.1:" + std::to_string(port)}};
    auto r = readyprobe({"check"}, listen);  // default: the local /startupz
    CHECK(r.exit_code == 0);
    r = readyprobe({"status"}, listen);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("cache") != std::string::npos);

    redis.stop();
    REQUIRE(eventually([&] { return get(port, "/health").status == 503; }, 3000ms));
    CHECK(readyprobe({"check"}, listen).exit_code == 0);  // /startupz is latched
    CHECK(readyprobe({"check", "http://127.0.0.1:" + std::to_string(port) + "/health"}).exit_code == 1);
    r = readyprobe({"status"}, listen);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("down") != std::string::npos);

    const int closed = free_port();
    CHECK(readyprobe({"check", "http://127.0.0.1:" + std::to_string(closed) + "/"}).exit_code == 1);
    CHECK(readyprobe({"status", "http://127.0.0.1:" + std::to_string(closed) + "/health"}).exit_code == 2);

    SilentServer hung;
    const auto t0 = Clock::now();
    r = readyprobe({"check", "--timeout", "500ms", "http://127.0.0.1:" + std::to_string(hung.port()) + "/"});
    CHECK(r.exit_code == 1);
    CHECK(ms_since(t0) < 3000);
}

TEST_CASE("wait: exit 0 once a dependency that was down comes up - exit 1 at the timeout", "[cli][wait]") {
    Redis redis;
    redis.stop();
    const Env env{{"READYPROBE_CHECK_CACHE", redis.url()}, {"READYPROBE_TIMEOUT", "300ms"}};

    auto t0 = Clock::now();
    auto r = readyprobe({"wait", "--timeout", "1500ms"}, env);
    CHECK(r.exit_code == 1);
    CHECK(ms_since(t0) >= 1400);
    CHECK(ms_since(t0) < 4000);
    CHECK(r.out.find("timed out") != std::string::npos);

    std::vector<std::string> argv{binary(), "wait", "--timeout", "20s"};
    Env full = base_env();
    for (const auto& [k, v] : env) full[k] = v;
    Process waiting(argv, full);
    std::this_thread::sleep_for(2000ms);
    CHECK(waiting.running());
    redis.start();
    t0 = Clock::now();
    auto code = waiting.wait_for(10000ms);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK(ms_since(t0) < 6000);  // backoff is capped at 5 s
    CHECK(waiting.out().find("ready") != std::string::npos);

    CHECK(readyprobe({"wait"}, {{"READYPROBE_CHECK_CACHE", "redis://"}}).exit_code == 2);
}

TEST_CASE("wait: --timeout is kept even while a check run against a hung server is still in flight", "[cli][wait]") {
    Redis redis;
    redis.pause();  // SIGSTOP: connects, never answers; each run lasts its whole TIMEOUT (8 s)
    const auto t0 = Clock::now();
    auto r = readyprobe({"wait", "--timeout", "1s"}, {{"READYPROBE_CHECK_CACHE", redis.url()}, {"READYPROBE_TIMEOUT", "8s"}});
    const auto took = ms_since(t0);
    redis.resume();
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("wait: timed out after 1s; still down: cache (") != std::string::npos);
    CHECK(took >= 900);
    CHECK(took < 4000);  // not the run's 8 s
}

TEST_CASE("check and status never print a password from the URL they were given", "[cli][secrets]") {
    const std::string url = "http://probe:Url-Secret-77@127.0.0.1:" + std::to_string(free_port()) + "/health";
    for (const char* cmd : {"check", "status"}) {
        auto r = readyprobe({cmd, url});
        INFO(cmd << ": " << r.out << r.err);
        CHECK(r.exit_code == (std::string(cmd) == "check" ? 1 : 2));
        CHECK((r.out + r.err).find("Url-Secret-77") == std::string::npos);
        CHECK((r.out + r.err).find("probe:***@") != std::string::npos);
    }
}

TEST_CASE("serve on a port another readyprobe already serves: exit 2 with one line - the first keeps serving",
          "[cli]") {
    Sidecar first({{"READYPROBE_CHECK_FLAG", "file://" + binary()}});
    const std::string listen = "127.0.0.1:" + std::to_string(first.port());
    // cpp-httplib's default SO_REUSEPORT would let this bind and split connections between the two.
    auto r = readyprobe({"serve"}, {{"READYPROBE_LISTEN", listen}, {"READYPROBE_CHECK_FLAG", "file://" + binary()}});
    CHECK(r.exit_code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("READYPROBE_LISTEN: cannot listen on " + listen + ": Address already in use") == 0);
    CHECK(first.status("/health") == 200);
}
