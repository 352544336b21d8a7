// Snapshot -> response bodies: Kubernetes-style text, JSON, Prometheus text.
#pragma once

#include <readyprobe/snapshot.hpp>
#include <readyprobe/spec.hpp>

#include <string>

namespace readyprobe {

// "ready\n", or with `verbose` one line per check ("[+]db ok", "[-]cache failed: ...").
std::string render_text(const GroupResult& result, Details details, bool verbose, TimePoint now);
// {"status": "ready|not_ready|degraded|draining", "checks": {...}}
std::string render_json(const GroupResult& result, const Snapshot& snapshot, Details details,
                        TimePoint now);
// Prometheus text exposition format 0.0.4. At Details::none no series names a check: the
// per-check families are summed over all checks (the label `check` is left out).
std::string render_metrics(const Snapshot& snapshot, TimePoint now, Details details = Details::status);

}  // namespace readyprobe
