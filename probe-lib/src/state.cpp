#include <readyprobe/state.hpp>

#include <algorithm>

namespace readyprobe {

const char* to_string(CheckStatus s) {
    switch (s) {
        case CheckStatus::up: return "up";
        case CheckStatus::down: return "down";
        case CheckStatus::unknown: break;
    }
    return "unknown";
}

void DurationHistogram::add(Duration took) {
    const double s = std::chrono::duration<double>(took).count();
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
        if (s <= kBounds[i]) {
            ++buckets[i];
            break;
        }
    }
    ++count;
    sum += took;
}

DurationHistogram& DurationHistogram::operator+=(const DurationHistogram& other) {
    for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
    count += other.count;
    sum += other.sum;
    return *this;
}

std::optional<Transition> record(CheckState& state, const Result& result, Duration took,
                                 TimePoint now) {
    state.last_result = now;
    state.last_duration = took;
    state.message = result.message;
    state.last_ok = result.ok;
    state.durations.add(took);
    if (result.ok) {
        ++state.runs_ok;
        ++state.consecutive_ok;
        state.consecutive_fail = 0;
    } else {
        if (result.timed_out) {
            ++state.runs_timeout;
        } else {
            ++state.runs_failed;
        }
        ++state.consecutive_fail;
        state.consecutive_ok = 0;
    }

    CheckStatus next = state.status;
    if (result.ok && state.status != CheckStatus::up &&
        state.consecutive_ok >= state.schedule.rise) {
        next = CheckStatus::up;
    } else if (!result.ok) {
        // From unknown the first failure is enough: it was never up, and saying so is clearer.
        if (state.status == CheckStatus::unknown ||
            (state.status == CheckStatus::up && state.consecutive_fail >= state.schedule.fall)) {
            next = CheckStatus::down;
        }
    }
    if (next == state.status) return std::nullopt;
    Transition t{state.name, state.status, next, result.message, state.kind, took};
    state.status = next;
    ++(next == CheckStatus::up ? state.transitions_up : state.transitions_down);
    if (next == CheckStatus::up) state.ever_up = true;
    state.since = now;
    return t;
}

RunDelay next_run_delay(const CheckState& state) {
    const Schedule& sc = state.schedule;
    const Duration fast = std::min(sc.fast_interval, sc.interval);
    const bool passing = state.last_ok;
    if (state.status == CheckStatus::up) {
        return {passing ? sc.interval : fast, false};
    }
    if (passing) return {fast, false};  // rising: RISE passes in a row
    // Down or never up, and failing: back off from the fast interval.
    const Duration cap = std::max(fast, std::min(kMaxRetryDelay, sc.interval));
    Duration d = fast;
    for (int i = 1; i < state.consecutive_fail && d < cap; ++i) d *= 2;
    return {std::min(d, cap), true};
}

}  // namespace readyprobe
