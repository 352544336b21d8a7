#include <readyprobe/config.hpp>

#include "config_raw.hpp"
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

using namespace detail::config;
using detail::Kind;
using detail::KindOption;

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

// An option every check has (kCommonOptions in config_sources.cpp).
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
