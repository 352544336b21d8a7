// Parsers of single configuration values the library's own code uses; not public API (durations,
// which the sidecar and applications read too, are in <readyprobe/duration.hpp>).
#pragma once

#include <readyprobe/spec.hpp>

#include <string>
#include <vector>

namespace readyprobe {

// "200,204,300-399" (EXPECT; defined by the http kind, checks/http.cpp). Throws std::invalid_argument.
std::vector<StatusRange> parse_status_ranges(const std::string& text);
// "none", "status", "full" (READYPROBE_DETAILS). Throws std::invalid_argument.
Details parse_details(const std::string& text);

}  // namespace readyprobe
