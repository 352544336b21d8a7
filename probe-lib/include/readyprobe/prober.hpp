// The Prober runs every check on its own schedule and publishes immutable Snapshots.
#pragma once

#include <readyprobe/check.hpp>
#include <readyprobe/clock.hpp>
#include <readyprobe/spec.hpp>
#include <readyprobe/state.hpp>

#include <functional>
#include <memory>
#include <string>

namespace readyprobe {

struct ProberOptions {
    // Timestamps of results (a ManualClock in tests). Waiting always uses the steady clock.
    std::shared_ptr<const Clock> clock = std::make_shared<RealClock>();
    // Each interval is stretched by a random 0..jitter fraction so checks of many tasks
    // do not hit a shared database in lockstep.
    double jitter = 0.1;
    // Called once per state transition (after it is logged), outside any lock.
    std::function<void(const Transition&)> on_transition;
    // Called once when the startup group latches.
    std::function<void()> on_startup;
};

class Prober {
public:
    explicit Prober(ProberOptions options = {});
    ~Prober();  // stops and joins
    Prober(const Prober&) = delete;
    Prober& operator=(const Prober&) = delete;

    // Adds a check; only before start(). Names must be unique.
    void add(std::string name, std::unique_ptr<Check> check, Schedule schedule = {});
    // Adds the check `spec` describes, with the spec's name and schedule (one source for both:
    // add_checks does this for every configured check).
    void add(const CheckSpec& spec);

    // Runs every check at once, then each on its own interval, on background threads:
    // one worker per check plus one scheduler. A worker that overruns its deadline is
    // reported as timed out and is not started again until it returns, so threads never pile up.
    void start();
    // Stops the threads; waits for workers (a hung check holds this up to its own deadline).
    // After a drain() it is the end of the drain: each check's on_drained() runs (a lease goes).
    void stop();
    // Readiness fails from now on; liveness is unaffected. Irreversible.
    void drain();
    bool draining() const;

    // The newest results; never blocks on a check.
    std::shared_ptr<const Snapshot> snapshot() const;
    TimePoint now() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Runs `check` once until `deadline`, as the Prober runs it: an escaping exception is a failure;
// a result that came after the deadline, or a check's Result::deadline_passed(), is a timeout
// worded with `budget`, the time the run was given ("timeout after 500 ms ..."). The Prober's
// workers use it; so can one-off runs outside a Prober (tests, tools).
Result run_check(Check& check, Deadline deadline, Duration budget);

}  // namespace readyprobe
