// `readyprobe wait`: run the critical startup checks in-process until each has passed once.
#include "commands.hpp"

#include <readyprobe/checks.hpp>

#include <algorithm>
#include <iostream>
#include <thread>

namespace readyprobe::cli {

int wait(const Settings& settings, Duration timeout) {
    struct Pending {
        std::unique_ptr<CheckSpec> spec;
        std::unique_ptr<Check> check;
        std::string last = "not run yet";
    };
    std::vector<Pending> pending;
    for (const auto& spec : settings.checks) {
        if (spec.schedule.critical && spec.schedule.in_group("startup")) {
            // No lease (ANNOUNCE) from `wait`: a lease is kept by a task while it serves, and
            // this process only waits; it would outlive it until it expired.
            auto copy = std::make_unique<CheckSpec>(spec);
            copy->announce.clear();
            auto check = make_check(*copy);
            pending.push_back({std::move(copy), std::move(check)});
        }
    }
    const TimePoint give_up = SteadyClock::now() + timeout;
    // Capped exponential backoff between rounds: 250 ms, 500 ms, 1 s, 2 s, 4 s, 5 s, 5 s, ...
    Duration backoff = std::chrono::milliseconds(250);
    const Duration cap = std::chrono::seconds(5);
    int round = 0;
    for (;;) {
        ++round;
        for (auto it = pending.begin(); it != pending.end();) {
            const Deadline deadline = std::min(SteadyClock::now() + it->spec->schedule.timeout, give_up);
            Result r = it->check->run(deadline);
            if (r.ok) {
                std::cout << "wait: " << it->spec->name << " is up (" << r.message << ")" << std::endl;
                it = pending.erase(it);
            } else {
                it->last = r.message;
                ++it;
            }
        }
        if (pending.empty()) {
            std::cout << "wait: ready: every critical startup check passed" << std::endl;
            return 0;
        }
        std::string waiting;
        for (const auto& p : pending) waiting += (waiting.empty() ? "" : ", ") + p.spec->name + " (" + p.last + ")";
        const auto left = give_up - SteadyClock::now();
        if (left <= Duration::zero()) {
            std::cout << "wait: timed out after " << format_duration(timeout) << "; still down: " << waiting
                      << std::endl;
            return 1;
        }
        std::cout << "wait: round " << round << ": waiting for " << waiting << "; retrying in "
                  << to_ms(std::min<Duration>(backoff, left)) << " ms" << std::endl;
        std::this_thread::sleep_for(std::min<Duration>(backoff, left));
        backoff = std::min<Duration>(backoff * 2, cap);
    }
}

}  // namespace readyprobe::cli
