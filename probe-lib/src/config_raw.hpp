// The configuration as written, before it is parsed: settings from the environment and the JSON
// file with where each came from. config_sources.cpp reads them (and knows every variable and
// option word); config.cpp parses them into Settings. Internal.
#pragma once

#include <readyprobe/config.hpp>

#include "kind.hpp"
#include "text.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace readyprobe::detail::config {

using Raw = RawOption;

struct RawCheck {
    std::optional<Raw> url;
    RawOptions options;  // option word (upper-case) -> value
};

struct RawConfig {
    std::map<std::string, Raw> globals;      // LISTEN, INTERVAL, ...
    std::map<std::string, RawCheck> checks;  // by lower-case name
    std::vector<std::string> order;          // names in the order first seen
};

// Every per-check option word (the common ones and each kind's), in the order messages list them.
const std::vector<std::string>& option_words();

// The JSON file `path` (READYPROBE_CONFIG) into `raw`. Throws ConfigError.
void load_json(const std::string& path, RawConfig& raw);
// The READYPROBE_* variables into `raw` (over what the file set). Throws ConfigError.
void load_env(const Environment& env, RawConfig& raw, const LoadOptions& options);

inline std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

inline std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

inline bool contains(const std::vector<std::string>& list, const std::string& word) {
    return std::find(list.begin(), list.end(), word) != list.end();
}

inline std::string join(const std::vector<std::string>& list, const std::string& sep) {
    std::string out;
    for (std::size_t i = 0; i < list.size(); ++i) out += (i ? sep : "") + list[i];
    return out;
}

// Items of a `sep` list, trimmed; a trailing separator gives a last, empty item.
inline std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, sep)) out.push_back(trim(item));
    if (!text.empty() && text.back() == sep) out.push_back("");
    return out;
}

// Check names: lower-case letters, digits and '_', not at either end.
inline bool valid_name(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::islower(c) || std::isdigit(c) || c == '_';
    }) && name.front() != '_' && name.back() != '_';
}

}  // namespace readyprobe::detail::config
