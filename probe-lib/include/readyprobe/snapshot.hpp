// The readers' rules over the Prober's Snapshot (state.hpp): staleness, the status to act on,
// group verdicts. What requests and render.hpp use. No threads, no I/O: tested with a ManualClock.
#pragma once

#include <readyprobe/spec.hpp>
#include <readyprobe/state.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace readyprobe {

// A check whose newest result is older than interval + timeout + 1 s: something is wedged.
bool is_stale(const CheckState& state, TimePoint now);

// The status a reader must act on: `down` when stale.
CheckStatus effective_status(const CheckState& state, TimePoint now);

enum class Verdict { ready, degraded, not_ready, draining };
const char* to_string(Verdict v);

// One check's line in a GroupResult. Lifetime: `state` points into the Snapshot that evaluate()
// or evaluate_check() was given, so a GroupResult is valid only while that Snapshot lives: keep
// the shared_ptr from Prober::snapshot() for as long as the result is used (as the HTTP handler
// does, one snapshot per request), and never store a GroupResult beyond it.
struct CheckLine {
    const CheckState* state;  // not owned: see above
    CheckStatus status;  // effective
    bool stale;
    bool excluded;
};

struct GroupResult {
    std::string group;
    Verdict verdict = Verdict::not_ready;
    int http_status = 503;
    std::string reason;  // why not ready, for verbose output
    std::vector<CheckLine> checks;  // the group's checks, in configuration order
};

// Evaluates a group ("ready", "live", "startup" or a custom one) at `now`.
// ready:   startup latched, every critical ready check up, not draining.
// live:    every critical live check up (draining does not matter).
// startup: latched (every critical startup check has passed once).
// custom:  every critical check of the group up.
// A down non-critical check makes a passing group `degraded` (still 200).
GroupResult evaluate(const Snapshot& snapshot, const std::string& group, TimePoint now,
                     const std::set<std::string>& exclude = {});

// One check of a group (/readyz/<check>): `ready` (200) when it is up, otherwise `not_ready`
// (503), whether it is critical or not. Nothing when the group has no check of that name.
std::optional<GroupResult> evaluate_check(const Snapshot& snapshot, const std::string& group,
                                          const std::string& check, TimePoint now);

// Whether any check lists `group` (custom groups exist only through their checks).
bool has_group(const Snapshot& snapshot, const std::string& group);
// The configured check called `name`, or null.
const CheckState* find_check(const Snapshot& snapshot, const std::string& name);

}  // namespace readyprobe
