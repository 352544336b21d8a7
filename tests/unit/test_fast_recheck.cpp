// Fast re-checks while a state changes, backoff while down, and kept connections watched for the
// peer closing them (issue 17): the pure delay rule, and the real Prober with a socketpair.
#include <readyprobe/prober.hpp>
#include <readyprobe/snapshot.hpp>

#include "eventually.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

using namespace readyprobe;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

CheckState state(CheckStatus status, bool last_ok, int consecutive_fail = 0, Duration interval = seconds(5)) {
    CheckState s;
    s.schedule.interval = interval;
    s.schedule.fast_interval = milliseconds(300);
    s.status = status;
    s.last_ok = last_ok;
    s.consecutive_fail = consecutive_fail;
    s.consecutive_ok = last_ok ? 1 : 0;
    return s;
}

long long ms(Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

}  // namespace

TEST_CASE("next_run_delay: settled runs on the interval, a change on the fast interval", "[fast]") {
    CHECK(ms(next_run_delay(state(CheckStatus::up, true)).delay) == 5000);
    CHECK_FALSE(next_run_delay(state(CheckStatus::up, true)).backoff);
    // Up, one failure before FALL: re-run soon so FALL is crossed in well under a second.
    CHECK(ms(next_run_delay(state(CheckStatus::up, false, 1)).delay) == 300);
    // Down but passing, before RISE: recovery is noticed as fast.
    CHECK(ms(next_run_delay(state(CheckStatus::down, true)).delay) == 300);
    // Never longer than the interval itself.
    CHECK(ms(next_run_delay(state(CheckStatus::up, false, 1, milliseconds(100))).delay) == 100);
}

TEST_CASE("next_run_delay: a dependency that stays down is retried with a doubling delay, capped at 1 s",
          "[fast]") {
    std::vector<long long> delays;
    for (int fails = 1; fails <= 6; ++fails) {
        const RunDelay d = next_run_delay(state(CheckStatus::down, false, fails));
        CHECK(d.backoff);
        delays.push_back(ms(d.delay));
    }
    CHECK(delays == std::vector<long long>{300, 600, 1000, 1000, 1000, 1000});
    // Never up yet (unknown) and failing: the same backoff.
    CHECK(ms(next_run_delay(state(CheckStatus::unknown, false, 2)).delay) == 600);
    // With an interval shorter than the cap, the interval is the cap.
    CHECK(ms(next_run_delay(state(CheckStatus::down, false, 9, milliseconds(500))).delay) == 500);
}

namespace {

// A check whose kept "connection" is one end of a socketpair; the test holds the peer end.
class SocketCheck final : public Check {
public:
    SocketCheck() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        mine_ = sv[0];
        peer_ = sv[1];
    }
    ~SocketCheck() override {
        ::close(mine_);
        if (peer_ >= 0) ::close(peer_);
    }
    Result run(Deadline) override {
        ++runs;
        return Result::pass();
    }
    std::string kind() const override { return "socket"; }
    std::vector<int> idle_fds() const override { return {mine_}; }
    void close_peer() {
        ::close(peer_);
        peer_ = -1;
    }
    std::atomic<int> runs{0};

private:
    int mine_ = -1;
    int peer_ = -1;
};

}  // namespace

TEST_CASE("Prober: a kept connection closed by the peer re-runs the check at once, not at the interval",
          "[fast][prober]") {
    auto owned = std::make_unique<SocketCheck>();
    SocketCheck* check = owned.get();
    Prober prober;
    Schedule schedule;
    schedule.interval = seconds(60);
    prober.add("db", std::move(owned), schedule);
    prober.start();
    REQUIRE(rptest_unit::eventually([&] { return check->runs.load() == 1; }, milliseconds(2000)));
    // Idle: the watcher must not spin or re-run the check while nothing happens.
    std::this_thread::sleep_for(milliseconds(300));
    CHECK(check->runs.load() == 1);

    const auto t0 = std::chrono::steady_clock::now();
    check->close_peer();
    REQUIRE(rptest_unit::eventually([&] { return check->runs.load() == 2; }, milliseconds(2000)));
    CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(1000));
    // Watched again after that run: the closed peer is still readable (EOF), so it fires again,
    // but at most once per fast interval (300 ms), never a busy loop of runs.
    std::this_thread::sleep_for(milliseconds(1000));
    CHECK(check->runs.load() <= 2 + 4);
    prober.stop();
}

#include <readyprobe/config.hpp>

TEST_CASE("config: READYPROBE_FAST_INTERVAL and a check's FAST_INTERVAL (the longest option word wins)",
          "[fast][config]") {
    Settings s = load_settings({{"READYPROBE_CHECK_DB", "postgres://db/app"},
                                {"READYPROBE_CHECK_CACHE", "redis://cache"},
                                {"READYPROBE_FAST_INTERVAL", "200ms"},
                                {"READYPROBE_CHECK_DB_FAST_INTERVAL", "150ms"},
                                {"READYPROBE_CHECK_DB_INTERVAL", "5s"}});
    REQUIRE(s.checks.size() == 2);
    const CheckSpec& cache = s.checks[0].name == "cache" ? s.checks[0] : s.checks[1];
    const CheckSpec& db = s.checks[0].name == "db" ? s.checks[0] : s.checks[1];
    CHECK(ms(db.schedule.fast_interval) == 150);
    CHECK(ms(db.schedule.interval) == 5000);
    CHECK(ms(cache.schedule.fast_interval) == 200);
    CHECK(s.to_json().find("\"fast_interval\": \"150ms\"") != std::string::npos);
    CHECK_THROWS_WITH(load_settings({{"READYPROBE_CHECK_DB", "postgres://db/app"},
                                     {"READYPROBE_CHECK_DB_FAST_INTERVAL", "soon"}}),
                      Catch::Contains("READYPROBE_CHECK_DB_FAST_INTERVAL"));
    // The default: a few hundred milliseconds.
    CHECK(ms(load_settings({{"READYPROBE_CHECK_DB", "postgres://db/app"}}).checks.at(0).schedule.fast_interval) == 300);
}
