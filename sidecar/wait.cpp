// `readyprobe wait`: the critical startup checks run by the Prober, as `serve` runs them (same
// schedules, the Prober's capped retry backoff, the Prober's startup latch), until the startup
// group latches (exit 0) or the timeout passes (exit 1). Progress on stdout.
#include "commands.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/prober.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>

namespace readyprobe::cli {
namespace {

// The checks still holding the latch (critical startup checks never up yet), with their newest
// message: "cache (connection refused), db (not run yet)".
std::string still_down(const Snapshot& snapshot) {
    std::string out;
    for (const auto& s : snapshot.checks) {
        if (s.ever_up || !s.schedule.critical || !s.schedule.in_group("startup")) continue;
        out += (out.empty() ? "" : ", ") + s.name + " (" + s.message + ")";
    }
    return out;
}

}  // namespace

int wait(const Settings& settings, Duration timeout) {
    // Only what the startup latch needs. No lease (ANNOUNCE) from `wait`: a lease is kept by a
    // task while it serves, and this process only waits; it would outlive it until it expired.
    std::vector<CheckSpec> startup;
    for (const auto& spec : settings.checks) {
        if (!spec.schedule.critical || !spec.schedule.in_group("startup")) continue;
        startup.push_back(spec);
        startup.back().announce.clear();
    }
    if (startup.empty()) {
        std::cout << "wait: ready: every critical startup check passed" << std::endl;
        return 0;
    }

    std::mutex mu;  // stdout and `latched`, shared with the Prober's threads
    std::condition_variable latch;
    bool latched = false;
    std::set<std::string> announced;
    ProberOptions options;
    options.on_transition = [&](const Transition& t) {
        if (t.to != CheckStatus::up) return;
        const std::lock_guard<std::mutex> lock(mu);
        if (announced.insert(t.check).second) {
            std::cout << "wait: " << t.check << " is up (" << t.reason << ")" << std::endl;
        }
    };
    options.on_startup = [&] {
        const std::lock_guard<std::mutex> lock(mu);
        latched = true;
        latch.notify_all();
    };
    Prober prober(options);
    add_checks(prober, startup);
    prober.start();

    // Not prober.stop() at the end: it joins a run in flight (another check's, or a re-run),
    // which ends only at its own deadline (TIMEOUT, maybe longer than what is left of
    // --timeout). This process is done: leave without waiting for it (the kernel closes its
    // connections; `wait` keeps no lease to delete).
    const auto leave = [](int code) {
        std::cout.flush();
        std::cerr.flush();
        std::_Exit(code);
    };

    // Progress at capped, growing intervals: 250 ms, 500 ms, 1 s, 2 s, 4 s, 5 s, 5 s, ...
    const TimePoint give_up = SteadyClock::now() + timeout;
    Duration pause = std::chrono::milliseconds(250);
    const Duration cap = std::chrono::seconds(5);
    std::unique_lock<std::mutex> lock(mu);
    for (int round = 1;; ++round) {
        const TimePoint next = std::min(SteadyClock::now() + pause, give_up);
        if (latch.wait_until(lock, next, [&] { return latched; })) {
            std::cout << "wait: ready: every critical startup check passed" << std::endl;
            break;
        }
        const std::string waiting = still_down(*prober.snapshot());
        if (SteadyClock::now() >= give_up) {
            std::cout << "wait: timed out after " << format_duration(timeout) << "; still down: " << waiting
                      << std::endl;
            leave(1);
        }
        std::cout << "wait: round " << round << ": waiting for " << waiting << std::endl;
        pause = std::min<Duration>(pause * 2, cap);
    }
    leave(0);
    return 0;
}

}  // namespace readyprobe::cli
