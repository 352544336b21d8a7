// What a check kind tells the configuration loader (config.cpp) and the factory (make_check): its
// URL schemes, its own options (parse, validate, describe for `readyprobe config`) and how to build
// its check. Each kind defines its Kind beside its check (src/checks/<kind>.cpp); the one table
// of kinds is src/checks/registry.cpp. This header is the configuration's view of a kind: it
// includes no check code, so config.cpp depends on the table only through it (and links it).
#pragma once

#include <readyprobe/spec.hpp>

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace readyprobe {
class Check;
}

namespace readyprobe::detail {

// One setting as written and where it was written (the variable or JSON path), for errors.
struct RawOption {
    std::string value;
    std::string where;
};
using RawOptions = std::map<std::string, RawOption>;  // option word (upper-case) -> setting

// One option of a kind: READYPROBE_CHECK_<NAME>_<WORD>, or "<word>" in a JSON check.
struct KindOption {
    std::string word;
    // Its place in the option list that error messages print. The list kept its order when the
    // options moved into their kinds (messages are byte-identical): a new option takes the next
    // free number (the common options are in config_sources.cpp: 0-6 and 12).
    int listed = 0;
    // Sets the spec from the setting; throws ConfigError naming raw.where.
    void (*parse)(CheckSpec& spec, const RawOption& raw) = nullptr;
    // The error for this option on a check of another kind; empty: "<WORD> is for <kind> checks only".
    std::string elsewhere;
};

struct Kind {
    std::string name;                  // CheckSpec::kind
    std::vector<std::string> schemes;  // lower-case, in the order `unsupported scheme` lists them
    std::vector<KindOption> options;
    bool has_password = true;          // PASSWORD applies
    // The URL fits this kind; throws ConfigError naming `where`. May be null.
    void (*check_url)(const Url& url, const std::string& where) = nullptr;
    // After every option is parsed: what needs several options together. May be null.
    void (*finish)(CheckSpec& spec, const RawOptions& options) = nullptr;
    // Adds this kind's options to the check's object in `readyprobe config`. May be null.
    void (*describe)(const CheckSpec& spec, nlohmann::json& out) = nullptr;
    // Builds the check (throws std::invalid_argument for options it cannot honour).
    std::unique_ptr<Check> (*make)(const CheckSpec& spec) = nullptr;
};

// The table, in order (src/checks/registry.cpp).
const std::vector<const Kind*>& kinds();
// Null when no kind has the scheme / the name.
const Kind* kind_for_scheme(const std::string& scheme);
const Kind* kind_named(const std::string& name);

}  // namespace readyprobe::detail
