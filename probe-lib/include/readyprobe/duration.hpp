// Durations as written in the configuration and on the command line: 500ms, 2s, 1.5m, 1h.
// Dependency-free: the `readyprobe` front compiles duration.cpp in on its own.
#pragma once

#include <chrono>
#include <string>

namespace readyprobe {

// "250ms", "2s", "1.5s", "1m", "1h" (1 ms to 24 h, or 0). Throws std::invalid_argument.
std::chrono::steady_clock::duration parse_duration(const std::string& text);
// "2s", "250ms".
std::string format_duration(std::chrono::steady_clock::duration d);

}  // namespace readyprobe
