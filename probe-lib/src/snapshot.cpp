#include <readyprobe/snapshot.hpp>

#include <algorithm>

namespace readyprobe {

const char* to_string(Verdict v) {
    switch (v) {
        case Verdict::ready: return "ready";
        case Verdict::degraded: return "degraded";
        case Verdict::draining: return "draining";
        case Verdict::not_ready: break;
    }
    return "not_ready";
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
