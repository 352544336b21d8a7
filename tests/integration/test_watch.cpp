// Watched connections and fast re-checks against real servers (issue 17): at a 5 s interval a
// death is noticed through the kept connection, not at the next scheduled run.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace rptest;

namespace {


Env slow_schedule(const std::string& name, const std::string& url) {
    Env env = base_env();
    env["READYPROBE_CHECK_" + name] = url;
    env["READYPROBE_INTERVAL"] = "5s";
    env["READYPROBE_TIMEOUT"] = "1s";
    env["READYPROBE_FALL"] = "2";
    env["READYPROBE_LOG_LEVEL"] = "info";
    return env;
}

}  // namespace

TEST_CASE("watch: PostgreSQL stopped at a 5 s interval turns /health 503 long before the interval, back fast",
          "[watch][postgres]") {
    Postgres pg;
    Sidecar rp(slow_schedule("DB", pg.url()));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, scaled(5000ms)));
    std::this_thread::sleep_for(300ms);  // mid-interval: the next scheduled run is ~5 s away

    const auto t0 = Clock::now();
    pg.stop();  // pg_ctl stop -m immediate
    // Without the watch this takes FALL x interval (10 s); the target is 500 ms, the bound wide.
    REQUIRE(eventually([&] { return rp.status("/health") == 503; }, scaled(3000ms), 10ms));
    const double detected = ms_since(t0);
    INFO("detected after " << detected << " ms");
    CHECK(detected < 3000 * kSlowdown);
    CHECK(has(rp.process().err(), "closed by the peer"));

    const auto t1 = Clock::now();
    pg.start();
    // Down: retried with backoff capped at 1 s, not at the 5 s interval.
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, scaled(4000ms), 10ms));
    INFO("recovered " << ms_since(t1) << " ms after the start command");
}

TEST_CASE("watch: a terminated backend reconnects at once and never turns the check down", "[watch][postgres]") {
    Postgres pg;
    Sidecar rp(slow_schedule("DB", pg.url()));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, scaled(5000ms)));
    const std::string before = pg.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'readyprobe'");
    REQUIRE(!before.empty());

    pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'readyprobe'");
    const auto t0 = Clock::now();
    bool flapped = false;
    std::string after;
    while (ms_since(t0) < 3000) {
        if (rp.status("/health") != 200) flapped = true;
        if (after.empty()) {
            after = pg.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'readyprobe'");
            if (!after.empty()) INFO("reconnected after " << ms_since(t0) << " ms");
        }
        std::this_thread::sleep_for(50ms);
    }
    CHECK_FALSE(flapped);
    // A new backend, well before the next scheduled run (5 s).
    CHECK(!after.empty());
    CHECK(after != before);
    CHECK(has(rp.process().err(), "closed by the peer"));
}

TEST_CASE("watch: Redis killed (SIGKILL) at a 5 s interval turns /health 503 long before the interval",
          "[watch][redis]") {
    Redis redis;
    Sidecar rp(slow_schedule("CACHE", redis.url()));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, scaled(5000ms)));
    std::this_thread::sleep_for(300ms);
    const auto t0 = Clock::now();
    redis.kill();
    REQUIRE(eventually([&] { return rp.status("/health") == 503; }, scaled(3000ms), 10ms));
    INFO("detected after " << ms_since(t0) << " ms");
    CHECK(ms_since(t0) < 3000 * kSlowdown);
    CHECK(has(rp.process().err(), "closed by the peer"));
}
