// The real Prober with function checks and short intervals. Timed assertions use wide margins.
#include <readyprobe/prober.hpp>
#include <readyprobe/snapshot.hpp>

#include "eventually.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace readyprobe;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

using rptest_unit::eventually;

const CheckState* find(const Snapshot& snap, const std::string& name) {
    for (const auto& c : snap.checks) {
        if (c.name == name) return &c;
    }
    return nullptr;
}

CheckStatus status_of(const Prober& p, const std::string& name) {
    const auto snap = p.snapshot();
    const CheckState* s = find(*snap, name);
    return s ? s->status : CheckStatus::unknown;
}

Schedule fast_schedule(int rise = 1, int fall = 2, milliseconds interval = milliseconds(20),
                       milliseconds timeout = milliseconds(200)) {
    Schedule s;
    s.interval = interval;
    s.timeout = timeout;
    s.rise = rise;
    s.fall = fall;
    return s;
}

ProberOptions no_jitter() {
    ProberOptions o;
    o.jitter = 0;
    return o;
}

}  // namespace

TEST_CASE("Prober: before start nothing runs, start runs the checks and they turn up", "[prober]") {
    std::atomic<int> runs{0};
    std::atomic<int> startups{0};
    ProberOptions options = no_jitter();
    options.on_startup = [&] { ++startups; };
    Prober prober(options);
    prober.add("db", make_function_check([&](Deadline) {
                   ++runs;
                   return Result::pass("fine");
               }),
               fast_schedule());
    prober.add("cache", make_function_check([](Deadline) { return Result::pass(); }, "custom-kind"),
               fast_schedule());

    auto snap = prober.snapshot();
    REQUIRE(snap->checks.size() == 2);
    CHECK(snap->checks[0].name == "db");
    CHECK(snap->checks[0].status == CheckStatus::unknown);
    CHECK(snap->checks[1].kind == "custom-kind");
    CHECK_FALSE(snap->startup_latched);
    std::this_thread::sleep_for(milliseconds(60));
    CHECK(runs == 0);

    prober.start();
    REQUIRE(eventually([&] {
        return status_of(prober, "db") == CheckStatus::up && status_of(prober, "cache") == CheckStatus::up;
    }));
    snap = prober.snapshot();
    CHECK(snap->startup_latched);
    CHECK(find(*snap, "db")->message == "fine");
    CHECK(evaluate(*snap, "ready", prober.now()).http_status == 200);
    CHECK(evaluate(*snap, "startup", prober.now()).http_status == 200);
    REQUIRE(eventually([&] { return startups.load() == 1; }));

    // It keeps running on its interval; startup is announced once only.
    const int seen = runs;
    REQUIRE(eventually([&] { return runs >= seen + 3; }));
    CHECK(startups == 1);
    CHECK(prober.snapshot()->version > snap->version);
    prober.stop();
}

TEST_CASE("Prober: startup does not latch while a critical startup check fails", "[prober]") {
    std::atomic<bool> healthy{false};
    Prober prober(no_jitter());
    prober.add("db", make_function_check([&](Deadline) {
                   return healthy ? Result::pass() : Result::fail("not yet");
               }),
               fast_schedule());
    prober.start();
    REQUIRE(eventually([&] { return status_of(prober, "db") == CheckStatus::down; }));
    std::this_thread::sleep_for(milliseconds(60));
    auto snap = prober.snapshot();
    CHECK_FALSE(snap->startup_latched);
    CHECK(evaluate(*snap, "startup", prober.now()).http_status == 503);
    CHECK(evaluate(*snap, "ready", prober.now()).http_status == 503);

    healthy = true;
    REQUIRE(eventually([&] { return prober.snapshot()->startup_latched; }));
    // Latched: a later failure takes readiness away, not startup.
    healthy = false;
    REQUIRE(eventually([&] { return status_of(prober, "db") == CheckStatus::down; }));
    snap = prober.snapshot();
    CHECK(snap->startup_latched);
    CHECK(evaluate(*snap, "startup", prober.now()).http_status == 200);
    CHECK(evaluate(*snap, "ready", prober.now()).http_status == 503);
}

// Regression: the latch used to need every critical startup check up at the same moment.
TEST_CASE("Prober: startup latches once every startup check has passed once, not all at once", "[prober]") {
    std::atomic<int> a_runs{0};
    std::atomic<bool> b_ok{false};
    std::atomic<int> startups{0};
    ProberOptions options = no_jitter();
    options.on_startup = [&] { ++startups; };
    Prober prober(options);
    prober.add("a", make_function_check([&](Deadline) {
                   return ++a_runs == 1 ? Result::pass() : Result::fail("blip");
               }),
               fast_schedule(1, 1));
    prober.add("b", make_function_check([&](Deadline) {
                   return b_ok ? Result::pass() : Result::fail("slow start");
               }),
               fast_schedule(1, 1));
    prober.start();
    // a passed once, then went down; b has not passed yet.
    REQUIRE(eventually([&] { return a_runs >= 3 && status_of(prober, "a") == CheckStatus::down; }));
    CHECK_FALSE(prober.snapshot()->startup_latched);
    CHECK(evaluate(*prober.snapshot(), "startup", prober.now()).http_status == 503);

    b_ok = true;
    REQUIRE(eventually([&] { return prober.snapshot()->startup_latched; }));
    const auto snap = prober.snapshot();
    CHECK(find(*snap, "a")->status == CheckStatus::down);
    CHECK(evaluate(*snap, "startup", prober.now()).http_status == 200);
    CHECK(evaluate(*snap, "ready", prober.now()).http_status == 503);  // a is down
    REQUIRE(eventually([&] { return startups.load() == 1; }));
}

TEST_CASE("Prober: no startup checks means latched at start", "[prober]") {
    Prober prober(no_jitter());
    Schedule live = fast_schedule();
    live.groups = {"live"};
    prober.add("loop", make_function_check([](Deadline) { return Result::fail("x"); }), live);
    prober.start();
    CHECK(prober.snapshot()->startup_latched);
}

TEST_CASE("Prober: a failing check turns down only after `fall` consecutive failures", "[prober]") {
    std::atomic<bool> healthy{true};
    Prober prober(no_jitter());
    prober.add("db", make_function_check([&](Deadline) {
                   return healthy ? Result::pass() : Result::fail("connection refused");
               }),
               fast_schedule(1, 3));
    prober.start();
    REQUIRE(eventually([&] { return status_of(prober, "db") == CheckStatus::up; }));

    healthy = false;
    bool wrongly_down = false;
    const bool went_down = eventually([&] {
        const auto snap = prober.snapshot();
        const CheckState& s = *find(*snap, "db");
        if (s.consecutive_fail > 0 && s.consecutive_fail < 3) {
            if (s.status == CheckStatus::down) wrongly_down = true;
        }
        return s.status == CheckStatus::down;
    });
    REQUIRE(went_down);
    CHECK_FALSE(wrongly_down);
    const auto snap = prober.snapshot();
    CHECK(find(*snap, "db")->consecutive_fail >= 3);
    CHECK(find(*snap, "db")->message == "connection refused");
    CHECK(find(*snap, "db")->runs_failed >= 3);
}

TEST_CASE("Prober: a check stuck past its timeout is reported, never run twice at once, "
          "and does not hold up other checks", "[prober][timeout]") {
    std::atomic<int> slow_active{0};
    std::atomic<int> slow_max{0};
    std::atomic<int> slow_calls{0};
    std::atomic<int> fast_runs{0};
    Prober prober(no_jitter());
    prober.add("slow", make_function_check([&](Deadline) {
                   ++slow_calls;
                   const int now_active = ++slow_active;
                   int prev = slow_max.load();
                   while (now_active > prev && !slow_max.compare_exchange_weak(prev, now_active)) {
                   }
                   std::this_thread::sleep_for(milliseconds(600));  // ignores its deadline
                   --slow_active;
                   return Result::pass("too late");
               }),
               fast_schedule(1, 1, milliseconds(30), milliseconds(50)));
    prober.add("fast", make_function_check([&](Deadline) {
                   ++fast_runs;
                   return Result::pass();
               }),
               fast_schedule(1, 2, milliseconds(20), milliseconds(200)));
    const auto t0 = SteadyClock::now();
    prober.start();

    // Reported as a timeout while it is still running.
    REQUIRE(eventually([&] { return status_of(prober, "slow") == CheckStatus::down; }));
    const auto reported_after = SteadyClock::now() - t0;
    {
        const auto snap = prober.snapshot();
        const CheckState& s = *find(*snap, "slow");
        CHECK(s.message == "timeout after 50 ms");
        CHECK(s.runs_timeout >= 1);
        CHECK(s.runs_ok == 0);
    }
    CHECK(slow_active == 1);
    CHECK(reported_after < milliseconds(500));

    // Meanwhile the fast check keeps running on schedule.
    const int fast_before = fast_runs;
    std::this_thread::sleep_for(milliseconds(200));
    CHECK(slow_active == 1);          // the first slow run is still in progress...
    CHECK(slow_calls == 1);           // ...and no second one was started
    CHECK(fast_runs >= fast_before + 3);
    CHECK(status_of(prober, "fast") == CheckStatus::up);

    // The slow check is started again only after its run returns; its late pass is not
    // counted as a pass.
    REQUIRE(eventually([&] { return slow_calls >= 2; }));
    CHECK(SteadyClock::now() - t0 >= milliseconds(550));
    {
        const auto snap = prober.snapshot();
        const CheckState& s = *find(*snap, "slow");
        CHECK(s.runs_ok == 0);
        CHECK(s.status == CheckStatus::down);
    }
    const auto stop_begin = SteadyClock::now();
    prober.stop();
    CHECK(SteadyClock::now() - stop_begin < milliseconds(1500));
    CHECK(slow_max == 1);
    CHECK(slow_active == 0);
}

TEST_CASE("Prober: a check that returns after its deadline is a timeout", "[prober][timeout]") {
    Prober prober(no_jitter());
    prober.add("late", make_function_check([](Deadline deadline) {
                   std::this_thread::sleep_until(deadline + milliseconds(20));
                   return Result::pass("finished late");
               }),
               fast_schedule(1, 1, milliseconds(30), milliseconds(40)));
    prober.start();
    REQUIRE(eventually([&] { return status_of(prober, "late") == CheckStatus::down; }));
    const auto snap = prober.snapshot();
    CHECK(find(*snap, "late")->message == "timeout after 40 ms");
    CHECK(find(*snap, "late")->runs_ok == 0);
}

TEST_CASE("Prober: drain() turns the ready verdict into draining", "[prober]") {
    Prober prober(no_jitter());
    Schedule s = fast_schedule();
    s.groups = {"ready", "startup", "live"};
    prober.add("db", make_function_check([](Deadline) { return Result::pass(); }), s);
    prober.start();
    REQUIRE(eventually([&] { return status_of(prober, "db") == CheckStatus::up; }));
    CHECK(evaluate(*prober.snapshot(), "ready", prober.now()).verdict == Verdict::ready);
    CHECK_FALSE(prober.draining());

    prober.drain();
    CHECK(prober.draining());
    const auto snap = prober.snapshot();
    CHECK(snap->draining);
    const GroupResult ready = evaluate(*snap, "ready", prober.now());
    CHECK(ready.verdict == Verdict::draining);
    CHECK(ready.http_status == 503);
    CHECK(evaluate(*snap, "live", prober.now()).http_status == 200);
    // It stays draining as new results arrive.
    const auto version = snap->version;
    REQUIRE(eventually([&] { return prober.snapshot()->version > version + 2; }));
    CHECK(evaluate(*prober.snapshot(), "ready", prober.now()).verdict == Verdict::draining);
    prober.drain();  // idempotent
    CHECK(prober.draining());
}

TEST_CASE("Prober: an exception thrown by a check is a failed result with its message", "[prober]") {
    Prober prober(no_jitter());
    prober.add("thrower", make_function_check([](Deadline) -> Result {
                   throw std::runtime_error("boom: cache not primed");
               }),
               fast_schedule());
    prober.add("weird", make_function_check([](Deadline) -> Result { throw 42; }), fast_schedule());
    prober.start();
    REQUIRE(eventually([&] {
        return status_of(prober, "thrower") == CheckStatus::down &&
               status_of(prober, "weird") == CheckStatus::down;
    }));
    const auto snap = prober.snapshot();
    const CheckState& t = *find(*snap, "thrower");
    CHECK_THAT(t.message, Catch::Matchers::Contains("boom: cache not primed"));
    CHECK(t.runs_failed >= 1);
    CHECK(t.runs_timeout == 0);
    CHECK_FALSE(find(*snap, "weird")->message.empty());
    CHECK(find(*snap, "weird")->runs_failed >= 1);
    // The prober keeps running them.
    const auto failed = t.runs_failed;
    REQUIRE(eventually([&] { return find(*prober.snapshot(), "thrower")->runs_failed > failed + 1; }));
}

TEST_CASE("Prober: on_transition is called exactly once per transition", "[prober]") {
    std::atomic<bool> healthy{true};
    std::atomic<int> runs{0};
    std::mutex mu;
    std::vector<Transition> seen;
    ProberOptions options = no_jitter();
    options.on_transition = [&](const Transition& t) {
        std::lock_guard<std::mutex> lock(mu);
        seen.push_back(t);
    };
    Prober prober(options);
    prober.add("db", make_function_check([&](Deadline) {
                   ++runs;
                   return healthy ? Result::pass("ok") : Result::fail("refused");
               }),
               fast_schedule(1, 2));
    prober.start();
    auto transitions = [&] {
        std::lock_guard<std::mutex> lock(mu);
        return seen.size();
    };
    REQUIRE(eventually([&] { return transitions() == 1; }));
    int r = runs;
    REQUIRE(eventually([&] { return runs >= r + 4; }));

    healthy = false;
    REQUIRE(eventually([&] { return transitions() == 2; }));
    r = runs;
    REQUIRE(eventually([&] { return runs >= r + 4; }));

    healthy = true;
    REQUIRE(eventually([&] { return transitions() == 3; }));
    r = runs;
    REQUIRE(eventually([&] { return runs >= r + 4; }));
    prober.stop();

    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].check == "db");
    CHECK(seen[0].from == CheckStatus::unknown);
    CHECK(seen[0].to == CheckStatus::up);
    CHECK(seen[1].from == CheckStatus::up);
    CHECK(seen[1].to == CheckStatus::down);
    CHECK(seen[1].reason == "refused");
    CHECK(seen[2].from == CheckStatus::down);
    CHECK(seen[2].to == CheckStatus::up);
    CHECK(seen[2].reason == "ok");
}

TEST_CASE("Prober: stop() returns, joins, and no check runs afterwards", "[prober]") {
    std::atomic<int> runs{0};
    auto prober = std::make_unique<Prober>(no_jitter());
    prober->add("db", make_function_check([&](Deadline) {
                    ++runs;
                    return Result::pass();
                }),
                fast_schedule());
    prober->start();
    REQUIRE(eventually([&] { return runs >= 3; }));
    const auto begin = SteadyClock::now();
    prober->stop();
    CHECK(SteadyClock::now() - begin < milliseconds(1000));
    const int after_stop = runs;
    std::this_thread::sleep_for(milliseconds(100));
    CHECK(runs == after_stop);
    prober->stop();  // idempotent
    CHECK(prober->snapshot()->checks.size() == 1);  // the last snapshot stays readable
    prober.reset();  // the destructor after stop() is fine
    CHECK(runs == after_stop);
}

TEST_CASE("Prober: the destructor stops a running prober", "[prober]") {
    std::atomic<int> runs{0};
    {
        Prober prober(no_jitter());
        prober.add("db", make_function_check([&](Deadline) {
                       ++runs;
                       return Result::pass();
                   }),
                   fast_schedule());
        prober.start();
        REQUIRE(eventually([&] { return runs >= 2; }));
    }
    const int after = runs;
    std::this_thread::sleep_for(milliseconds(60));
    CHECK(runs == after);
}

TEST_CASE("Prober: add() validates its arguments", "[prober]") {
    Prober prober(no_jitter());
    auto ok = [] { return make_function_check([](Deadline) { return Result::pass(); }); };
    prober.add("db", ok(), fast_schedule());
    CHECK_THROWS_AS(prober.add("db", ok(), fast_schedule()), std::invalid_argument);
    CHECK_THROWS_AS(prober.add("x", nullptr, fast_schedule()), std::invalid_argument);
    CHECK_THROWS_AS(prober.add("x", ok(), fast_schedule(0, 2)), std::invalid_argument);
    CHECK_THROWS_AS(prober.add("x", ok(), fast_schedule(1, 0)), std::invalid_argument);
    CHECK_THROWS_AS(prober.add("x", ok(), fast_schedule(1, 2, milliseconds(0))), std::invalid_argument);
    CHECK_THROWS_AS(make_function_check(nullptr), std::invalid_argument);
    prober.start();
    CHECK_THROWS_AS(prober.add("late", ok(), fast_schedule()), std::logic_error);
    CHECK(prober.snapshot()->checks.size() == 1);
}

TEST_CASE("Prober: results are stamped with the injected clock", "[prober][stale]") {
    auto clock = std::make_shared<ManualClock>();
    ProberOptions options = no_jitter();
    options.clock = clock;
    Prober prober(options);
    Schedule s = fast_schedule();
    s.interval = milliseconds(20);
    prober.add("db", make_function_check([](Deadline) { return Result::pass(); }), s);
    prober.start();
    REQUIRE(eventually([&] { return status_of(prober, "db") == CheckStatus::up; }));
    CHECK(prober.now() == clock->now());
    auto snap = prober.snapshot();
    REQUIRE(find(*snap, "db")->last_result);
    CHECK(*find(*snap, "db")->last_result == clock->now());
    CHECK(evaluate(*snap, "ready", prober.now()).http_status == 200);

    // A snapshot whose newest result is older than interval + timeout + 1 s is stale.
    prober.stop();
    clock->advance(seconds(5));
    snap = prober.snapshot();
    const GroupResult r = evaluate(*snap, "ready", prober.now());
    CHECK(r.http_status == 503);
    REQUIRE(r.checks.size() == 1);
    CHECK(r.checks[0].stale);
}
