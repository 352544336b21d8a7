// Small text helpers shared by the migration gate's files (migration.cpp, migration_verdicts.cpp,
// alembic_files.cpp). Internal.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace readyprobe::detail::migration_text {

inline bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

inline bool truthy(const std::string& v) { return v == "t" || v == "true" || v == "1"; }

// A value echoed in an error, quoted. A URL pasted into the wrong variable may hold a
// password (userinfo, ?password=): only its scheme is shown.
inline std::string quoted(std::string value) {
    if (auto scheme = value.find("://"); scheme != std::string::npos) value = value.substr(0, scheme + 3) + "...";
    if (value.size() > 80) value = value.substr(0, 77) + "...";
    return "\"" + value + "\"";
}

inline std::vector<std::string> split_on(const std::string& text, const std::string& sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const auto pos = text.find(sep, start);
        out.push_back(text.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
        if (pos == std::string::npos) return out;
        start = pos + sep.size();
    }
}

}  // namespace readyprobe::detail::migration_text
