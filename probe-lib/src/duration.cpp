// Durations as written in the configuration and on the command line: 500ms, 2s, 1.5m, 1h.
// Part of the library and, through the readyprobe_url object library, of the `readyprobe` front
// (sidecar/front_main.cpp), so both read `--timeout` the same way: keep it free of other
// dependencies.
#include <readyprobe/duration.hpp>

#include "text.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace readyprobe {

using detail::shown;
using detail::trim;

using Duration = std::chrono::steady_clock::duration;

Duration parse_duration(const std::string& input) {
    const std::string text = trim(input);
    if (text.empty()) throw std::invalid_argument("empty duration (use e.g. 500ms, 2s, 1m)");
    std::size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
        ++i;
    }
    const std::string number = text.substr(0, i);
    const std::string unit = text.substr(i);
    const std::string bad = "bad duration " + shown(text) + " (use e.g. 500ms, 2s, 1m)";
    if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
        throw std::invalid_argument(bad);
    }
    double value;
    try {
        value = std::stod(number);
    } catch (const std::out_of_range&) {  // hundreds of digits: too long, or too short if tiny
        throw std::invalid_argument("duration " + shown(text) + " is out of range (1ms to 24h)");
    }
    double ms_per_unit;
    if (unit == "ms") {
        ms_per_unit = 1;
    } else if (unit == "s") {
        ms_per_unit = 1000;
    } else if (unit == "m") {
        ms_per_unit = 60'000;
    } else if (unit == "h") {
        ms_per_unit = 3'600'000;
    } else if (unit.empty()) {
        throw std::invalid_argument("duration " + shown(text) + " has no unit (use e.g. 500ms, 2s, 1m)");
    } else {
        throw std::invalid_argument(bad);
    }
    const double ms = value * ms_per_unit;
    if (ms > 24.0 * 3'600'000) throw std::invalid_argument("duration " + shown(text) + " is longer than 24h");
    if (ms != 0 && ms < 1) throw std::invalid_argument("duration " + shown(text) + " is shorter than 1ms");
    // Rounded to the nearest ms (ms >= 0 here; no libm, which the front does not load).
    return std::chrono::duration_cast<Duration>(std::chrono::milliseconds(static_cast<long long>(ms + 0.5)));
}

std::string format_duration(Duration d) {
    const long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace readyprobe
