// `readyprobe serve` end to end: the real binary against real PostgreSQL and Redis.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <thread>
#include <nlohmann/json.hpp>

#include <csignal>

using namespace rptest;

namespace {

// Fast timings so faults show within a second or two.
Env fast(Env env) {
    env.emplace("READYPROBE_INTERVAL", "200ms");
    env.emplace("READYPROBE_TIMEOUT", "300ms");
    env.emplace("READYPROBE_DRAIN", "1s");
    return env;
}

}  // namespace

TEST_CASE("all dependencies up: /health - /readyz - /startupz and /livez answer 200", "[serve]") {
    Sidecar rp(fast({{"READYPROBE_CHECK_DB", shared_pg_url()}, {"READYPROBE_CHECK_CACHE", shared_redis_url()}}));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 5000ms));
    CHECK(rp.status("/readyz") == 200);
    CHECK(rp.status("/startupz") == 200);
    CHECK(rp.status("/livez") == 200);
    CHECK(rp.get("/health").body == "ready\n");

    auto verbose = rp.get("/readyz?verbose").body;
    CHECK(verbose.find("[+]db ok") != std::string::npos);
    CHECK(verbose.find("[+]cache ok") != std::string::npos);

    auto json = nlohmann::json::parse(rp.get("/health?format=json").body);
    CHECK(json["status"] == "ready");
    CHECK(json["checks"]["db"]["status"] == "up");
    CHECK(json["checks"]["cache"]["status"] == "up");
    CHECK(nlohmann::json::parse(rp.get("/health", {{"Accept", "application/json"}}).body)["status"] == "ready");

    auto metrics = rp.get("/metrics");
    CHECK(metrics.status == 200);
    CHECK(metrics.body.find("readyprobe_check_up{check=\"db\",kind=\"postgres\"} 1") != std::string::npos);
    CHECK(metrics.body.find("readyprobe_ready 1") != std::string::npos);

    CHECK(get(rp.port(), "/health", {}, "POST").status == 405);
    CHECK(get(rp.port(), "/health", {}, "HEAD").status == 200);
    CHECK(rp.status("/nope") == 404);
}

TEST_CASE("Redis stopped: /health turns 503 in time - /livez stays 200 - /startupz stays latched - back: 200",
          "[serve][fault]") {
    Redis redis;
    Sidecar rp(fast({{"READYPROBE_CHECK_DB", shared_pg_url()}, {"READYPROBE_CHECK_CACHE", redis.url()}}));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 5000ms));

    redis.stop();
    const auto t0 = Clock::now();
    // fall (2) x (interval 200 ms + timeout 300 ms) = 1000 ms, plus a wide margin.
    REQUIRE(eventually([&] { return rp.status("/health") == 503; }, 2500ms, 10ms));
    INFO("detected after " << ms_since(t0) << " ms");
    CHECK(ms_since(t0) < 2500);
    CHECK(rp.status("/livez") == 200);
    CHECK(rp.status("/startupz") == 200);
    auto verbose = rp.get("/health?verbose").body;
    CHECK(verbose.find("[-]cache failed") != std::string::npos);
    CHECK(verbose.find("[+]db ok") != std::string::npos);

    redis.start();
    const auto t1 = Clock::now();
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 2500ms, 10ms));
    INFO("recovered after " << ms_since(t1) << " ms");
}

TEST_CASE("startup gating: nothing is ready until every critical startup check has passed once", "[serve]") {
    Redis redis;
    redis.stop();
    Sidecar rp(fast({{"READYPROBE_CHECK_CACHE", redis.url()}}));
    std::this_thread::sleep_for(600ms);
    CHECK(rp.status("/startupz") == 503);
    CHECK(rp.status("/health") == 503);
    CHECK(rp.status("/livez") == 200);
    CHECK(nlohmann::json::parse(rp.get("/health?format=json").body)["status"] == "not_ready");
    redis.start();
    REQUIRE(eventually([&] { return rp.status("/startupz") == 200; }, 3000ms));
    CHECK(eventually([&] { return rp.status("/health") == 200; }, 3000ms));
}

TEST_CASE("a non-critical check that is down makes the status degraded - still 200", "[serve]") {
    SilentServer hung;
    Sidecar rp(fast({{"READYPROBE_CHECK_DB", shared_pg_url()},
                     {"READYPROBE_CHECK_SEARCH", "tcp://127.0.0.1:1"},
                     {"READYPROBE_CHECK_SEARCH_CRITICAL", "false"}}));
    REQUIRE(eventually([&] { return rp.get("/health").body == "degraded\n"; }, 5000ms));
    CHECK(rp.status("/health") == 200);
    auto json = nlohmann::json::parse(rp.get("/health?format=json").body);
    CHECK(json["status"] == "degraded");
    CHECK(json["checks"]["search"]["status"] == "down");
    CHECK(json["checks"]["search"]["critical"] == false);
}

TEST_CASE("?exclude leaves a failing check out of the verdict", "[serve]") {
    Sidecar rp(fast({{"READYPROBE_CHECK_DB", shared_pg_url()}, {"READYPROBE_CHECK_GONE", "file:///nonexistent/x"},
                     {"READYPROBE_CHECK_GONE_GROUPS", "ready"}}));
    REQUIRE(eventually([&] { return rp.status("/startupz") == 200; }, 5000ms));
    CHECK(rp.status("/health") == 503);
    CHECK(rp.status("/health?exclude=gone") == 200);
    CHECK(rp.get("/health?verbose&exclude=gone").body.find("[-]gone excluded: failed") != std::string::npos);
}

TEST_CASE("a check in the startup group only gates first traffic but does not pull the task out later",
          "[serve]") {
    Redis redis;
    Sidecar rp(fast({{"READYPROBE_CHECK_DB", shared_pg_url()},
                     {"READYPROBE_CHECK_CACHE", redis.url()},
                     {"READYPROBE_CHECK_CACHE_GROUPS", "startup"}}));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 5000ms));
    redis.stop();
    std::this_thread::sleep_for(1500ms);  // well past fall x (interval + timeout)
    CHECK(rp.status("/health") == 200);
    CHECK(rp.status("/startupz") == 200);
    CHECK(rp.get("/startupz?verbose").body.find("[-]cache failed") != std::string::npos);
}

TEST_CASE("SIGTERM: readiness 503 at once - /livez stays 200 - clean exit 0 after the drain", "[serve][drain]") {
    Sidecar rp(fast({{"READYPROBE_CHECK_DB", shared_pg_url()}, {"READYPROBE_DRAIN", "1500ms"}}));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 5000ms));
    const auto t0 = Clock::now();
    rp.process().signal(SIGTERM);
    REQUIRE(eventually([&] { return rp.status("/health") == 503; }, 1000ms, 5ms));
    CHECK(ms_since(t0) < 500);
    CHECK(rp.get("/health").body == "draining\n");
    CHECK(rp.status("/livez") == 200);
    CHECK(nlohmann::json::parse(rp.get("/readyz?format=json").body)["status"] == "draining");
    auto code = rp.process().wait_for(5000ms);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK(ms_since(t0) >= 1400);
    CHECK(rp.process().err().find("SIGTERM received") != std::string::npos);
}

TEST_CASE("a second signal during the drain exits at once", "[serve][drain]") {
    Sidecar rp(fast({{"READYPROBE_CHECK_DB", shared_pg_url()}, {"READYPROBE_DRAIN", "30s"}}));
    rp.process().signal(SIGTERM);
    REQUIRE(eventually([&] { return rp.status("/health") == 503; }, 1000ms, 5ms));
    const auto t0 = Clock::now();
    rp.process().signal(SIGINT);
    auto code = rp.process().wait_for(3000ms);
    REQUIRE(code.has_value());
    CHECK(ms_since(t0) < 2000);
    CHECK(*code != 0);
}

TEST_CASE("JSON log lines: one object per line with time - level and message", "[serve][logs]") {
    Redis redis;
    Sidecar rp(fast({{"READYPROBE_CHECK_CACHE", redis.url()}, {"READYPROBE_LOG_FORMAT", "json"}}));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 5000ms));
    redis.stop();
    REQUIRE(eventually([&] { return rp.status("/health") == 503; }, 3000ms));
    rp.process().signal(SIGTERM);
    REQUIRE(rp.process().wait_for(5000ms).has_value());
    std::istringstream lines(rp.process().err());
    int count = 0;
    int down_transitions = 0;
    for (std::string line; std::getline(lines, line);) {
        INFO(line);
        auto j = nlohmann::json::parse(line);
        CHECK(j.contains("time"));
        CHECK(j.contains("level"));
        CHECK(j.contains("message"));
        if (j["message"].get<std::string>().find("check cache is down") != std::string::npos) ++down_transitions;
        ++count;
    }
    CHECK(count >= 4);
    // Logged once per transition, not once per failing run.
    CHECK(down_transitions == 1);
}
