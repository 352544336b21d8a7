// What operators see, from the real binaries against a real Redis: log fields on a real
// transition (JSON and text), the one line `readyprobe check` prints at each details level (front
// and core alike), the per-check and custom-group endpoints, and /metrics as promtool judges it.
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

using namespace rptest;

namespace {

Env with(Env env) {
    env.emplace("READYPROBE_INTERVAL", "100ms");
    env.emplace("READYPROBE_TIMEOUT", "500ms");
    env.emplace("READYPROBE_DRAIN", "0s");
    return env;
}

std::string url(int port, const std::string& path) { return "http://127.0.0.1:" + std::to_string(port) + path; }

// The JSON log lines of a process's stderr; every line must be one JSON object.
std::vector<nlohmann::json> json_lines(const std::string& err) {
    std::vector<nlohmann::json> out;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        INFO("log line: " << line);
        auto doc = nlohmann::json::parse(line, nullptr, false);
        REQUIRE(doc.is_object());
        out.push_back(std::move(doc));
    }
    return out;
}

const nlohmann::json* find_event(const std::vector<nlohmann::json>& lines, const std::string& event,
                                 const std::string& check = "", const std::string& to = "") {
    for (const auto& l : lines) {
        if (l.value("event", "") != event) continue;
        if (!check.empty() && l.value("check", "") != check) continue;
        if (!to.empty() && l.value("to", "") != to) continue;
        return &l;
    }
    return nullptr;
}

// `readyprobe check ARGS` through the front and through the core: the same output and exit code.
RunResult check_both(const std::vector<std::string>& args) {
    std::vector<std::string> front{binary(), "check"};
    std::vector<std::string> core{core_binary(), "check"};
    front.insert(front.end(), args.begin(), args.end());
    core.insert(core.end(), args.begin(), args.end());
    const RunResult f = run(front, base_env());
    const RunResult c = run(core, base_env());
    INFO("front: " << f.exit_code << " [" << f.out << "] core: " << c.exit_code << " [" << c.out << "]");
    CHECK(f.exit_code == c.exit_code);
    CHECK(f.out == c.out);
    CHECK(f.err == c.err);
    return f;
}

std::string promtool(const std::string& metrics) {
    char path[] = "/tmp/readyprobe-metrics-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(path) << metrics;
    const RunResult r = run({"/bin/sh", "-c", std::string("promtool check metrics < ") + path + " 2>&1; echo rc=$?"},
                            base_env());
    std::remove(path);
    return r.out;
}

}  // namespace

TEST_CASE("logs: a real transition carries check, kind, from, to, reason, latency_ms and event - JSON and text",
          "[observability][logs][redis]") {
    for (const char* format : {"json", "text"}) {
        INFO(format);
        Redis redis;
        Sidecar rp(with({{"READYPROBE_CHECK_CACHE", redis.url()},
                         {"READYPROBE_CHECK_CACHE_FALL", "1"},
                         {"READYPROBE_LOG_FORMAT", format}}));
        REQUIRE(eventually([&] { return rp.status("/readyz/cache") == 200; }, scaled(5000ms)));
        redis.stop();
        REQUIRE(eventually([&] { return rp.status("/readyz/cache") == 503; }, scaled(5000ms)));
        redis.start();
        REQUIRE(eventually([&] { return rp.status("/readyz/cache") == 200; }, scaled(5000ms)));
        rp.process().signal(SIGTERM);
        REQUIRE(rp.process().wait_for(scaled(5000ms)) == 0);
        const std::string err = rp.process().err();
        INFO(err);

        if (std::string(format) == "json") {
            const auto lines = json_lines(err);
            const nlohmann::json* down = find_event(lines, "transition", "cache", "down");
            REQUIRE(down);
            CHECK((*down)["kind"] == "redis");
            CHECK((*down)["from"] == "up");
            CHECK((*down)["level"] == "warning");
            CHECK(!(*down)["reason"].get<std::string>().empty());
            CHECK((*down)["latency_ms"].is_number());
            CHECK((*down)["message"].get<std::string>().find("check cache is down") != std::string::npos);
            CHECK((*down).contains("time"));
            const nlohmann::json* up = find_event(lines, "transition", "cache", "up");
            REQUIRE(up);
            CHECK((*up)["from"] == "unknown");  // the first one: find_event returns the earliest
            const nlohmann::json* config = find_event(lines, "config", "cache");
            REQUIRE(config);
            CHECK((*config)["kind"] == "redis");
            CHECK(find_event(lines, "serving"));
            CHECK(find_event(lines, "startup"));
            CHECK(find_event(lines, "drain"));
            CHECK(find_event(lines, "stopped"));
            // Once per transition: unknown->up, up->down, down->up.
            int transitions = 0;
            for (const auto& l : lines) transitions += l.value("event", "") == "transition";
            CHECK(transitions == 3);
        } else {
            CHECK(err.find(" event=transition check=cache kind=redis from=up to=down reason=\"") != std::string::npos);
            CHECK(err.find(" event=transition check=cache kind=redis from=down to=up reason=\"") != std::string::npos);
            CHECK(err.find(" event=config check=cache kind=redis") != std::string::npos);
            CHECK(err.find(" event=startup") != std::string::npos);
            CHECK(err.find(" event=drain") != std::string::npos);
            const auto at = err.find("to=down reason=\"");
            const std::string line = err.substr(at, err.find('\n', at) - at);
            CHECK(line.find(" latency_ms=") != std::string::npos);
        }
    }
}

TEST_CASE("check: one line with the failing checks and, at full details, their reasons - front and core",
          "[observability][check][redis]") {
    Redis redis;
    const int closed = free_port();
    for (const char* details : {"none", "status", "full"}) {
        INFO(details);
        Sidecar rp(with({{"READYPROBE_CHECK_CACHE", redis.url()},
                         {"READYPROBE_CHECK_GONE", "tcp://127.0.0.1:" + std::to_string(closed)},
                         {"READYPROBE_CHECK_SLOW", "http://127.0.0.1:" + std::to_string(free_port()) + "/"},
                         {"READYPROBE_CHECK_SLOW_INTERVAL", "1h"},
                         {"READYPROBE_CHECK_SLOW_CRITICAL", "false"},
                         {"READYPROBE_DETAILS", details}}));
        // cache up and gone's first failure in (at details=none the names are not shown).
        REQUIRE(eventually([&] {
            return rp.status("/readyz/cache") == 200 &&
                   (std::string(details) == "none" ||
                    rp.get("/startupz?verbose").body.find("[-]gone failed") != std::string::npos);
        }, scaled(5000ms)));
        std::this_thread::sleep_for(300ms);
        const RunResult r = check_both({url(rp.port(), "/startupz")});
        CHECK(r.exit_code == 1);
        if (std::string(details) == "none") {
            CHECK(r.out == "503 not_ready\n");
        } else if (std::string(details) == "status") {
            CHECK(r.out == "503 not_ready: gone down\n");
        } else {
            CHECK(r.out == "503 not_ready: gone down (connection refused)\n");
        }
        // The default URL: the local /startupz (READYPROBE_LISTEN) prints the same.
        Env env = base_env();
        env["READYPROBE_LISTEN"] = "127.0.0.1:" + std::to_string(rp.port());
        CHECK(run({binary(), "check"}, env).out == r.out);
        CHECK(run({core_binary(), "check"}, env).out == r.out);
        // A passing path prints the status word alone; an excluded check is left out.
        CHECK(check_both({url(rp.port(), "/readyz/cache")}).out == "200 ready\n");
        const RunResult excluded = check_both({url(rp.port(), "/livez?exclude=gone")});
        CHECK(excluded.exit_code == 0);
        CHECK(excluded.out == "200 ready\n");
    }
}

TEST_CASE("endpoints: /readyz/<check> - /livez/<check> - /startupz/<check> - /groups/<name> - unknown ?exclude=",
          "[observability][endpoints][redis]") {
    Redis redis;
    Sidecar rp(with({{"READYPROBE_CHECK_CACHE", redis.url()},
                     {"READYPROBE_CHECK_CACHE_FALL", "1"},
                     {"READYPROBE_CHECK_QUEUE", redis.url()},
                     {"READYPROBE_CHECK_QUEUE_GROUPS", "workers,live"},
                     {"READYPROBE_CHECK_QUEUE_FALL", "1"},
                     {"READYPROBE_DETAILS", "full"}}));
    REQUIRE(eventually([&] { return rp.status("/readyz/cache") == 200; }, scaled(5000ms)));
    CHECK(rp.status("/startupz/cache") == 200);
    CHECK(rp.status("/livez/queue") == 200);
    CHECK(rp.status("/groups/workers") == 200);
    auto a = rp.get("/readyz/queue");  // queue is not in the ready group
    CHECK(a.status == 404);
    CHECK(a.body == "no check queue in group ready\n");
    CHECK(rp.status("/livez/cache") == 404);
    CHECK(rp.status("/readyz/nope") == 404);
    a = rp.get("/groups/nope");
    CHECK(a.status == 404);
    CHECK(a.body.find("no custom group nope") != std::string::npos);
    a = rp.get("/readyz?exclude=cahce");
    CHECK(a.status == 400);
    CHECK(a.body == "unknown check in ?exclude=: cahce\n");
    CHECK(rp.status("/readyz?exclude=queue") == 200);  // configured, just not in the group
    CHECK(get(rp.port(), "/readyz/cache", {}, "POST").status == 405);
    CHECK(get(rp.port(), "/readyz/cache", {}, "HEAD").status == 200);

    redis.stop();
    REQUIRE(eventually([&] { return rp.status("/readyz/cache") == 503; }, scaled(5000ms)));
    REQUIRE(eventually([&] { return rp.status("/groups/workers") == 503; }, scaled(5000ms)));
    CHECK(rp.status("/startupz/cache") == 503);  // the check itself, not the latched group
    CHECK(rp.status("/startupz") == 200);
    const auto j = nlohmann::json::parse(rp.get("/groups/workers?format=json").body);
    CHECK(j["status"] == "not_ready");
    CHECK(j["checks"]["queue"]["status"] == "down");
    CHECK(!j["checks"].contains("cache"));
    CHECK(rp.get("/readyz/cache?verbose").body.find("[-]cache failed: ") == 0);
    redis.start();
    REQUIRE(eventually([&] { return rp.status("/groups/workers") == 200; }, scaled(5000ms)));
}

TEST_CASE("metrics: promtool check metrics accepts /metrics of a running readyprobe at each details level",
          "[observability][metrics][redis]") {
    Redis redis;
    for (const char* details : {"none", "status", "full"}) {
        INFO(details);
        Sidecar rp(with({{"READYPROBE_CHECK_CACHE", redis.url()},
                         {"READYPROBE_CHECK_GONE", "tcp://127.0.0.1:" + std::to_string(free_port())},
                         {"READYPROBE_CHECK_GONE_CRITICAL", "false"},
                         {"READYPROBE_DETAILS", details}}));
        REQUIRE(eventually([&] { return rp.status("/readyz") == 200; }, scaled(5000ms)));
        REQUIRE(eventually([&] { return rp.get("/metrics").body.find("readyprobe_checks{status=\"down\"} 1") !=
                                        std::string::npos; },
                           scaled(5000ms)));
        const std::string m = rp.get("/metrics").body;
        INFO(m);
        CHECK(promtool(m) == "rc=0\n");
        CHECK(m.find("readyprobe_build_info{version=\"") != std::string::npos);
        CHECK(m.find("# TYPE readyprobe_check_duration_seconds histogram") != std::string::npos);
        CHECK(m.find("# TYPE readyprobe_check_transitions_total counter") != std::string::npos);
        if (std::string(details) == "none") {
            CHECK(m.find("check=") == std::string::npos);
            CHECK(m.find("cache") == std::string::npos);
            CHECK(m.find("readyprobe_check_transitions_total{to=\"down\"} 1\n") != std::string::npos);
            CHECK(m.find("readyprobe_check_last_success_timestamp_seconds") == std::string::npos);
        } else {
            CHECK(m.find("readyprobe_check_transitions_total{check=\"gone\",to=\"down\"} 1\n") != std::string::npos);
            CHECK(m.find("readyprobe_check_duration_seconds_count{check=\"cache\"} ") != std::string::npos);
            // The newest success is a Unix time within the last minute; gone never passed.
            const std::string key = "readyprobe_check_last_success_timestamp_seconds{check=\"cache\"} ";
            const auto at = m.find(key);
            REQUIRE(at != std::string::npos);
            const double when = std::stod(m.substr(at + key.size()));
            const double now = static_cast<double>(std::time(nullptr));
            CHECK(when > now - 60);
            CHECK(when < now + 60);
            CHECK(m.find("readyprobe_check_last_success_timestamp_seconds{check=\"gone\"} 0.000\n") != std::string::npos);
        }
    }
    // promtool does fail on a broken exposition (the check above can fail).
    CHECK(promtool("# TYPE x_total counter\nx_total{a=\"1\"} not-a-number\n") != "rc=0\n");
}
