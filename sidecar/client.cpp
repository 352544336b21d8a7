// `readyprobe check` and `readyprobe status`: small HTTP clients for images with no shell or curl.
#include "commands.hpp"
#include "check_line.hpp"
#include "client_text.hpp"
#include "plain_check.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace readyprobe::cli {
namespace {

struct Target {
    std::string scheme;  // http or https
    RequestTarget to;    // host, port, base, /path?query (the query as written: Get() encodes it)
    std::string shown;   // the URL for messages, password masked
};

// Throws ConfigError("URL", ...) on a malformed or non-HTTP URL.
Target split(const std::string& text, bool verbose = false) {
    Url u;
    try {
        u = parse_url(text);
    } catch (const std::invalid_argument& e) {
        throw ConfigError("URL", std::string("bad URL: ") + e.what());
    }
    if (u.scheme != "http" && u.scheme != "https") throw ConfigError("URL", "must be http:// or https://");
    if (u.host.empty()) throw ConfigError("URL", "has no host");
    std::string shown = u.redacted();  // as given: without the ?verbose added below
    if (verbose) ask_verbose(u.query);
    return {u.scheme, request_target(u), std::move(shown)};
}

httplib::Result get(const Target& t, Duration timeout, const httplib::Headers& headers = {}) {
    // http: host and port as they are, so any IPv6 literal works (cpp-httplib 0.11's
    // "http://[...]" parsing takes only digits and colons in the brackets, not [fd00::a]).
    std::unique_ptr<httplib::Client> made;
    if (t.scheme == "http") {
        made = std::make_unique<httplib::Client>(t.to.host, t.to.port);
    } else {
        made = std::make_unique<httplib::Client>(t.to.base);
    }
    httplib::Client& client = *made;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    client.set_connection_timeout(ms);
    client.set_read_timeout(ms);
    client.set_write_timeout(ms);
    client.set_keep_alive(false);
    return client.Get(t.to.path, headers);
}

std::string describe(httplib::Error e) {
    switch (e) {
        case httplib::Error::Connection: return "cannot connect";
        case httplib::Error::ConnectionTimeout: return "connect timed out";
        case httplib::Error::Read: return "no response (timed out or connection closed)";
        default: return "request failed (" + httplib::to_string(e) + ")";
    }
}

std::string seconds_text(const nlohmann::json& v) {
    if (!v.is_number()) return "-";
    const double s = v.get<double>();
    char buf[32];
    if (s < 120) {
        std::snprintf(buf, sizeof buf, "%.0fs", s);
    } else if (s < 7200) {
        std::snprintf(buf, sizeof buf, "%.0fm", s / 60);
    } else {
        std::snprintf(buf, sizeof buf, "%.1fh", s / 3600);
    }
    return buf;
}

}  // namespace

std::string local_url(const Environment& env, const std::string& path) {
    const auto it = env.find("READYPROBE_LISTEN");
    return local_url_for(it == env.end() ? nullptr : it->second.c_str(), path);
}

int check(const std::string& url, Duration timeout) {
    // A plain http:// answer first, with the same code as the `readyprobe` front
    // (plain_check.hpp); cpp-httplib for https:// and for what that code leaves alone.
    std::optional<CheckAnswer> plain;
    try {
        plain = plain_check(url, to_ms(timeout));
    } catch (const std::exception&) {
        plain.reset();
    }
    if (plain) {
        std::cout << plain->line;
        return plain->exit_code;
    }
    const Target t = split(url, true);
    auto res = get(t, timeout);
    if (!res) {
        std::cout << t.shown << ": " << describe(res.error()) << "\n";
        return 1;
    }
    std::cout << check_line(res->status, res->body);
    return res->status >= 200 && res->status < 300 ? 0 : 1;
}

int status(const std::string& url, Duration timeout) {
    const Target t = split(url);
    auto res = get(t, timeout, {{"Accept", "application/json"}});
    if (!res) {
        std::cerr << "readyprobe status: " << t.shown << ": " << describe(res.error()) << "\n";
        return 2;
    }
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(res->body);
    } catch (const nlohmann::json::exception&) {
        std::cerr << "readyprobe status: " << t.shown << " answered HTTP " << res->status
                  << " without readyprobe JSON\n";
        return 2;
    }
    const std::string overall = doc.value("status", "unknown");
    std::printf("status: %s (HTTP %d)", overall.c_str(), res->status);
    if (doc.contains("reason")) std::printf(" - %s", doc["reason"].get<std::string>().c_str());
    std::printf("\n");
    if (doc.contains("checks") && doc["checks"].is_object()) {
        std::printf("%-20s %-8s %-9s %-7s %-10s %s\n", "CHECK", "STATUS", "CRITICAL", "SINCE", "LATENCY",
                    "DETAIL");
        for (auto& [name, c] : doc["checks"].items()) {
            char latency[32] = "-";
            if (c.contains("latency_ms") && c["latency_ms"].is_number()) {
                std::snprintf(latency, sizeof latency, "%.1f ms", c["latency_ms"].get<double>());
            }
            std::printf("%-20s %-8s %-9s %-7s %-10s %s\n", fit(name, 20).c_str(),
                        c.value("status", "?").c_str(), c.value("critical", true) ? "yes" : "no",
                        seconds_text(c.contains("since_seconds") ? c["since_seconds"] : nlohmann::json()).c_str(),
                        latency, fit(c.value("message", "-"), 80).c_str());
        }
    } else {
        std::printf("(the instance does not reveal its checks: READYPROBE_DETAILS=none)\n");
    }
    return res->status == 200 ? 0 : 1;
}

}  // namespace readyprobe::cli
