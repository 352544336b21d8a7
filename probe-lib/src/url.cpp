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
    std::string rest = text.substr(scheme_end + 3);

    // Split off the fragment and query, then the path.
    if (auto hash = rest.find('#'); hash != std::string::npos) rest.erase(hash);
    std::string query;
    if (auto q = rest.find('?'); q != std::string::npos) {
        query = rest.substr(q + 1);
        rest.erase(q);
    }
    std::string authority = rest;
    if (auto slash = rest.find('/'); slash != std::string::npos) {
        authority = rest.substr(0, slash);
        url.path = rest.substr(slash);
    }

    // userinfo: the last '@' separates it (passwords may contain '@' when not encoded).
    if (auto at = authority.rfind('@'); at != std::string::npos) {
        std::string userinfo = authority.substr(0, at);
        authority.erase(0, at + 1);
        auto colon = userinfo.find(':');
        if (colon == std::string::npos) {
            url.user = percent_decode(userinfo);
        } else {
            url.user = percent_decode(userinfo.substr(0, colon));
            try {
                url.password = Secret(percent_decode(userinfo.substr(colon + 1)));
            } catch (const std::invalid_argument&) {
                throw std::invalid_argument("bad percent-encoding in the password");
            }
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
            throw std::invalid_argument("bad port \"" + port_text + "\"");
        }
        url.port = std::stoi(port_text);
        if (url.port < 1 || url.port > 65535) {
            throw std::invalid_argument("port " + port_text + " out of range 1-65535");
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
