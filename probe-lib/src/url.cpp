#include <readyprobe/url.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace readyprobe {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Never echoes the URL: the ambiguity is about where its password ends.
const char* const kAmbiguous =
    "ambiguous URL: percent-encode '@', '/' and '?' in the password (%40, %2F, %3F) "
    "and '@' after the host (%40)";

bool valid_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string percent_decode(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%') {
            if (i + 2 >= text.size()) {
                throw std::invalid_argument("bad percent-encoding");
            }
            int hi = hex_value(text[i + 1]);
            int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) throw std::invalid_argument("bad percent-encoding");
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

Url parse_url(const std::string& text) {
    Url url;
    auto scheme_end = text.find("://");
    if (scheme_end == std::string::npos || scheme_end == 0) {
        throw std::invalid_argument("not a URL (expected scheme://...)");
    }
    url.scheme = lower(text.substr(0, scheme_end));
    for (char c : url.scheme) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
            throw std::invalid_argument("bad scheme");
        }
    }
    const std::string rest = text.substr(scheme_end + 3);

    // Where the userinfo ends. Passwords are often pasted unencoded, so a '/', '?' or '#' in
    // one must not split it (and then leak its head as a host or port): '#' is never special
    // (these URLs have no fragments), and when the first segment is "user:secret" (not
    // "host:port") with an '@' further on, the userinfo runs to that '@'.
    std::size_t first_end = rest.find_first_of("/?");
    std::size_t at = rest.rfind('@', first_end == std::string::npos ? std::string::npos : first_end);
    if (at == std::string::npos && first_end != std::string::npos) {
        const std::size_t later = rest.find('@', first_end);
        const std::size_t colon = rest.find(':');
        if (later != std::string::npos && colon != std::string::npos && colon < first_end) {
            const std::string after_colon = rest.substr(colon + 1, first_end - colon - 1);
            const bool looks_like_port =
                !after_colon.empty() && std::all_of(after_colon.begin(), after_colon.end(),
                                                    [](unsigned char c) { return std::isdigit(c); });
            if (!looks_like_port) {
                const std::size_t host_end = rest.find_first_of("/?", later);
                at = rest.rfind('@', host_end == std::string::npos ? std::string::npos : host_end);
            } else {
                // "user:12345/x@db" (a password of digits, then '/' or '?') reads like "db:8080/x@y"
                // (an '@' in the path or query): a guess would either print the password as
                // port and path, or connect to the wrong host.
                throw std::invalid_argument(kAmbiguous);
            }
        }
    }
    std::string userinfo;
    std::string after = rest;
    if (at != std::string::npos) {
        userinfo = rest.substr(0, at);
        after = rest.substr(at + 1);
        // Another '@' after the userinfo: "u:a@b/c@db" is a password "a@b/c" as much as a host
        // "b" with the path "/c@db" (which would print the rest of the password).
        if (after.find('@') != std::string::npos) throw std::invalid_argument(kAmbiguous);
    }
    std::string query;
    if (auto q = after.find('?'); q != std::string::npos) {
        query = after.substr(q + 1);
        after.erase(q);
    }
    std::string authority = after;
    if (auto slash = after.find('/'); slash != std::string::npos) {
        authority = after.substr(0, slash);
        url.path = after.substr(slash);
    }
    if (at != std::string::npos) {
        auto colon = userinfo.find(':');
        try {
            if (colon == std::string::npos) {
                url.user = percent_decode(userinfo);
            } else {
                url.user = percent_decode(userinfo.substr(0, colon));
                url.password = Secret(percent_decode(userinfo.substr(colon + 1)));
            }
        } catch (const std::invalid_argument&) {
            throw std::invalid_argument("bad percent-encoding in the user or password");
        }
    }

    // host[:port], host may be [v6]
    std::string port_text;
    if (!authority.empty() && authority[0] == '[') {
        auto close = authority.find(']');
        if (close == std::string::npos) throw std::invalid_argument("unterminated IPv6 address");
        url.host = authority.substr(1, close - 1);
        std::string after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') throw std::invalid_argument("bad text after IPv6 address");
            port_text = after.substr(1);
            if (port_text.empty()) throw std::invalid_argument("empty port");
        }
        for (char c : url.host) {
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
                throw std::invalid_argument("bad IPv6 address");
            }
        }
    } else {
        auto colon = authority.rfind(':');
        if (colon != std::string::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) throw std::invalid_argument("empty port");
            authority.erase(colon);
        }
        url.host = authority;
        for (char c : url.host) {
            if (!valid_host_char(c)) throw std::invalid_argument("bad character in host name");
        }
    }
    if (!port_text.empty()) {
        if (port_text.size() > 5 ||
            !std::all_of(port_text.begin(), port_text.end(),
                         [](unsigned char c) { return std::isdigit(c); })) {
            throw std::invalid_argument("bad port (must be a number from 1 to 65535)");
        }
        url.port = std::stoi(port_text);
        if (url.port < 1 || url.port > 65535) {
            throw std::invalid_argument("port out of range 1-65535");
        }
    }

    // Query: key=value pairs; a password there is a secret like the userinfo one.
    std::size_t start = 0;
    while (start < query.size()) {
        auto amp = query.find('&', start);
        std::string pair = query.substr(start, amp == std::string::npos ? std::string::npos
                                                                          : amp - start);
        start = amp == std::string::npos ? query.size() : amp + 1;
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        std::string key = percent_decode(pair.substr(0, eq));
        std::string value;
        try {
            value = eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1));
        } catch (const std::invalid_argument&) {
            throw std::invalid_argument("bad percent-encoding in query parameter " + key);
        }
        if (key == "password") {
            url.password = Secret(value);
        } else {
            url.query.emplace_back(key, value);
        }
    }
    return url;
}

std::string Url::authority() const {
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != 0) out += ":" + std::to_string(port);
    return out;
}

std::string Url::redacted() const {
    std::string out = scheme + "://";
    if (!user.empty() || !password.empty()) {
        out += user;
        if (!password.empty()) out += ":***";
        out += "@";
    }
    out += authority() + path;
    for (std::size_t i = 0; i < query.size(); ++i) {
        out += (i == 0 ? "?" : "&") + query[i].first + "=" + query[i].second;
    }
    return out;
}

std::string Url::param(const std::string& key, const std::string& fallback) const {
    for (const auto& [k, v] : query) {
        if (k == key) return v;
    }
    return fallback;
}

}  // namespace readyprobe
