// The Prober owns time: run_check words every timeout with the budget it gave the run, and a
// check added from its spec runs on the spec's schedule.
#include <readyprobe/check.hpp>
#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>
#include <readyprobe/prober.hpp>
#include <readyprobe/snapshot.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace readyprobe;
using std::chrono::milliseconds;

TEST_CASE("run_check: a check's deadline_passed is worded with the run's budget", "[prober][time]") {
    auto stuck = make_function_check([](Deadline) { return Result::deadline_passed("(connecting)"); });
    const Result r = run_check(*stuck, SteadyClock::now() + milliseconds(300), milliseconds(300));
    CHECK_FALSE(r.ok);
    CHECK(r.timed_out);
    CHECK(r.message == "timeout after 300 ms (connecting)");

    auto bare = make_function_check([](Deadline) { return Result::deadline_passed(); });
    CHECK(run_check(*bare, SteadyClock::now() + milliseconds(250), milliseconds(250)).message ==
          "timeout after 250 ms");
}

TEST_CASE("run_check: a late result is a timeout - exceptions are failures - others pass through", "[prober][time]") {
    auto late = make_function_check([](Deadline deadline) {
        std::this_thread::sleep_until(deadline + milliseconds(30));
        return Result::pass();
    });
    const Result r = run_check(*late, SteadyClock::now() + milliseconds(20), milliseconds(20));
    CHECK(r.timed_out);
    CHECK(r.message == "timeout after 20 ms");

    auto thrower = make_function_check([](Deadline) -> Result { throw std::runtime_error("boom"); });
    CHECK(run_check(*thrower, SteadyClock::now() + milliseconds(500), milliseconds(500)).message ==
          "check failed: boom");

    // A function check that words its own timeout keeps it (no "timeout after ... timeout after").
    auto worded = make_function_check([](Deadline) { return Result::timeout(milliseconds(7)); });
    CHECK(run_check(*worded, SteadyClock::now() + milliseconds(500), milliseconds(500)).message ==
          "timeout after 7 ms");

    auto fine = make_function_check([](Deadline) { return Result::fail("refused"); });
    CHECK(run_check(*fine, SteadyClock::now() + milliseconds(500), milliseconds(500)).message == "refused");
}

TEST_CASE("Prober::add(spec): the name and schedule come from the spec", "[prober][time]") {
    Schedule schedule;
    schedule.timeout = milliseconds(700);
    schedule.interval = std::chrono::seconds(5);
    schedule.groups = {"live"};
    const CheckSpec spec = check_spec("sentinel", "file:///nonexistent/readyprobe-run-check", schedule);
    Prober prober;
    prober.add(spec);
    const auto snap = prober.snapshot();
    const CheckState* s = find_check(*snap, "sentinel");
    REQUIRE(s);
    CHECK(s->kind == "file");
    CHECK(s->schedule.timeout == milliseconds(700));
    CHECK(s->schedule.interval == std::chrono::seconds(5));
    CHECK(s->schedule.groups == std::vector<std::string>{"live"});
}

TEST_CASE("Result::deadline_passed read without the Prober still says timeout", "[prober][time]") {
    CHECK(Result::deadline_passed().message == "timeout");
    CHECK(Result::deadline_passed("during the TLS handshake").message == "timeout during the TLS handshake");
    CHECK(Result::deadline_passed().timed_out);
    auto own = make_function_check([](Deadline) { return Result{false, true, "stuck"}; });
    CHECK(run_check(*own, SteadyClock::now() + milliseconds(90), milliseconds(90)).message ==
          "timeout after 90 ms stuck");
}
