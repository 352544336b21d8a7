// Where the configuration comes from: READYPROBE_* variables and the JSON file READYPROBE_CONFIG
// names, read into a RawConfig (config_raw.hpp) with where each setting was written. The
// environment wins over the file.
#include "config_raw.hpp"

#include "text.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

namespace readyprobe::detail::config {
namespace {

constexpr const char* kPrefix = "READYPROBE_";
constexpr const char* kCheckPrefix = "READYPROBE_CHECK_";

const std::vector<std::string> kGlobals = {"LISTEN", "INTERVAL",   "FAST_INTERVAL", "TIMEOUT",   "RISE",
                                           "FALL",   "DRAIN",      "DETAILS",   "LOG_FORMAT",
                                           "LOG_LEVEL", "CONFIG"};

std::string json_scalar(const nlohmann::json& v, const std::string& where) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_number_integer()) return std::to_string(v.get<long long>());
    if (v.is_array()) {
        std::vector<std::string> items;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (!v[i].is_string()) {
                throw ConfigError(where + "[" + std::to_string(i) + "]", "must be a string");
            }
            items.push_back(v[i].get<std::string>());
        }
        return join(items, ",");
    }
    throw ConfigError(where, "must be a string, an integer or a boolean");
}

// The options every check has, with their places in the listing (kind.hpp's KindOption::listed);
// each kind's own options are in its Kind (src/checks/registry.cpp lists the kinds).
const std::vector<std::pair<std::string, int>> kCommonOptions = {
    {"INTERVAL", 0}, {"TIMEOUT", 1}, {"RISE", 2},     {"FALL", 3},
    {"GROUPS", 4},   {"CRITICAL", 5}, {"PASSWORD", 6}, {"FAST_INTERVAL", 12}};

}  // namespace

// Every option word, as in READYPROBE_CHECK_<NAME>_<OPTION>, in listing order.
// FAST_INTERVAL ends in INTERVAL: the longest word that ends a variable wins.
const std::vector<std::string>& option_words() {
    static const std::vector<std::string> words = [] {
        std::vector<std::pair<int, std::string>> all;
        for (const auto& [word, listed] : kCommonOptions) all.emplace_back(listed, word);
        for (const Kind* kind : detail::kinds()) {
            for (const auto& o : kind->options) {
                if (std::none_of(all.begin(), all.end(), [&](const auto& a) { return a.second == o.word; })) {
                    all.emplace_back(o.listed, o.word);
                }
            }
        }
        std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<std::string> out;
        for (const auto& a : all) out.push_back(a.second);
        return out;
    }();
    return words;
}

void load_json(const std::string& path, RawConfig& raw) {
    std::ifstream in(path);
    if (!in) throw ConfigError("READYPROBE_CONFIG", "cannot read " + path);
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {  // parse_error; out_of_range for 1E999
        std::string what = e.what();
        // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> after "] "
        auto pos = what.find("] ");
        // "...; last read: '<token>'" and "number overflow parsing '<token>'": the text of the
        // bad token may be part of a password.
        for (const char* token : {"; last read: ", " parsing '"}) {
            if (auto at = what.find(token); at != std::string::npos) what.erase(at);
        }
        throw ConfigError("READYPROBE_CONFIG",
                          path + " is not valid JSON: " +
                              (pos == std::string::npos ? what : what.substr(pos + 2)));
    }
    if (!doc.is_object()) throw ConfigError("$", "the configuration must be a JSON object");
    for (auto& [key, value] : doc.items()) {
        const std::string where = "$." + key;
        if (key == "checks") {
            if (!value.is_object()) throw ConfigError(where, "must be an object of checks");
            for (auto& [name, check] : value.items()) {
                const std::string cw = where + "." + name;
                if (!valid_name(name)) {
                    throw ConfigError(cw, "check names are lower-case letters, digits and _");
                }
                if (!check.is_object()) throw ConfigError(cw, "must be an object");
                RawCheck& rc = raw.checks[name];
                raw.order.push_back(name);
                for (auto& [opt, v] : check.items()) {
                    const std::string ow = cw + "." + opt;
                    if (opt == "url") {
                        if (!v.is_string()) throw ConfigError(ow, "must be a string");
                        rc.url = Raw{v.get<std::string>(), ow};
                    } else if (contains(option_words(), upper(opt)) && opt == lower(opt)) {
                        rc.options[upper(opt)] = Raw{json_scalar(v, ow), ow};
                    } else {
                        throw ConfigError(ow, "unknown key (known: url, " +
                                                  lower(join(option_words(), ", ")) + ")");
                    }
                }
                if (!rc.url) throw ConfigError(cw + ".url", "missing");
            }
        } else if (contains(kGlobals, upper(key)) && key == lower(key) && key != "config") {
            raw.globals[upper(key)] = Raw{json_scalar(value, where), where};
        } else {
            throw ConfigError(where, "unknown key");
        }
    }
}

namespace {

// The READYPROBE_CHECK_* variables, split into check URLs and options; the global ones go
// straight into `raw`.
struct EnvChecks {
    std::map<std::string, Raw> urls;                        // name -> url
    std::vector<std::pair<std::string, std::string>> opts;  // variable -> value
};

bool ends_in_option(const std::string& rest) {
    return std::any_of(option_words().begin(), option_words().end(), [&](const std::string& word) {
        const std::string suffix = "_" + word;
        return rest.size() > suffix.size() && rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) == 0;
    });
}

EnvChecks read_env(const Environment& env, RawConfig& raw, const LoadOptions& options) {
    const std::string prefix = kPrefix;
    const std::string check_prefix = kCheckPrefix;
    EnvChecks out;
    for (const auto& [key, value] : env) {
        if (key.compare(0, prefix.size(), prefix) != 0) continue;
        if (key.compare(0, check_prefix.size(), check_prefix) == 0) {
            const std::string rest = key.substr(check_prefix.size());
            if (ends_in_option(rest)) {
                out.opts.emplace_back(key, value);
                continue;
            }
            const std::string name = lower(rest);
            if (!valid_name(name)) {
                throw ConfigError(key, "check names are letters, digits and _ (READYPROBE_CHECK_<NAME>=<url>)");
            }
            out.urls[name] = Raw{value, key};
            continue;
        }
        const std::string word = key.substr(prefix.size());
        if (word == "LISTEN" && options.ignore_listen) continue;
        if (!contains(kGlobals, word)) {
            throw ConfigError(key, "unknown variable (known: READYPROBE_" + join(kGlobals, ", READYPROBE_") +
                                       ", READYPROBE_CHECK_<NAME>[_<OPTION>])");
        }
        if (word != "CONFIG") raw.globals[word] = Raw{value, key};
    }
    return out;
}

// A "URL" (not one: no "://") whose name is an existing check plus a suffix is a misspelt option.
void reject_misspelt_options(const std::map<std::string, Raw>& urls, const RawConfig& raw) {
    auto check = [](const std::string& name, const Raw& url, const std::string& other) {
        if (name.compare(0, other.size() + 1, other + "_") != 0) return;
        throw ConfigError(url.where, "unknown option " + upper(name.substr(other.size() + 1)) + " for check " +
                                         other + " (options: " + join(option_words(), ", ") + ")");
    };
    for (const auto& [name, url] : urls) {
        if (url.value.find("://") != std::string::npos) continue;
        for (const auto& [other, unused] : urls) {
            if (other != name) check(name, url, other);
        }
        for (const auto& [other, unused] : raw.checks) check(name, url, other);
    }
}

// Each option variable to its check; the longest option word that ends the variable wins
// (INTERVAL ends FAST_INTERVAL).
void attach_options(const std::vector<std::pair<std::string, std::string>>& opts, RawConfig& raw) {
    const std::string check_prefix = kCheckPrefix;
    std::vector<std::string> words = option_words();
    std::sort(words.begin(), words.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& [key, value] : opts) {
        const std::string rest = key.substr(check_prefix.size());
        for (const auto& word : words) {
            const std::string suffix = "_" + word;
            if (rest.size() <= suffix.size() || rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) != 0) {
                continue;
            }
            const std::string name = lower(rest.substr(0, rest.size() - suffix.size()));
            auto it = raw.checks.find(name);
            if (it == raw.checks.end() || !it->second.url) {
                throw ConfigError(key, "option " + word + " for check " + name + ", but " + check_prefix +
                                           upper(name) + " (its URL) is not set (check names may not "
                                           "end in an option word)");
            }
            it->second.options[word] = Raw{value, key};
            break;
        }
    }
}

}  // namespace

void load_env(const Environment& env, RawConfig& raw, const LoadOptions& options) {
    const EnvChecks found = read_env(env, raw, options);
    reject_misspelt_options(found.urls, raw);
    for (const auto& [name, url] : found.urls) {
        RawCheck& rc = raw.checks[name];
        if (!rc.url) raw.order.push_back(name);
        rc.url = url;
    }
    attach_options(found.opts, raw);
}

}  // namespace readyprobe::detail::config
