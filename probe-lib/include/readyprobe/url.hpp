// URLs of check targets, with the password split out so it cannot leak by accident.
#pragma once

#include <readyprobe/secret.hpp>

#include <string>
#include <utility>
#include <vector>

namespace readyprobe {

struct Url {
    std::string scheme;  // lower-case
    std::string user;    // percent-decoded
    Secret password;     // percent-decoded; also taken from a `password=` query parameter
    std::string host;    // without IPv6 brackets
    int port = 0;        // 0: the scheme's default
    std::string path;    // as written, starting with '/', or empty
    std::vector<std::pair<std::string, std::string>> query;  // decoded, `password` removed

    // scheme://user:***@host:port/path?query: safe to print.
    std::string redacted() const;
    // host:port with IPv6 brackets, for messages.
    std::string authority() const;
    // The value of a query parameter, or `fallback`.
    std::string param(const std::string& key, const std::string& fallback = "") const;
};

// Throws std::invalid_argument with a message that never contains the password.
Url parse_url(const std::string& text);

std::string percent_decode(const std::string& text);

}  // namespace readyprobe
