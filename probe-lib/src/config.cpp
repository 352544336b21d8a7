#include <readyprobe/config.hpp>

#include "checks/io.hpp"
#include "checks/lease.hpp"
#include "checks/migration.hpp"
#include "text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <filesystem>
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

// Per-check option words, as in READYPROBE_CHECK_<NAME>_<OPTION>.
// FAST_INTERVAL ends in INTERVAL: the longest word that ends a variable wins.
const std::vector<std::string> kOptions = {"INTERVAL", "TIMEOUT",  "RISE",   "FALL",
                                           "GROUPS",   "CRITICAL", "PASSWORD", "EXPECT",
                                           "POOL",     "MIGRATION", "MIGRATION_DIR", "REQUIRE",
                                           "FAST_INTERVAL", "CA_FILE", "ANNOUNCE"};

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

// One raw setting with where it came from, for error messages.
struct Raw {
    std::string value;
    std::string where;
};

struct RawCheck {
    std::optional<Raw> url;
    std::map<std::string, Raw> options;  // option word (upper-case) -> value
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
                    } else if (contains(kOptions, upper(opt)) && opt == lower(opt)) {
                        rc.options[upper(opt)] = Raw{json_scalar(v, ow), ow};
                    } else {
                        throw ConfigError(ow, "unknown key (known: url, " +
                                                  lower(join(kOptions, ", ")) + ")");
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
            for (const auto& word : kOptions) {
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
                                                 join(kOptions, ", ") + ")");
            }
        }
        for (const auto& [other, unused] : raw.checks) {
            if (name.compare(0, other.size() + 1, other + "_") == 0) {
                throw ConfigError(url.where, "unknown option " + upper(name.substr(other.size() + 1)) +
                                                 " for check " + other + " (options: " +
                                                 join(kOptions, ", ") + ")");
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
        std::vector<std::string> words = kOptions;
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

// CA_FILE: the CA certificate(s), PEM, a rediss:// check trusts instead of the system store.
std::string parse_ca_file(const Raw& raw, const CheckSpec& spec) {
    if (spec.kind != "redis") throw ConfigError(raw.where, "CA_FILE is for redis checks only (rediss://)");
    if (spec.url.scheme != "rediss") {
        throw ConfigError(raw.where, "CA_FILE needs a TLS URL: rediss:// (this check's URL is redis://)");
    }
    const std::string path = trim(raw.value);
    if (path.empty()) throw ConfigError(raw.where, "must be the path of a PEM file of CA certificates");
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw ConfigError(raw.where, shown(path) + " is a directory, not a PEM file of CA certificates");
    }
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(raw.where, "cannot read " + shown(path) +
                                         (errno ? ": " + detail::errno_text(errno) : ""));
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        throw ConfigError(raw.where, shown(path) + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    return path;
}

const std::map<std::string, std::string> kSchemes = {
    {"postgres", "postgres"}, {"postgresql", "postgres"}, {"redis", "redis"},
    {"rediss", "redis"},      {"http", "http"},           {"https", "http"},
    {"tcp", "tcp"},           {"file", "file"}};

CheckSpec parse_check(const std::string& name, const RawCheck& rc, const Settings& s) {
    CheckSpec spec;
    spec.name = name;
    const Raw& url_raw = *rc.url;
    try {
        spec.url = parse_url(trim(url_raw.value));
    } catch (const std::invalid_argument& e) {
        throw ConfigError(url_raw.where, std::string("bad URL: ") + e.what());
    }
    auto kind = kSchemes.find(spec.url.scheme);
    if (kind == kSchemes.end()) {
        throw ConfigError(url_raw.where, "unsupported scheme \"" + spec.url.scheme +
                                             "\" (supported: postgres, postgresql, redis, rediss, "
                                             "http, https, tcp, file)");
    }
    spec.kind = kind->second;
    const Url& u = spec.url;
    if (spec.kind == "file") {
        if (!u.host.empty() && u.host != "localhost") {
            throw ConfigError(url_raw.where, "file URLs are file:///absolute/path");
        }
        if (u.path.empty() || u.path == "/") {
            throw ConfigError(url_raw.where, "file URL has no path (file:///absolute/path)");
        }
    } else if (spec.kind == "tcp") {
        if (u.host.empty() || u.port == 0) {
            throw ConfigError(url_raw.where, "tcp URLs are tcp://host:port");
        }
    } else if (spec.kind == "http" || spec.kind == "redis") {
        if (u.host.empty()) throw ConfigError(url_raw.where, "URL has no host");
    }
    if (spec.kind == "redis" && !u.path.empty() && u.path != "/") {
        const std::string db = u.path.substr(1);
        if (db.size() > 5 ||
            !std::all_of(db.begin(), db.end(), [](unsigned char c) { return std::isdigit(c); })) {
            throw ConfigError(url_raw.where, "the path of a redis URL is a database number");
        }
    }

    Schedule& sc = spec.schedule;
    sc.interval = s.interval;
    sc.fast_interval = s.fast_interval;
    sc.timeout = s.timeout;
    sc.rise = s.rise;
    sc.fall = s.fall;
    for (const auto& [word, raw] : rc.options) {
        if ((word == "POOL" || word == "MIGRATION" || word == "MIGRATION_DIR" || word == "REQUIRE" ||
             word == "ANNOUNCE") &&
            spec.kind != "postgres") {
            throw ConfigError(raw.where, word + " is for postgres checks only");
        }
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
            sc.groups.clear();
            for (const auto& g : split(raw.value, ',')) {
                const std::string group = lower(g);
                if (group.empty() || !std::all_of(group.begin(), group.end(), [](unsigned char c) {
                        return std::islower(c) || std::isdigit(c) || c == '_' || c == '-';
                    })) {
                    throw ConfigError(raw.where, "must be a comma list of group names "
                                                 "(live, ready, startup or your own), not " +
                                                     shown(raw.value));
                }
                if (!contains(sc.groups, group)) sc.groups.push_back(group);
            }
            if (sc.groups.empty()) {
                throw ConfigError(raw.where, "must name at least one group (live, ready, startup or your own)");
            }
        } else if (word == "PASSWORD") {
            if (spec.kind == "file" || spec.kind == "tcp") {
                throw ConfigError(raw.where, "a " + spec.kind + " check has no password");
            }
            spec.url.password = Secret(raw.value);
        } else if (word == "POOL") {
            const std::string v = trim(raw.value);
            if (v.empty() || v.size() > 3 ||
                !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); }) ||
                std::stoi(v) < 1 || std::stoi(v) > 100) {
                throw ConfigError(raw.where, "must be a number of connections from 1 to 100, not " + shown(raw.value));
            }
            spec.pool = std::stoi(v);
        } else if (word == "MIGRATION") {
            try {
                detail::parse_migration(trim(raw.value));
            } catch (const std::invalid_argument& e) {
                throw ConfigError(raw.where, e.what());
            }
            spec.migration = trim(raw.value);
        } else if (word == "MIGRATION_DIR") {
            spec.migration_dir = trim(raw.value);
            if (spec.migration_dir.empty()) throw ConfigError(raw.where, "is empty (the alembic versions directory)");
        } else if (word == "REQUIRE") {
            try {
                spec.require = detail::parse_require(raw.value);
            } catch (const std::invalid_argument& e) {
                throw ConfigError(raw.where, e.what());
            }
        } else if (word == "ANNOUNCE") {
            try {
                detail::parse_announce(trim(raw.value));
            } catch (const std::invalid_argument& e) {
                throw ConfigError(raw.where, std::string(e.what()) + ", not " + shown(raw.value));
            }
            spec.announce = trim(raw.value);
        } else if (word == "CA_FILE") {
            spec.ca_file = parse_ca_file(raw, spec);
        } else if (word == "EXPECT") {
            if (spec.kind != "http") throw ConfigError(raw.where, "EXPECT is for http checks only");
            try {
                spec.expect = parse_status_ranges(raw.value);
            } catch (const std::invalid_argument& e) {
                throw ConfigError(raw.where, e.what());
            }
        }
    }
    // The whole gate, as the check will evaluate it: an alembic gate reads its revision history
    // now, so a gate that cannot be evaluated soundly is refused before anything starts.
    if (auto dir = rc.options.find("MIGRATION_DIR"); dir != rc.options.end() && spec.migration.empty()) {
        throw ConfigError(dir->second.where, "is for alembic gates: set MIGRATION too (e.g. alembic>=<revision>)");
    }
    if (!spec.migration.empty()) {
        try {
            detail::load_migration(spec.migration, spec.migration_dir);
        } catch (const std::invalid_argument& e) {
            auto dir = rc.options.find("MIGRATION_DIR");
            throw ConfigError(dir != rc.options.end() ? dir->second.where : rc.options.at("MIGRATION").where, e.what());
        }
    }
    return spec;
}

}  // namespace

std::vector<StatusRange> parse_status_ranges(const std::string& text) {
    std::vector<StatusRange> out;
    const std::string bad = "bad status list " + shown(text) + " (e.g. 200,204,300-399)";
    for (const auto& item : split(text, ',')) {
        auto dash = item.find('-');
        auto code = [&](const std::string& s) {
            if (s.size() != 3 || !std::all_of(s.begin(), s.end(), [](unsigned char c) {
                    return std::isdigit(c);
                })) {
                throw std::invalid_argument(bad);
            }
            int v = std::stoi(s);
            if (v < 100 || v > 599) throw std::invalid_argument(bad);
            return v;
        };
        StatusRange r{};
        if (dash == std::string::npos) {
            r.lo = r.hi = code(item);
        } else {
            r.lo = code(trim(item.substr(0, dash)));
            r.hi = code(trim(item.substr(dash + 1)));
            if (r.lo > r.hi) throw std::invalid_argument(bad);
        }
        out.push_back(r);
    }
    if (out.empty()) throw std::invalid_argument(bad);
    return out;
}

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
        if (c.pool > 0) cj["pool"] = c.pool;
        if (!c.migration.empty()) cj["migration"] = c.migration;
        if (!c.migration_dir.empty()) cj["migration_dir"] = c.migration_dir;
        if (!c.require.empty()) cj["require"] = c.require;
        if (!c.announce.empty()) cj["announce"] = c.announce;
        if (!c.ca_file.empty()) cj["ca_file"] = c.ca_file;
        if (c.kind == "http") {
            std::vector<std::string> ranges;
            for (const auto& r : c.expect) {
                ranges.push_back(r.lo == r.hi ? std::to_string(r.lo)
                                              : std::to_string(r.lo) + "-" + std::to_string(r.hi));
            }
            cj["expect"] = join(ranges, ",");
        }
        checks_json[c.name] = std::move(cj);
    }
    j["checks"] = std::move(checks_json);
    // URLs are redacted and passwords written as "***" above: nothing to mask afterwards
    // (masking the dump would also corrupt it when a password is short, like "2").
    // URLs are kept as written: invalid UTF-8 in one is replaced, not thrown.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace readyprobe
