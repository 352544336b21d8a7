// Configuration from the environment (ECS `environment` and `secrets`) and an optional JSON file.
#pragma once

#include <readyprobe/duration.hpp>
#include <readyprobe/spec.hpp>
#include <readyprobe/url.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace readyprobe {

// A configuration problem: `where` names the variable or JSON path.
class ConfigError : public std::runtime_error {
public:
    ConfigError(std::string where, const std::string& what)
        : std::runtime_error(where + ": " + what), where_(std::move(where)) {}
    const std::string& where() const { return where_; }

private:
    std::string where_;
};

enum class LogFormat { text, json };

struct Settings {
    std::string listen_host = "0.0.0.0";
    int listen_port = 8081;
    Duration interval = std::chrono::seconds(2);
    Duration fast_interval = std::chrono::milliseconds(300);
    Duration timeout = std::chrono::seconds(1);
    int rise = 1;
    int fall = 2;
    Duration drain = std::chrono::seconds(5);
    Details details = Details::status;
    LogFormat log_format = LogFormat::text;
    std::string log_level = "info";
    std::string config_file;  // READYPROBE_CONFIG, if set
    std::vector<CheckSpec> checks;

    // For `readyprobe config`: every setting, URLs redacted, passwords masked.
    std::string to_json() const;
    std::vector<Secret> secrets() const;
};

using Environment = std::map<std::string, std::string>;

// The process environment as a map.
Environment current_environment();

struct LoadOptions {
    // READYPROBE_LISTEN is ignored (an embedding application serves on its own port).
    bool ignore_listen = false;
};

// Parses READYPROBE_* variables (and the JSON file named by READYPROBE_CONFIG; the environment
// wins). Throws ConfigError naming the first bad variable or JSON path.
Settings load_settings(const Environment& env, LoadOptions options = {});

// One check from a URL, for applications that build checks in code:
//   prober.add("db", make_check(check_spec("db", "postgres://app@db/orders")));
// The kind comes from the scheme; `schedule` and options can be adjusted on the result.
// Throws ConfigError (where() is the name) for a bad URL or an unsupported scheme.
CheckSpec check_spec(const std::string& name, const std::string& url, Schedule schedule = {});


}  // namespace readyprobe
