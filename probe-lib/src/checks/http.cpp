// HTTP(S): one GET; the status must be in the expected set (default 200-399, redirects not
// followed). Every socket operation is bounded by the time left before the deadline.
#include "http.hpp"

#include "../parse.hpp"
#include "../text.hpp"
#include "io.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>
#include <readyprobe/version.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include <unistd.h>

namespace readyprobe {
namespace {

class HttpCheck final : public Check {
public:
    explicit HttpCheck(const CheckSpec& spec) : spec_(spec) {
        // Parameters named like passwords are kept out of url.query (so out of every printout),
        // not out of the request.
        const RequestTarget t = request_target(spec.url, httplib::detail::encode_query_param);
        base_ = t.base;
        target_ = t.path;
    }

    std::string kind() const override { return "http"; }

    Result run(Deadline deadline) override {
        const auto left = std::chrono::milliseconds(detail::remaining_ms(deadline));
        if (left.count() == 0) return Result::deadline_passed();
        httplib::Client client(base_);
        client.set_connection_timeout(left);
        client.set_read_timeout(left);
        client.set_write_timeout(left);
        client.set_follow_location(false);
        client.set_keep_alive(false);
        if (!spec_.url.user.empty() || !spec_.url.password.empty()) {
            client.set_basic_auth(spec_.url.user, spec_.url.password.reveal());
        }
        if (spec_.url.scheme == "https") {
            client.enable_server_certificate_verification(true);
            if (::access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
                client.set_ca_cert_path("/etc/ssl/certs/ca-certificates.crt");
            }
        }
        httplib::Headers headers{{"User-Agent", std::string("readyprobe/") + version()}};
        auto res = client.Get(target_, headers);
        if (!res) return failure(res.error(), deadline);
        for (const auto& range : spec_.expect) {
            if (res->status >= range.lo && res->status <= range.hi) {
                return Result::pass("HTTP " + std::to_string(res->status));
            }
        }
        return Result::fail("HTTP " + std::to_string(res->status));
    }

private:
    Result failure(httplib::Error error, Deadline deadline) const {
        using httplib::Error;
        if (error == Error::ConnectionTimeout || error == Error::Read ||
            detail::remaining_ms(deadline) == 0) {
            if (detail::remaining_ms(deadline) == 0 || error == Error::ConnectionTimeout) {
                return Result::deadline_passed();
            }
            return Result::fail("connection closed before a response");
        }
        if (error == Error::Connection) {
            std::string problem = detail::resolve_problem(spec_.url.host);
            if (!problem.empty()) return Result::fail(problem);
            return Result::fail("connection refused or unreachable: " + spec_.url.authority());
        }
        if (error == Error::SSLConnection) return Result::fail("TLS handshake failed");
        if (error == Error::SSLServerVerification) return Result::fail("TLS certificate not trusted");
        if (error == Error::Write) return Result::fail("connection closed while sending the request");
        return Result::fail("request failed: " + httplib::to_string(error));
    }

    CheckSpec spec_;
    std::string base_;
    std::string target_;
};

void check_http_url(const Url& u, const std::string& where) {
    if (u.host.empty()) throw ConfigError(where, "URL has no host");
}

void parse_expect(CheckSpec& spec, const detail::RawOption& raw) {
    try {
        spec.expect = parse_status_ranges(raw.value);
    } catch (const std::invalid_argument& e) {
        throw ConfigError(raw.where, e.what());
    }
}

void describe_http(const CheckSpec& spec, nlohmann::json& out) {
    std::string ranges;
    for (const auto& r : spec.expect) {
        ranges += (ranges.empty() ? "" : ",") +
                  (r.lo == r.hi ? std::to_string(r.lo) : std::to_string(r.lo) + "-" + std::to_string(r.hi));
    }
    out["expect"] = ranges;
}

}  // namespace

std::vector<StatusRange> parse_status_ranges(const std::string& text) {
    std::vector<StatusRange> out;
    const std::string bad = "bad status list " + detail::shown(text) + " (e.g. 200,204,300-399)";
    auto code = [&](const std::string& s) {
        if (s.size() != 3 || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
            throw std::invalid_argument(bad);
        }
        const int v = std::stoi(s);
        if (v < 100 || v > 599) throw std::invalid_argument(bad);
        return v;
    };
    if (text.empty()) throw std::invalid_argument(bad);
    // Comma-separated items (a trailing comma is an empty, bad item).
    for (std::size_t start = 0;;) {
        const std::size_t comma = text.find(',', start);
        const std::string item = detail::trim(text.substr(start, comma == std::string::npos ? comma : comma - start));
        const auto dash = item.find('-');
        StatusRange r{};
        if (dash == std::string::npos) {
            r.lo = r.hi = code(item);
        } else {
            r.lo = code(detail::trim(item.substr(0, dash)));
            r.hi = code(detail::trim(item.substr(dash + 1)));
            if (r.lo > r.hi) throw std::invalid_argument(bad);
        }
        out.push_back(r);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

std::unique_ptr<Check> make_http_check(const CheckSpec& spec) {
    return std::make_unique<HttpCheck>(spec);
}

const detail::Kind& detail::http_kind() {
    static const Kind kind = [] {
        Kind k;
        k.name = "http";
        k.schemes = {"http", "https"};
        k.options = {{"EXPECT", 7, parse_expect, ""}};
        k.check_url = check_http_url;
        k.describe = describe_http;
        k.make = make_http_check;
        return k;
    }();
    return kind;
}

}  // namespace readyprobe
