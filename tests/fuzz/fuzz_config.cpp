// libFuzzer target: readyprobe::load_settings from an environment map and a JSON file.
//
// Input: text. Lines before a line "--- json" are environment variables KEY=VALUE
// ("C_" abbreviates READYPROBE_CHECK_, "G_" abbreviates READYPROBE_); everything after it is
// the JSON file, written to a memfd and named by READYPROBE_CONFIG (which the input cannot set
// to anything else: no real file is ever read).
//
// Properties:
// - load_settings returns or throws readyprobe::ConfigError; nothing else escapes (a stray
//   std::out_of_range would end the sidecar with "readyprobe: stod" instead of naming the
//   variable).
// - No password given in the input (a *_PASSWORD value, a URL's password, a JSON "password"
//   string, even in a malformed file) appears in an error message or in Settings::to_json()
//   (what `readyprobe config` prints); to_json() does not depend on the passwords at all.
#include "fuzz_support.hpp"

#include <readyprobe/config.hpp>

#include <nlohmann/json.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace readyprobe;
using rpfuzz::contains;

namespace {

// The JSON file: one memfd, rewritten for every input; opened by path like a real file.
const std::string& json_path(const std::string& text) {
    static const int fd = [] {
        const int f = ::memfd_create("readyprobe-fuzz-config", MFD_CLOEXEC);
        if (f < 0) std::abort();
        return f;
    }();
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    if (::ftruncate(fd, 0) != 0) std::abort();
    if (!text.empty() && ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        std::abort();
    }
    return path;
}

std::string expand(const std::string& key) {
    if (key.compare(0, 2, "C_") == 0) return "READYPROBE_CHECK_" + key.substr(2);
    if (key.compare(0, 2, "G_") == 0) return "READYPROBE_" + key.substr(2);
    return key;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A URL's password, when it is written as-is (not percent-encoded) in the URL: the checks
// below replace the secret where the input wrote it, so that is where it must be.
void add_url_password(const std::string& url_text, std::vector<std::string>& out) {
    try {
        const Url u = parse_url(trim(url_text));
        const std::string& pw = u.password.reveal();
        if (!pw.empty() && url_text.find(pw) != std::string::npos) out.push_back(pw);
    } catch (const std::invalid_argument&) {
    }
}

// "password": "<prefix up to the first quote, backslash or control character>" in raw JSON
// text, so a malformed file's secrets are known too.
void add_raw_json_passwords(const std::string& json, std::vector<std::string>& out) {
    for (std::size_t at = json.find("\"password\""); at != std::string::npos;
         at = json.find("\"password\"", at + 1)) {
        std::size_t i = at + 10;
        while (i < json.size() && (json[i] == ' ' || json[i] == ':' || json[i] == '\t')) ++i;
        if (i >= json.size() || json[i] != '"') continue;
        std::string value;
        for (++i; i < json.size(); ++i) {
            const unsigned char c = static_cast<unsigned char>(json[i]);
            if (c == '"' || c == '\\' || c < 0x20) break;
            value.push_back(json[i]);
        }
        out.push_back(value);
    }
}

// Passwords of a parsed file, when written without JSON escapes (see add_url_password).
void add_json_passwords(const nlohmann::json& doc, const std::string& text, std::vector<std::string>& out) {
    if (!doc.is_object() || !doc.contains("checks") || !doc["checks"].is_object()) return;
    auto as_is = [&](const std::string& value) { return text.find("\"" + value + "\"") != std::string::npos; };
    for (const auto& [name, check] : doc["checks"].items()) {
        if (!check.is_object()) continue;
        if (check.contains("password") && check["password"].is_string() &&
            as_is(check["password"].get<std::string>())) {
            out.push_back(check["password"].get<std::string>());
        }
        if (check.contains("url") && check["url"].is_string() && as_is(check["url"].get<std::string>())) {
            add_url_password(check["url"].get<std::string>(), out);
        }
    }
}

struct Outcome {
    bool ok = false;
    std::string output;  // the error message, or to_json()
    Settings settings;
};

Outcome load(const Environment& env, LoadOptions options) {
    Outcome out;
    try {
        out.settings = load_settings(env, options);
    } catch (const ConfigError& e) {
        RPFUZZ_CHECK(!e.where().empty(), e.what());
        out.output = e.what();
        return out;
    }
    out.ok = true;
    out.output = out.settings.to_json();
    return out;
}

Outcome evaluate(const std::string& input, bool ignore_listen, std::vector<std::string>* secrets);

void run(const std::string& input, bool ignore_listen) {
    std::vector<std::string> secrets;
    const Outcome first = evaluate(input, ignore_listen, &secrets);
    for (const auto& s : secrets) {
        // Checked: long enough, written once and as-is in the input, not masked text itself.
        if (s.find('*') != std::string::npos || input.find(s) == std::string::npos ||
            !rpfuzz::checkable_secret(s, rpfuzz::without_first(input, s)) || rpfuzz::rotate(s) == s) {
            continue;
        }
        if (!contains(first.output, s)) continue;
        // The output shows the secret's text. A leak if that text follows the secret: with
        // another password in its place, it is gone. (Otherwise the password just happens to
        // be a word of the output, like "must" or "ready".)
        const Outcome second = evaluate(rpfuzz::with_rotated(input, s), ignore_listen, nullptr);
        RPFUZZ_CHECK(contains(second.output, s),
                     (first.ok ? "`readyprobe config` shows a password: " : "a configuration error shows a password: ") +
                         first.output);
    }
    if (!first.ok) return;
    // Non-interference: other passwords, the same output.
    Settings other = first.settings;
    for (auto& c : other.checks) {
        if (!c.url.password.empty()) c.url.password = Secret("Zz-other-pw");
    }
    RPFUZZ_CHECK(other.to_json() == first.output, "to_json() depends on a password");
    // One password per check plus every secret query parameter (sslpassword=...) of its URL.
    std::size_t secret_fields = 0;
    for (const auto& c : first.settings.checks) secret_fields += 1 + c.url.secret_query.size();
    RPFUZZ_CHECK(first.settings.secrets().size() <= secret_fields, "more secrets than secret fields");
    for (const auto& c : first.settings.checks) {
        RPFUZZ_CHECK(!c.name.empty() && c.schedule.rise >= 1 && c.schedule.fall >= 1, c.name);
        RPFUZZ_CHECK(c.schedule.interval.count() > 0 && c.schedule.timeout.count() > 0, c.name);
        RPFUZZ_CHECK(!c.schedule.groups.empty(), c.name);
    }
}

Outcome evaluate(const std::string& input, bool ignore_listen, std::vector<std::string>* secrets) {
    std::string env_text = input;
    std::string json_text;
    bool has_json = false;
    if (const auto at = input.find("--- json\n"); at != std::string::npos && (at == 0 || input[at - 1] == '\n')) {
        env_text = input.substr(0, at);
        json_text = input.substr(at + 9);
        has_json = true;
    }

    Environment env;
    for (const auto& line : rpfuzz::split(env_text, "\n")) {
        const auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        env[expand(line.substr(0, eq))] = line.substr(eq + 1);
    }
    env.erase("READYPROBE_CONFIG");
    if (secrets) {
        for (const auto& [key, value] : env) {
            if (ends_with(key, "_PASSWORD")) secrets->push_back(value);
            if (value.find("://") != std::string::npos) add_url_password(value, *secrets);
        }
    }
    if (has_json) {
        env["READYPROBE_CONFIG"] = json_path(json_text);
        if (secrets) {
            add_raw_json_passwords(json_text, *secrets);
            const auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
            if (!doc.is_discarded()) add_json_passwords(doc, json_text, *secrets);
        }
    }
    LoadOptions options;
    options.ignore_listen = ignore_listen;
    return load(env, options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input = rpfuzz::as_string(data, size);
    run(input, false);
    if (input.find("LISTEN=") != std::string::npos) run(input, true);
    return 0;
}
