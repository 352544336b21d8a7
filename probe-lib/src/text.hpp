// Small text helpers shared by the configuration parser and the duration parser (which the
// `readyprobe` front compiles in on its own: this header must stay dependency-free).
#pragma once

#include <string>

namespace readyprobe::detail {

inline std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

// Values never echo a password back: the caller passes `secret` for those.
inline std::string shown(const std::string& value) {
    std::string shown = value;
    // A URL pasted into the wrong variable may hold a password (userinfo, ?password=): only
    // its scheme is shown.
    if (auto scheme = shown.find("://"); scheme != std::string::npos) shown = shown.substr(0, scheme + 3) + "...";
    if (shown.size() > 60) shown = shown.substr(0, 60) + "...";
    return "\"" + shown + "\"";
}

}  // namespace readyprobe::detail
