// The pure state machine: record(), staleness and group verdicts, driven by a ManualClock.
#include <readyprobe/clock.hpp>
#include <readyprobe/snapshot.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace readyprobe;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

CheckState make_state(const std::string& name, int rise = 1, int fall = 2,
                      std::vector<std::string> groups = {"ready", "startup"}, bool critical = true) {
    CheckState s;
    s.name = name;
    s.kind = "function";
    s.schedule.rise = rise;
    s.schedule.fall = fall;
    s.schedule.groups = std::move(groups);
    s.schedule.critical = critical;
    return s;
}

// A check that has been brought to `up` (or `down`) at the clock's time.
CheckState state_at(const std::string& name, bool up, const ManualClock& clock,
                    std::vector<std::string> groups = {"ready", "startup"}, bool critical = true) {
    CheckState s = make_state(name, 1, 1, std::move(groups), critical);
    record(s, up ? Result::pass() : Result::fail("refused"), milliseconds(3), clock.now());
    REQUIRE(s.status == (up ? CheckStatus::up : CheckStatus::down));
    return s;
}

const CheckLine* line_of(const GroupResult& r, const std::string& name) {
    for (const auto& line : r.checks) {
        if (line.state->name == name) return &line;
    }
    return nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// record()

TEST_CASE("record: rise=1 fall=2, one failure keeps a check up, two turn it down", "[snapshot]") {
    ManualClock clock;
    CheckState s = make_state("db", 1, 2);
    CHECK(s.status == CheckStatus::unknown);

    auto t = record(s, Result::pass("ok"), milliseconds(4), clock.now());
    REQUIRE(t);
    CHECK(t->check == "db");
    CHECK(t->from == CheckStatus::unknown);
    CHECK(t->to == CheckStatus::up);
    CHECK(t->reason == "ok");
    CHECK(s.status == CheckStatus::up);

    clock.advance(seconds(2));
    CHECK_FALSE(record(s, Result::pass("ok"), milliseconds(4), clock.now()));
    CHECK(s.status == CheckStatus::up);

    clock.advance(seconds(2));
    CHECK_FALSE(record(s, Result::fail("connection refused"), milliseconds(1), clock.now()));
    CHECK(s.status == CheckStatus::up);
    CHECK(s.consecutive_fail == 1);

    clock.advance(seconds(2));
    t = record(s, Result::fail("connection refused again"), milliseconds(1), clock.now());
    REQUIRE(t);
    CHECK(t->from == CheckStatus::up);
    CHECK(t->to == CheckStatus::down);
    CHECK(t->reason == "connection refused again");
    CHECK(s.status == CheckStatus::down);
    CHECK(s.since == clock.now());

    // Further failures are no transition.
    clock.advance(seconds(2));
    CHECK_FALSE(record(s, Result::fail("still refused"), milliseconds(1), clock.now()));
    CHECK(s.status == CheckStatus::down);

    // One pass brings it back with rise=1.
    clock.advance(seconds(2));
    t = record(s, Result::pass("back"), milliseconds(2), clock.now());
    REQUIRE(t);
    CHECK(t->from == CheckStatus::down);
    CHECK(t->to == CheckStatus::up);
    CHECK(t->reason == "back");
}

TEST_CASE("record: a pass between failures resets the fall count", "[snapshot]") {
    ManualClock clock;
    CheckState s = make_state("db", 1, 2);
    record(s, Result::pass(), {}, clock.now());
    for (int i = 0; i < 5; ++i) {
        CHECK_FALSE(record(s, Result::fail("blip"), {}, clock.now()));
        CHECK_FALSE(record(s, Result::pass(), {}, clock.now()));
    }
    CHECK(s.status == CheckStatus::up);
}

TEST_CASE("record: rise=3 needs three consecutive passes", "[snapshot]") {
    ManualClock clock;
    CheckState s = make_state("db", 3, 2);
    CHECK_FALSE(record(s, Result::pass(), {}, clock.now()));
    CHECK_FALSE(record(s, Result::pass(), {}, clock.now()));
    CHECK(s.status == CheckStatus::unknown);
    auto t = record(s, Result::pass("third"), {}, clock.now());
    REQUIRE(t);
    CHECK(t->to == CheckStatus::up);
    CHECK(t->from == CheckStatus::unknown);

    // Down, then two passes and a failure: the passes start over.
    record(s, Result::fail("x"), {}, clock.now());
    REQUIRE(record(s, Result::fail("x"), {}, clock.now()));
    CHECK(s.status == CheckStatus::down);
    CHECK_FALSE(record(s, Result::pass(), {}, clock.now()));
    CHECK_FALSE(record(s, Result::pass(), {}, clock.now()));
    CHECK_FALSE(record(s, Result::fail("y"), {}, clock.now()));
    CHECK_FALSE(record(s, Result::pass(), {}, clock.now()));
    CHECK_FALSE(record(s, Result::pass(), {}, clock.now()));
    CHECK(s.status == CheckStatus::down);
    t = record(s, Result::pass(), {}, clock.now());
    REQUIRE(t);
    CHECK(t->to == CheckStatus::up);
}

TEST_CASE("record: the first failure from unknown turns a check down at once", "[snapshot]") {
    ManualClock clock;
    CheckState s = make_state("db", 1, 3);
    auto t = record(s, Result::fail("no route to host"), milliseconds(7), clock.now());
    REQUIRE(t);
    CHECK(t->from == CheckStatus::unknown);
    CHECK(t->to == CheckStatus::down);
    CHECK(t->reason == "no route to host");
    CHECK(s.status == CheckStatus::down);
}

TEST_CASE("record: exactly one transition per change, not one per run", "[snapshot]") {
    ManualClock clock;
    CheckState s = make_state("db", 2, 2);
    // pass pass pass fail fail fail fail pass pass pass
    const bool runs[] = {true, true, true, false, false, false, false, true, true, true};
    std::vector<Transition> transitions;
    for (bool ok : runs) {
        clock.advance(seconds(1));
        if (auto t = record(s, ok ? Result::pass() : Result::fail("down"), {}, clock.now())) {
            transitions.push_back(*t);
        }
    }
    REQUIRE(transitions.size() == 3);
    CHECK(transitions[0].to == CheckStatus::up);
    CHECK(transitions[1].to == CheckStatus::down);
    CHECK(transitions[1].from == CheckStatus::up);
    CHECK(transitions[2].to == CheckStatus::up);
}

TEST_CASE("record: counters, message, duration and timestamps", "[snapshot]") {
    ManualClock clock;
    CheckState s = make_state("db", 1, 2);
    const TimePoint t0 = clock.now();
    record(s, Result::pass("ok"), milliseconds(12), clock.now());
    clock.advance(seconds(2));
    record(s, Result::pass("ok"), milliseconds(10), clock.now());
    clock.advance(seconds(2));
    record(s, Result::fail("refused"), milliseconds(1), clock.now());
    clock.advance(seconds(2));
    record(s, Result::timeout(milliseconds(1000)), milliseconds(1000), clock.now());
    clock.advance(seconds(2));
    record(s, Result::timeout(milliseconds(1000)), milliseconds(1001), clock.now());

    CHECK(s.runs_ok == 2);
    CHECK(s.runs_failed == 1);
    CHECK(s.runs_timeout == 2);
    CHECK(s.consecutive_fail == 3);
    CHECK(s.consecutive_ok == 0);
    CHECK_FALSE(s.last_ok);
    CHECK(s.message == "timeout after 1000 ms");
    CHECK(s.last_duration == milliseconds(1001));
    REQUIRE(s.last_result);
    CHECK(*s.last_result == clock.now());
    CHECK(s.status == CheckStatus::down);
    // `since` is when it went down (the second failure), not the newest run.
    CHECK(s.since == t0 + seconds(6));
}

TEST_CASE("Result::timeout message names the deadline in ms", "[snapshot]") {
    const Result r = Result::timeout(milliseconds(50));
    CHECK_FALSE(r.ok);
    CHECK(r.timed_out);
    CHECK(r.message == "timeout after 50 ms");
    CHECK(Result::pass().ok);
    CHECK_FALSE(Result::fail("x").timed_out);
}

// ---------------------------------------------------------------------------------------------
// Staleness

TEST_CASE("is_stale / effective_status: an up check with an old result counts as down", "[snapshot][stale]") {
    ManualClock clock;
    CheckState s = make_state("db");
    s.schedule.interval = seconds(2);
    s.schedule.timeout = seconds(1);
    CHECK_FALSE(is_stale(s, clock.now()));  // never run: unknown, not stale
    CHECK(effective_status(s, clock.now()) == CheckStatus::unknown);

    record(s, Result::pass(), {}, clock.now());
    const TimePoint t0 = clock.now();
    CHECK_FALSE(is_stale(s, t0));
    CHECK(effective_status(s, t0) == CheckStatus::up);
    // interval + timeout + 1 s = 4 s
    CHECK_FALSE(is_stale(s, t0 + seconds(4)));
    CHECK(effective_status(s, t0 + seconds(4)) == CheckStatus::up);
    CHECK(is_stale(s, t0 + seconds(4) + milliseconds(1)));
    CHECK(effective_status(s, t0 + seconds(4) + milliseconds(1)) == CheckStatus::down);
    CHECK(effective_status(s, t0 + seconds(60)) == CheckStatus::down);
    CHECK(s.status == CheckStatus::up);  // the state itself is unchanged

    // A fresh result makes it up again.
    clock.advance(seconds(10));
    record(s, Result::pass(), {}, clock.now());
    CHECK(effective_status(s, clock.now()) == CheckStatus::up);
}

TEST_CASE("is_stale uses the check's own interval and timeout", "[snapshot][stale]") {
    ManualClock clock;
    CheckState s = make_state("slow");
    s.schedule.interval = seconds(30);
    s.schedule.timeout = seconds(5);
    record(s, Result::pass(), {}, clock.now());
    CHECK(effective_status(s, clock.now() + seconds(35)) == CheckStatus::up);
    CHECK(effective_status(s, clock.now() + seconds(37)) == CheckStatus::down);
}

TEST_CASE("evaluate: a stale check makes ready fail and is marked stale", "[snapshot][stale]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(state_at("db", true, clock));
    snap.startup_latched = true;
    CHECK(evaluate(snap, "ready", clock.now()).http_status == 200);
    const TimePoint later = clock.now() + seconds(10);
    const GroupResult r = evaluate(snap, "ready", later);
    CHECK(r.verdict == Verdict::not_ready);
    CHECK(r.http_status == 503);
    REQUIRE(line_of(r, "db"));
    CHECK(line_of(r, "db")->stale);
    CHECK(line_of(r, "db")->status == CheckStatus::down);
}

// ---------------------------------------------------------------------------------------------
// evaluate()

TEST_CASE("evaluate ready: needs the startup latch and every critical ready check up", "[snapshot][evaluate]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(state_at("db", true, clock));
    snap.checks.push_back(state_at("cache", true, clock));

    snap.startup_latched = false;
    GroupResult r = evaluate(snap, "ready", clock.now());
    CHECK(r.verdict == Verdict::not_ready);
    CHECK(r.http_status == 503);
    CHECK_FALSE(r.reason.empty());

    snap.startup_latched = true;
    r = evaluate(snap, "ready", clock.now());
    CHECK(r.verdict == Verdict::ready);
    CHECK(r.http_status == 200);
    CHECK(r.group == "ready");
    REQUIRE(r.checks.size() == 2);
    CHECK(r.checks[0].state->name == "db");  // configuration order
    CHECK(r.checks[1].state->name == "cache");

    snap.checks[1] = state_at("cache", false, clock);
    r = evaluate(snap, "ready", clock.now());
    CHECK(r.verdict == Verdict::not_ready);
    CHECK(r.http_status == 503);
    CHECK(r.reason.find("cache") != std::string::npos);
}

TEST_CASE("evaluate ready: a check that has not run yet counts as down", "[snapshot][evaluate]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(state_at("db", true, clock));
    snap.checks.push_back(make_state("new"));
    snap.startup_latched = true;
    const GroupResult r = evaluate(snap, "ready", clock.now());
    CHECK(r.http_status == 503);
    REQUIRE(line_of(r, "new"));
    CHECK(line_of(r, "new")->status == CheckStatus::unknown);
}

TEST_CASE("evaluate: draining makes ready 503 even when all checks are up", "[snapshot][evaluate]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(state_at("db", true, clock, {"ready", "startup", "live"}));
    snap.startup_latched = true;
    snap.draining = true;
    const GroupResult r = evaluate(snap, "ready", clock.now());
    CHECK(r.verdict == Verdict::draining);
    CHECK(r.http_status == 503);
    // Liveness and startup do not care about draining.
    CHECK(evaluate(snap, "live", clock.now()).http_status == 200);
    CHECK(evaluate(snap, "startup", clock.now()).http_status == 200);
}

TEST_CASE("evaluate live: no live checks is 200, a live check down is 503", "[snapshot][evaluate]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(state_at("db", false, clock));  // ready,startup only
    GroupResult r = evaluate(snap, "live", clock.now());
    CHECK(r.http_status == 200);
    CHECK(r.verdict == Verdict::ready);
    CHECK(r.checks.empty());

    snap.checks.push_back(state_at("loop", false, clock, {"live"}));
    r = evaluate(snap, "live", clock.now());
    CHECK(r.http_status == 503);
    CHECK(r.verdict == Verdict::not_ready);
    REQUIRE(r.checks.size() == 1);
    CHECK(r.checks[0].state->name == "loop");
}

TEST_CASE("evaluate: a non-critical check down makes the group degraded, still 200", "[snapshot][evaluate]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(state_at("db", true, clock));
    snap.checks.push_back(state_at("cache", false, clock, {"ready", "startup"}, false));
    snap.startup_latched = true;
    GroupResult r = evaluate(snap, "ready", clock.now());
    CHECK(r.verdict == Verdict::degraded);
    CHECK(r.http_status == 200);

    // A critical check down wins over degraded.
    snap.checks[0] = state_at("db", false, clock);
    r = evaluate(snap, "ready", clock.now());
    CHECK(r.verdict == Verdict::not_ready);
    CHECK(r.http_status == 503);
}

TEST_CASE("evaluate startup: latched stays 200 when its checks later go down", "[snapshot][evaluate]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(state_at("db", false, clock));
    snap.startup_latched = false;
    GroupResult r = evaluate(snap, "startup", clock.now());
    CHECK(r.http_status == 503);

    snap.startup_latched = true;
    r = evaluate(snap, "startup", clock.now());
    CHECK(r.http_status == 200);
    CHECK(r.verdict == Verdict::ready);
    // ... while ready fails for the same state.
    CHECK(evaluate(snap, "ready", clock.now()).http_status == 503);
}

TEST_CASE("evaluate: a startup-only check does not affect ready after the latch", "[snapshot][evaluate]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(state_at("app", true, clock));
    snap.checks.push_back(state_at("shared_db", false, clock, {"startup"}));
    snap.startup_latched = true;
    const GroupResult ready = evaluate(snap, "ready", clock.now());
    CHECK(ready.http_status == 200);
    CHECK(ready.verdict == Verdict::ready);
    CHECK(line_of(ready, "shared_db") == nullptr);
    CHECK(evaluate(snap, "startup", clock.now()).http_status == 200);
}

TEST_CASE("evaluate: an excluded failing check does not count", "[snapshot][evaluate]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(state_at("db", true, clock));
    snap.checks.push_back(state_at("cache", false, clock));
    snap.startup_latched = true;
    CHECK(evaluate(snap, "ready", clock.now()).http_status == 503);

    const GroupResult r = evaluate(snap, "ready", clock.now(), {"cache"});
    CHECK(r.http_status == 200);
    CHECK(r.verdict == Verdict::ready);
    REQUIRE(line_of(r, "cache"));
    CHECK(line_of(r, "cache")->excluded);
    CHECK_FALSE(line_of(r, "db")->excluded);

    // Excluding another check does not help.
    CHECK(evaluate(snap, "ready", clock.now(), {"db"}).http_status == 503);
}

TEST_CASE("evaluate: a custom group", "[snapshot][evaluate]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(state_at("db", true, clock));
    snap.checks.push_back(state_at("queue", false, clock, {"batch"}));
    snap.startup_latched = true;
    GroupResult r = evaluate(snap, "batch", clock.now());
    CHECK(r.group == "batch");
    CHECK(r.http_status == 503);
    REQUIRE(r.checks.size() == 1);
    CHECK(r.checks[0].state->name == "queue");
    // The custom check is in no default group.
    CHECK(evaluate(snap, "ready", clock.now()).http_status == 200);

    snap.checks[1] = state_at("queue", true, clock, {"batch"});
    r = evaluate(snap, "batch", clock.now());
    CHECK(r.http_status == 200);
    CHECK(r.verdict == Verdict::ready);
}

TEST_CASE("to_string of statuses and verdicts", "[snapshot]") {
    CHECK(std::string(to_string(CheckStatus::up)) == "up");
    CHECK(std::string(to_string(CheckStatus::down)) == "down");
    CHECK(std::string(to_string(CheckStatus::unknown)) == "unknown");
    CHECK(std::string(to_string(Verdict::ready)) == "ready");
    CHECK(std::string(to_string(Verdict::not_ready)) == "not_ready");
    CHECK(std::string(to_string(Verdict::degraded)) == "degraded");
    CHECK(std::string(to_string(Verdict::draining)) == "draining");
}
