// HTTP(S): one GET; the status must be in the expected set (default 200-399, redirects not
// followed). Every socket operation is bounded by the time left before the deadline.
#include "io.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/version.hpp>

#include <httplib.h>

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
        if (left.count() == 0) return Result::timeout(spec_.schedule.timeout);
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
                return Result::timeout(spec_.schedule.timeout);
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

}  // namespace

std::unique_ptr<Check> make_http_check(const CheckSpec& spec) {
    return std::make_unique<HttpCheck>(spec);
}

}  // namespace readyprobe
