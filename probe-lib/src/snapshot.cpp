#include <readyprobe/snapshot.hpp>

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

const char* to_string(Verdict v) {
    switch (v) {
        case Verdict::ready: return "ready";
        case Verdict::degraded: return "degraded";
        case Verdict::draining: return "draining";
        case Verdict::not_ready: break;
    }
    return "not_ready";
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

bool is_stale(const CheckState& state, TimePoint now) {
    if (!state.last_result) return false;  // never run: already `unknown`
    const Duration limit = state.schedule.interval + state.schedule.timeout + std::chrono::seconds(1);
    return now - *state.last_result > limit;
}

CheckStatus effective_status(const CheckState& state, TimePoint now) {
    if (state.status == CheckStatus::up && is_stale(state, now)) return CheckStatus::down;
    return state.status;
}

GroupResult evaluate(const Snapshot& snapshot, const std::string& group, TimePoint now,
                     const std::set<std::string>& exclude) {
    GroupResult out;
    out.group = group;
    bool critical_down = false;
    bool optional_down = false;
    std::string first_down;
    for (const auto& state : snapshot.checks) {
        if (!state.schedule.in_group(group)) continue;
        CheckLine line{&state, effective_status(state, now), is_stale(state, now),
                       exclude.count(state.name) > 0};
        out.checks.push_back(line);
        if (line.excluded || line.status == CheckStatus::up) continue;
        if (state.schedule.critical) {
            if (!critical_down) first_down = state.name;
            critical_down = true;
        } else {
            optional_down = true;
        }
    }

    if (group == "startup" && snapshot.startup_latched) {
        // Latched: 200 whatever happens later, so a database blip never makes ECS replace tasks.
        out.verdict = Verdict::ready;
    } else if (group == "ready" && snapshot.draining) {
        out.verdict = Verdict::draining;
        out.reason = "draining";
    } else if (group == "ready" && !snapshot.startup_latched) {
        out.verdict = Verdict::not_ready;
        out.reason = "startup checks have not all passed yet";
    } else if (critical_down) {
        out.verdict = Verdict::not_ready;
        out.reason = "check " + first_down + " is down";
    } else {
        out.verdict = optional_down ? Verdict::degraded : Verdict::ready;
    }
    out.http_status =
        (out.verdict == Verdict::ready || out.verdict == Verdict::degraded) ? 200 : 503;
    return out;
}

std::optional<GroupResult> evaluate_check(const Snapshot& snapshot, const std::string& group,
                                          const std::string& check, TimePoint now) {
    const CheckState* state = find_check(snapshot, check);
    if (!state || !state->schedule.in_group(group)) return std::nullopt;
    GroupResult out;
    out.group = group;
    const CheckLine line{state, effective_status(*state, now), is_stale(*state, now), false};
    out.checks.push_back(line);
    if (line.status == CheckStatus::up) {
        out.verdict = Verdict::ready;
        out.http_status = 200;
    } else {
        out.verdict = Verdict::not_ready;
        out.http_status = 503;
        out.reason = "check " + state->name + " is " + to_string(line.status);
    }
    return out;
}

bool has_group(const Snapshot& snapshot, const std::string& group) {
    for (const auto& state : snapshot.checks) {
        if (state.schedule.in_group(group)) return true;
    }
    return false;
}

const CheckState* find_check(const Snapshot& snapshot, const std::string& name) {
    for (const auto& state : snapshot.checks) {
        if (state.name == name) return &state;
    }
    return nullptr;
}

}  // namespace readyprobe
