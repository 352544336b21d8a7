#include <readyprobe/url.hpp>

#include "url_text.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>
#include <vector>

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

// "a,b,,c" -> {"a", "b", "", "c"}; "" -> {""}.
std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = text.find(',', start);
        out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) return out;
        start = comma + 1;
    }
}

void check_ipv6(const std::string& host) {
    if (host.empty()) throw std::invalid_argument("bad IPv6 address");
    for (char c : host) {
        if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
            throw std::invalid_argument("bad IPv6 address");
        }
    }
}

// A decoded host: a name, an IPv6 address (from ?host=, where it has no brackets), a socket
// directory (an absolute path), or empty (libpq's default).
void check_host(const std::string& host) {
    if (host.empty()) return;
    if (host[0] == '/') {
        for (unsigned char c : host) {
            if (c < 0x20 || c == 0x7f) throw std::invalid_argument("bad character in socket directory");
        }
        return;
    }
    if (host.find(':') != std::string::npos) return check_ipv6(host);
    for (char c : host) {
        if (!valid_host_char(c)) throw std::invalid_argument("bad character in host name");
    }
}

// A port as written ("" for none) -> 1..65535, 0 for none.
int parse_port(const std::string& text) {
    if (text.empty()) return 0;
    if (text.size() > 5 ||
        !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
        throw std::invalid_argument("bad port (must be a number from 1 to 65535)");
    }
    const int port = std::stoi(text);
    if (port < 1 || port > 65535) throw std::invalid_argument("port out of range 1-65535");
    return port;
}

// One entry of the authority's host list: host[:port], [v6][:port]; the host percent-decoded.
void parse_host_port(const std::string& piece, std::string& host, std::string& port_text) {
    if (!piece.empty() && piece[0] == '[') {
        auto close = piece.find(']');
        if (close == std::string::npos) throw std::invalid_argument("unterminated IPv6 address");
        host = piece.substr(1, close - 1);
        const std::string after = piece.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') throw std::invalid_argument("bad text after IPv6 address");
            port_text = after.substr(1);
            if (port_text.empty()) throw std::invalid_argument("empty port");
        }
        check_ipv6(host);
        (void)parse_port(port_text);
        return;
    }
    std::string name = piece;
    if (auto colon = name.rfind(':'); colon != std::string::npos) {
        port_text = name.substr(colon + 1);
        if (port_text.empty()) throw std::invalid_argument("empty port");
        name.erase(colon);
    }
    try {
        host = percent_decode(name);
    } catch (const std::invalid_argument&) {
        throw std::invalid_argument("bad percent-encoding in the host");
    }
    // A decoded ':' or ',' would be read by libpq as a port or a list separator.
    if (host.find_first_of(",:") != std::string::npos && (host.empty() || host[0] != '/')) {
        throw std::invalid_argument("bad character in host name");
    }
    if (host.find(',') != std::string::npos) throw std::invalid_argument("bad character in socket directory");
    check_host(host);
    (void)parse_port(port_text);
}

// A host as the authority shows it: [v6], or percent-encoded where it is not a plain name
// (a socket directory's '/').
std::string show_host(const std::string& host) {
    if (!host.empty() && host[0] != '/' && host.find(':') != std::string::npos) return "[" + host + "]";
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (char c : host) {
        if (valid_host_char(c)) {
            out += c;
        } else {
            const auto u = static_cast<unsigned char>(c);
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
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

namespace {

// Where the userinfo of `rest` (the URL after "scheme://") ends: its '@', or npos when there is
// none. Passwords are often pasted unencoded, so a '/', '?' or '#' in one must not split it (and
// then leak its head as a host or port): '#' is never special (these URLs have no fragments),
// and when the first segment is "user:secret" (not "host:port") with an '@' further on, the
// userinfo runs to that '@'.
std::size_t userinfo_end(const std::string& rest) {
    std::size_t first_end = rest.find_first_of("/?");
    std::size_t at = rest.rfind('@', first_end == std::string::npos ? std::string::npos : first_end);
    if (at == std::string::npos && first_end != std::string::npos) {
        const std::size_t later = rest.find('@', first_end);
        const std::size_t colon = rest.find(':');
        if (later != std::string::npos && colon != std::string::npos && colon < first_end) {
            // The first of a host list's ports counts too ("db:5432,db2/x@y").
            std::string after_colon = rest.substr(colon + 1, first_end - colon - 1);
            after_colon.erase(std::min(after_colon.find(','), after_colon.size()));
            // An IPv6 host ("[::1]:5432/x@y") is a host as much.
            const bool looks_like_port =
                rest[0] == '[' ||
                (!after_colon.empty() && std::all_of(after_colon.begin(), after_colon.end(),
                                                     [](unsigned char c) { return std::isdigit(c); }));
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
    return at;
}

// "user" or "user:password", percent-decoded.
void set_userinfo(Url& url, const std::string& userinfo) {
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

// Query: key=value pairs; a password there is a secret like the userinfo one, and so is any
// parameter whose name says it is one (libpq's sslpassword). In a postgres URL, `host` and
// `port` replace the authority's lists, as they do in libpq.
void parse_query(const std::string& query, bool postgres, Url& url, std::vector<std::string>& hosts,
                 std::vector<std::string>& ports) {
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
        } else if (is_secret_param(key)) {
            url.secret_query.emplace_back(key, Secret(value));
        } else if (postgres && key == "host") {
            hosts = split_list(value);
            for (const std::string& h : hosts) check_host(h);
        } else if (postgres && key == "port") {
            ports = split_list(value);
        } else {
            url.query.emplace_back(key, value);
        }
    }
}

// Pairs ports with hosts as libpq does: one port for every host, or one each. A list of empty
// ports (none written) goes with any number of hosts.
void set_hosts(Url& url, std::vector<std::string> hosts, std::vector<std::string> ports, bool postgres) {
    const bool no_ports = std::all_of(ports.begin(), ports.end(), [](const std::string& p) { return p.empty(); });
    if (no_ports) {
        ports.assign(hosts.size(), "");
    } else if (ports.size() == 1 && hosts.size() > 1) {
        ports.assign(hosts.size(), ports[0]);
    } else if (ports.size() != hosts.size()) {
        if (hosts.empty() && ports.size() == 1) {
            hosts.emplace_back();  // postgres://u@/db?port=5433: the default host, that port
        } else {
            throw std::invalid_argument(std::to_string(ports.size()) + " ports for " + std::to_string(hosts.size()) +
                                        " hosts (give one port for all, or one for each host)");
        }
    }
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        url.hosts.push_back(Endpoint{hosts[i], parse_port(ports[i])});
    }
    if (!url.hosts.empty()) {
        url.host = url.hosts[0].host;
        url.port = url.hosts[0].port;
    }
    if (!postgres) {
        if (url.hosts.size() > 1) throw std::invalid_argument("several hosts are for postgres URLs only");
        if (!url.host.empty() && url.host[0] == '/') {
            throw std::invalid_argument("a socket directory as host is for postgres URLs only");
        }
    }
}

}  // namespace

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

    const std::size_t at = userinfo_end(rest);
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
    if (at != std::string::npos) set_userinfo(url, userinfo);

    // host[:port][,host[:port]...]: each host may be [v6] or percent-encoded (a socket directory
    // such as %2Fvar%2Frun%2Fpostgresql); several only in postgres URLs, as libpq takes them.
    const bool postgres = url.scheme == "postgres" || url.scheme == "postgresql";
    std::vector<std::string> hosts;
    std::vector<std::string> ports;  // as written, "" for none; one per host
    if (!authority.empty()) {
        for (const std::string& piece : split_list(authority)) {
            std::string host;
            std::string port_text;
            parse_host_port(piece, host, port_text);
            hosts.push_back(host);
            ports.push_back(port_text);
        }
    }

    parse_query(query, postgres, url, hosts, ports);

    set_hosts(url, hosts, ports, postgres);
    return url;
}

RequestTarget request_target(const Url& url, std::string (*encode)(const std::string&)) {
    RequestTarget t;
    t.host = url.host;
    t.port = url.port ? url.port : (url.scheme == "https" ? 443 : 80);
    const bool v6 = t.host.find(':') != std::string::npos;
    t.base = url.scheme + "://" + (v6 ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
    t.path = url.path.empty() ? "/" : url.path;
    const auto add = [&](const std::string& key, const std::string& value) {
        t.path += t.path.find('?') == std::string::npos ? "?" : "&";
        if (encode) {
            t.path += encode(key) + "=" + encode(value);
        } else {
            t.path += key + (value.empty() ? "" : "=" + value);
        }
    };
    for (const auto& [key, value] : url.query) add(key, value);
    for (const auto& [key, value] : url.secret_query) add(key, value.reveal());
    return t;
}

std::string Url::authority() const {
    std::string out = !host.empty() && host[0] != '/' && host.find(':') != std::string::npos ? "[" + host + "]" : host;
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
    if (hosts.empty()) {
        out += show_host(host);
        if (port != 0) out += ":" + std::to_string(port);
    }
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        if (i > 0) out += ",";
        out += show_host(hosts[i].host);
        if (hosts[i].port != 0) out += ":" + std::to_string(hosts[i].port);
    }
    out += path;
    char sep = '?';
    for (const auto& [k, v] : query) {
        out += sep + k + "=" + v;
        sep = '&';
    }
    for (const auto& kv : secret_query) {
        out += sep + kv.first + "=***";
        sep = '&';
    }
    return out;
}

std::string Url::param(const std::string& key, const std::string& fallback) const {
    for (const auto& [k, v] : query) {
        if (k == key) return v;
    }
    return fallback;
}

std::vector<Secret> Url::secrets() const {
    std::vector<Secret> out;
    if (!password.empty()) out.push_back(password);
    for (const auto& kv : secret_query) {
        if (!kv.second.empty()) out.push_back(kv.second);
    }
    return out;
}

std::string Url::host_list() const {
    if (hosts.size() <= 1) return host;
    std::string out;
    for (std::size_t i = 0; i < hosts.size(); ++i) out += (i == 0 ? "" : ",") + hosts[i].host;
    return out;
}

std::string Url::port_list() const {
    if (hosts.size() <= 1) return port ? std::to_string(port) : "";
    if (std::all_of(hosts.begin(), hosts.end(), [](const Endpoint& e) { return e.port == 0; })) return "";
    std::string out;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        out += (i == 0 ? "" : ",") + (hosts[i].port ? std::to_string(hosts[i].port) : std::string());
    }
    return out;
}

bool is_secret_param(const std::string& key) { return lower(key).find("password") != std::string::npos; }

}  // namespace readyprobe
