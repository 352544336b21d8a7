// One check's state and the rules the Prober applies to it: rise/fall thresholds (record) and
// when it runs next (next_run_delay); and the Snapshot the Prober publishes. The Prober's stage:
// snapshot.hpp (the readers' rules: staleness, group verdicts) and render.hpp come after it.
// No threads, no I/O: tested with a ManualClock.
#pragma once

#include <readyprobe/check.hpp>
#include <readyprobe/spec.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace readyprobe {

enum class CheckStatus { unknown, up, down };
const char* to_string(CheckStatus s);

// Run durations in Prometheus' default buckets (seconds): counts per bucket, not cumulative.
struct DurationHistogram {
    static constexpr std::array<double, 11> kBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10};
    std::array<std::uint64_t, kBounds.size()> buckets{};  // runs <= kBounds[i] and > kBounds[i-1]
    std::uint64_t count = 0;                                // every run, +Inf included
    Duration sum{};

    void add(Duration took);
    DurationHistogram& operator+=(const DurationHistogram& other);
};

struct CheckState {
    std::string name;
    std::string kind;
    Schedule schedule;

    CheckStatus status = CheckStatus::unknown;
    TimePoint since{};                   // when `status` was entered
    std::optional<TimePoint> last_result;  // when the newest result was recorded
    Duration last_duration{};
    std::string message = "not run yet";  // newest result's message
    bool last_ok = false;
    bool ever_up = false;  // has been up at least once since start (what the startup latch needs)
    int consecutive_ok = 0;
    int consecutive_fail = 0;
    std::uint64_t runs_ok = 0;
    std::uint64_t runs_failed = 0;
    std::uint64_t runs_timeout = 0;
    std::uint64_t transitions_up = 0;    // state changes into `up`
    std::uint64_t transitions_down = 0;  // state changes into `down` (from unknown or up)
    DurationHistogram durations;          // every run, timeouts included
    // Wall-clock time of the newest passing run (set by the Prober), for
    // readyprobe_check_last_success_timestamp_seconds.
    std::optional<std::chrono::system_clock::time_point> last_success;
};

struct Transition {
    std::string check;
    CheckStatus from;
    CheckStatus to;
    std::string reason;
    std::string kind;
    Duration latency{};  // how long the run that caused it took
};

// Applies one result to a check's state; returns the transition it caused, if any.
std::optional<Transition> record(CheckState& state, const Result& result, Duration took,
                                 TimePoint now);

// How long after the start of its newest run a check runs again, before jitter:
//  - settled (up and passing): `interval`;
//  - changing (up but failing, or down but passing, before FALL/RISE): `fast_interval`;
//  - down (or never up) and failing: `fast_interval` doubled per further failure, capped at
//    `kMaxRetryDelay` (or `interval` if shorter), so a dead dependency is retried soon but a
//    fleet does not hammer it; the Prober spreads these retries with full jitter (50-100 %).
// Never longer than `interval`.
inline constexpr Duration kMaxRetryDelay = std::chrono::seconds(1);
struct RunDelay {
    Duration delay;
    bool backoff = false;  // a retry of a failing dependency: jitter it widely
};
RunDelay next_run_delay(const CheckState& state);

// What the Prober publishes: every check's state, in configuration order (read by snapshot.hpp's
// rules and by render.hpp).
struct Snapshot {
    std::vector<CheckState> checks;
    bool startup_latched = false;
    bool draining = false;
    std::uint64_t version = 0;
};

}  // namespace readyprobe
