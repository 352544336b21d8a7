#include <readyprobe/config.hpp>

#include "kind.hpp"
#include "parse.hpp"
#include "text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

extern char** environ;

namespace readyprobe {
namespace {

using detail::shown;
using detail::trim;

constexpr const char* kPrefix = "READYPROBE_";
constexpr const char* kCheckPrefix = "READYPROBE_CHECK_";

using detail::Kind;
using detail::KindOption;
using Raw = detail::RawOption;

// The options every check has, with their places in the listing (kind.hpp's KindOption::listed);
// each kind's own options are in its Kind (src/checks/registry.cpp lists the kinds).
const std::vector<std::pair<std::string, int>> kCommonOptions = {
    {"INTERVAL", 0}, {"TIMEOUT", 1}, {"RISE", 2},     {"FALL", 3},
    {"GROUPS", 4},   {"CRITICAL", 5}, {"PASSWORD", 6}, {"FAST_INTERVAL", 12}};

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

const std::vector<std::string> kGlobals = {"LISTEN", "INTERVAL",   "FAST_INTERVAL", "TIMEOUT",   "RISE",
                                           "FALL",   "DRAIN",      "DETAILS",   "LOG_FORMAT",
                                           "LOG_LEVEL", "CONFIG"};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

bool contains(const std::vector<std::string>& list, const std::string& word) {
    return std::find(list.begin(), list.end(), word) != list.end();
}

std::string join(const std::vector<std::string>& list, const std::string& sep) {
    std::string out;
    for (std::size_t i = 0; i < list.size(); ++i) out += (i ? sep : "") + list[i];
    return out;
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, sep)) out.push_back(trim(item));
    if (!text.empty() && text.back() == sep) out.push_back("");
    return out;
}

struct RawCheck {
    std::optional<Raw> url;
    detail::RawOptions options;  // option word (upper-case) -> value
};

struct RawConfig {
    std::map<std::string, Raw> globals;  // LISTEN, INTERVAL, ...
    std::map<std::string, RawCheck> checks;  // by lower-case name
    std::vector<std::string> order;  // names in the order first seen
};

bool valid_name(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::islower(c) || std::isdigit(c) || c == '_';
    }) && name.front() != '_' && name.back() != '_';
}

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

void load_env(const Environment& env, RawConfig& raw, const LoadOptions& options) {
    const std::string prefix = kPrefix;
    const std::string check_prefix = kCheckPrefix;
    std::map<std::string, Raw> urls;                        // name -> url
    std::vector<std::pair<std::string, std::string>> opts;  // variable -> value
    for (const auto& [key, value] : env) {
        if (key.compare(0, prefix.size(), prefix) != 0) continue;
        if (key.compare(0, check_prefix.size(), check_prefix) == 0) {
            const std::string rest = key.substr(check_prefix.size());
            bool is_option = false;
            for (const auto& word : option_words()) {
                const std::string suffix = "_" + word;
                if (rest.size() > suffix.size() &&
                    rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) == 0) {
                    is_option = true;
                }
            }
            if (is_option) {
                opts.emplace_back(key, value);
            } else {
                const std::string name = lower(rest);
                if (!valid_name(name)) {
                    throw ConfigError(key, "check names are letters, digits and _ "
                                           "(READYPROBE_CHECK_<NAME>=<url>)");
                }
                urls[name] = Raw{value, key};
            }
            continue;
        }
        const std::string word = key.substr(prefix.size());
        if (word == "LISTEN" && options.ignore_listen) continue;
        if (!contains(kGlobals, word)) {
            throw ConfigError(key, "unknown variable (known: READYPROBE_" +
                                       join(kGlobals, ", READYPROBE_") +
                                       ", READYPROBE_CHECK_<NAME>[_<OPTION>])");
        }
        if (word != "CONFIG") raw.globals[word] = Raw{value, key};
    }

    // A "URL" whose name is an existing check plus a suffix is a misspelt option.
    for (const auto& [name, url] : urls) {
        if (url.value.find("://") != std::string::npos) continue;
        for (const auto& [other, unused] : urls) {
            if (other != name && name.compare(0, other.size() + 1, other + "_") == 0) {
                throw ConfigError(url.where, "unknown option " + upper(name.substr(other.size() + 1)) +
                                                 " for check " + other + " (options: " +
                                                 join(option_words(), ", ") + ")");
            }
        }
        for (const auto& [other, unused] : raw.checks) {
            if (name.compare(0, other.size() + 1, other + "_") == 0) {
                throw ConfigError(url.where, "unknown option " + upper(name.substr(other.size() + 1)) +
                                                 " for check " + other + " (options: " +
                                                 join(option_words(), ", ") + ")");
            }
        }
    }
    for (const auto& [name, url] : urls) {
        RawCheck& rc = raw.checks[name];
        if (!rc.url) raw.order.push_back(name);
        rc.url = url;
    }
    for (const auto& [key, value] : opts) {
        const std::string rest = key.substr(check_prefix.size());
        // The longest option word that ends the variable wins (INTERVAL ends FAST_INTERVAL).
        std::vector<std::string> words = option_words();
        std::sort(words.begin(), words.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
        for (const auto& word : words) {
            const std::string suffix = "_" + word;
            if (rest.size() <= suffix.size() ||
                rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) != 0) {
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

Duration parse_duration_at(const Raw& raw, bool allow_zero = false) {
    try {
        Duration d = parse_duration(raw.value);
        if (d == Duration::zero() && !allow_zero) {
            throw ConfigError(raw.where, "must be greater than zero");
        }
        return d;
    } catch (const std::invalid_argument& e) {
        throw ConfigError(raw.where, std::string(e.what()));
    }
}

int parse_count(const Raw& raw) {
    const std::string v = trim(raw.value);
    if (v.empty() || v.size() > 4 ||
        !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
        throw ConfigError(raw.where, "must be a whole number from 1 to 1000, not " + shown(raw.value));
    }
    int n = std::stoi(v);
    if (n < 1 || n > 1000) {
        throw ConfigError(raw.where, "must be a whole number from 1 to 1000, not " + shown(raw.value));
    }
    return n;
}

bool parse_bool(const Raw& raw) {
    const std::string v = lower(trim(raw.value));
    if (v == "true" || v == "1" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "no") return false;
    throw ConfigError(raw.where, "must be true or false, not " + shown(raw.value));
}

void parse_listen(const Raw& raw, Settings& s) {
    const std::string v = trim(raw.value);
    std::string host;
    std::string port;
    if (!v.empty() && v[0] == '[') {
        auto close = v.find(']');
        if (close == std::string::npos || close + 1 >= v.size() || v[close + 1] != ':') {
            throw ConfigError(raw.where, "must be host:port or [ipv6]:port, not " + shown(v));
        }
        host = v.substr(1, close - 1);
        port = v.substr(close + 2);
    } else {
        auto colon = v.rfind(':');
        if (colon == std::string::npos) {
            throw ConfigError(raw.where, "must be host:port (e.g. 0.0.0.0:8081), not " + shown(v));
        }
        host = v.substr(0, colon);
        port = v.substr(0, 0) + v.substr(colon + 1);
        if (host.find(':') != std::string::npos) {
            throw ConfigError(raw.where, "IPv6 addresses go in brackets: [::]:8081");
        }
    }
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
        std::stoi(port) < 1 || std::stoi(port) > 65535) {
        // Echo the port only when it is a plain word: the tail of a URL pasted here
        // ("...//app?password=x") would print its password.
        const bool plain = port.size() <= 20 && std::all_of(port.begin(), port.end(), [](unsigned char c) {
                               return std::isalnum(c) || c == '.' || c == '-' || c == '_';
                           });
        throw ConfigError(raw.where, plain ? "bad port " + shown(port) + " (1-65535)"
                                           : std::string("bad port (must be a number from 1 to 65535)"));
    }
    s.listen_host = host.empty() ? "0.0.0.0" : host;
    s.listen_port = std::stoi(port);
}

const Kind& kind_of_scheme(const Url& url, const Raw& where) {
    if (const Kind* kind = detail::kind_for_scheme(url.scheme)) return *kind;
    std::string supported;
    for (const Kind* kind : detail::kinds()) {
        for (const auto& scheme : kind->schemes) supported += (supported.empty() ? "" : ", ") + scheme;
    }
    throw ConfigError(where.where, "unsupported scheme \"" + url.scheme + "\" (supported: " + supported + ")");
}

// The option `word` of `kind`, or null for a common option; throws for another kind's option.
const KindOption* kind_option(const Kind& kind, const std::string& word, const Raw& raw) {
    for (const auto& o : kind.options) {
        if (o.word == word) return &o;
    }
    for (const Kind* other : detail::kinds()) {
        for (const auto& o : other->options) {
            if (o.word != word) continue;
            throw ConfigError(raw.where, o.elsewhere.empty() ? word + " is for " + other->name + " checks only"
                                                             : o.elsewhere);
        }
    }
    return nullptr;
}

std::vector<std::string> parse_groups(const Raw& raw) {
    std::vector<std::string> groups;
    for (const auto& g : split(raw.value, ',')) {
        const std::string group = lower(g);
        if (group.empty() || !std::all_of(group.begin(), group.end(), [](unsigned char c) {
                return std::islower(c) || std::isdigit(c) || c == '_' || c == '-';
            })) {
            throw ConfigError(raw.where, "must be a comma list of group names "
                                         "(live, ready, startup or your own), not " + shown(raw.value));
        }
        if (!contains(groups, group)) groups.push_back(group);
    }
    if (groups.empty()) {
        throw ConfigError(raw.where, "must name at least one group (live, ready, startup or your own)");
    }
    return groups;
}

// An option every check has (kCommonOptions).
void parse_common_option(CheckSpec& spec, const Kind& kind, const std::string& word, const Raw& raw) {
    Schedule& sc = spec.schedule;
    if (word == "INTERVAL") {
        sc.interval = parse_duration_at(raw);
    } else if (word == "FAST_INTERVAL") {
        sc.fast_interval = parse_duration_at(raw);
    } else if (word == "TIMEOUT") {
        sc.timeout = parse_duration_at(raw);
    } else if (word == "RISE") {
        sc.rise = parse_count(raw);
    } else if (word == "FALL") {
        sc.fall = parse_count(raw);
    } else if (word == "CRITICAL") {
        sc.critical = parse_bool(raw);
    } else if (word == "GROUPS") {
        sc.groups = parse_groups(raw);
    } else if (word == "PASSWORD") {
        if (!kind.has_password) throw ConfigError(raw.where, "a " + kind.name + " check has no password");
        spec.url.password = Secret(raw.value);
    }
}

// The kind comes from the URL's scheme; the kind validates its URL and parses its own options.
CheckSpec parse_check(const std::string& name, const RawCheck& rc, const Settings& s) {
    CheckSpec spec;
    spec.name = name;
    const Raw& url_raw = *rc.url;
    try {
        spec.url = parse_url(trim(url_raw.value));
    } catch (const std::invalid_argument& e) {
        throw ConfigError(url_raw.where, std::string("bad URL: ") + e.what());
    }
    const Kind& kind = kind_of_scheme(spec.url, url_raw);
    spec.kind = kind.name;
    if (kind.check_url) kind.check_url(spec.url, url_raw.where);

    spec.schedule.interval = s.interval;
    spec.schedule.fast_interval = s.fast_interval;
    spec.schedule.timeout = s.timeout;
    spec.schedule.rise = s.rise;
    spec.schedule.fall = s.fall;
    for (const auto& [word, raw] : rc.options) {
        if (const KindOption* option = kind_option(kind, word, raw)) {
            option->parse(spec, raw);
        } else {
            parse_common_option(spec, kind, word, raw);
        }
    }
    if (kind.finish) kind.finish(spec, rc.options);
    return spec;
}

}  // namespace

Details parse_details(const std::string& text) {
    const std::string v = lower(trim(text));
    if (v == "none") return Details::none;
    if (v == "status") return Details::status;
    if (v == "full") return Details::full;
    throw std::invalid_argument("must be none, status or full, not " + shown(text));
}

CheckSpec check_spec(const std::string& name, const std::string& url, Schedule schedule) {
    if (!valid_name(name)) throw ConfigError(name, "check names are lower-case letters, digits and _");
    RawCheck raw;
    raw.url = Raw{url, name};
    Settings defaults;
    defaults.interval = schedule.interval;
    defaults.fast_interval = schedule.fast_interval;
    defaults.timeout = schedule.timeout;
    defaults.rise = schedule.rise;
    defaults.fall = schedule.fall;
    CheckSpec spec = parse_check(name, raw, defaults);
    spec.schedule = std::move(schedule);
    return spec;
}

Environment current_environment() {
    Environment env;
    for (char** e = environ; e && *e; ++e) {
        std::string entry = *e;
        auto eq = entry.find('=');
        if (eq == std::string::npos) continue;
        env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    return env;
}

Settings load_settings(const Environment& env, LoadOptions options) {
    RawConfig raw;
    Settings s;
    if (auto it = env.find("READYPROBE_CONFIG"); it != env.end() && !it->second.empty()) {
        s.config_file = it->second;
        load_json(it->second, raw);
    }
    load_env(env, raw, options);

    const auto& g = raw.globals;
    if (auto it = g.find("LISTEN"); it != g.end() && !options.ignore_listen) parse_listen(it->second, s);
    if (auto it = g.find("INTERVAL"); it != g.end()) s.interval = parse_duration_at(it->second);
    if (auto it = g.find("FAST_INTERVAL"); it != g.end()) s.fast_interval = parse_duration_at(it->second);
    if (auto it = g.find("TIMEOUT"); it != g.end()) s.timeout = parse_duration_at(it->second);
    if (auto it = g.find("DRAIN"); it != g.end()) s.drain = parse_duration_at(it->second, true);
    if (auto it = g.find("RISE"); it != g.end()) s.rise = parse_count(it->second);
    if (auto it = g.find("FALL"); it != g.end()) s.fall = parse_count(it->second);
    if (auto it = g.find("DETAILS"); it != g.end()) {
        try {
            s.details = parse_details(it->second.value);
        } catch (const std::invalid_argument& e) {
            throw ConfigError(it->second.where, e.what());
        }
    }
    if (auto it = g.find("LOG_FORMAT"); it != g.end()) {
        const std::string v = lower(trim(it->second.value));
        if (v == "text") {
            s.log_format = LogFormat::text;
        } else if (v == "json") {
            s.log_format = LogFormat::json;
        } else {
            throw ConfigError(it->second.where, "must be text or json, not " + shown(it->second.value));
        }
    }
    if (auto it = g.find("LOG_LEVEL"); it != g.end()) {
        const std::string v = lower(trim(it->second.value));
        static const std::vector<std::string> levels = {"trace", "debug", "info", "warn",
                                                        "warning", "error", "critical", "off"};
        if (!contains(levels, v)) {
            throw ConfigError(it->second.where,
                              "must be one of " + join(levels, ", ") + ", not " + shown(it->second.value));
        }
        s.log_level = v == "warning" ? "warn" : v;
    }

    for (const auto& name : raw.order) {
        s.checks.push_back(parse_check(name, raw.checks.at(name), s));
    }
    return s;
}

std::vector<Secret> Settings::secrets() const {
    std::vector<Secret> out;
    for (const auto& c : checks) {
        for (const auto& secret : c.url.secrets()) out.push_back(secret);
    }
    return out;
}

std::string Settings::to_json() const {
    static const char* details_names[] = {"none", "status", "full"};
    nlohmann::json j;
    const bool v6 = listen_host.find(':') != std::string::npos;
    j["listen"] = (v6 ? "[" + listen_host + "]" : listen_host) + ":" + std::to_string(listen_port);
    j["interval"] = format_duration(interval);
    j["fast_interval"] = format_duration(fast_interval);
    j["timeout"] = format_duration(timeout);
    j["rise"] = rise;
    j["fall"] = fall;
    j["drain"] = format_duration(drain);
    j["details"] = details_names[static_cast<int>(details)];
    j["log_format"] = log_format == LogFormat::json ? "json" : "text";
    j["log_level"] = log_level;
    if (!config_file.empty()) j["config_file"] = config_file;
    nlohmann::json checks_json = nlohmann::json::object();
    for (const auto& c : checks) {
        nlohmann::json cj;
        cj["kind"] = c.kind;
        cj["url"] = c.url.redacted();
        cj["interval"] = format_duration(c.schedule.interval);
        cj["fast_interval"] = format_duration(c.schedule.fast_interval);
        cj["timeout"] = format_duration(c.schedule.timeout);
        cj["rise"] = c.schedule.rise;
        cj["fall"] = c.schedule.fall;
        cj["groups"] = c.schedule.groups;
        cj["critical"] = c.schedule.critical;
        if (!c.url.password.empty()) cj["password"] = "***";
        if (const Kind* kind = detail::kind_named(c.kind); kind && kind->describe) kind->describe(c, cj);
        checks_json[c.name] = std::move(cj);
    }
    j["checks"] = std::move(checks_json);
    // URLs are redacted and passwords written as "***" above: nothing to mask afterwards
    // (masking the dump would also corrupt it when a password is short, like "2").
    // URLs are kept as written: invalid UTF-8 in one is replaced, not thrown.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace readyprobe
