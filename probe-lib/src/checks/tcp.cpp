// TCP: a connection to host:port is accepted before the deadline (non-blocking connect + poll).
#include "tcp.hpp"

#include "io.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace readyprobe {
namespace {

class TcpCheck final : public Check {
public:
    explicit TcpCheck(const CheckSpec& spec) : spec_(spec) {}

    std::string kind() const override { return "tcp"; }

    Result run(Deadline deadline) override {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* list = nullptr;
        const std::string port = std::to_string(spec_.url.port);
        const int rc = ::getaddrinfo(spec_.url.host.c_str(), port.c_str(), &hints, &list);
        if (rc != 0) {
            if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_AGAIN || rc == EAI_FAIL) {
                return Result::fail("name not resolved: " + spec_.url.host);
            }
            return Result::fail(std::string("cannot resolve: ") + ::gai_strerror(rc));
        }
        Result last = Result::fail("no address for " + spec_.url.host);
        for (addrinfo* ai = list; ai; ai = ai->ai_next) {
            last = attempt(*ai, deadline);
            if (last.ok || last.timed_out) break;
        }
        ::freeaddrinfo(list);
        return last;
    }

private:
    Result attempt(const addrinfo& ai, Deadline deadline) const {
        const int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
        if (fd < 0) return Result::fail("socket: " + detail::errno_text(errno));
        struct Closer {
            int fd;
            ~Closer() { ::close(fd); }
        } closer{fd};
        if (::connect(fd, ai.ai_addr, ai.ai_addrlen) == 0) return Result::pass("connected");
        if (errno != EINPROGRESS) return Result::fail(detail::errno_text(errno));
        const detail::Wait w = detail::wait_fd(fd, POLLOUT, deadline);
        if (w == detail::Wait::timeout) return Result::deadline_passed();
        int err = 0;
        socklen_t len = sizeof err;
        if (w == detail::Wait::error || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
            return Result::fail(detail::errno_text(errno));
        }
        if (err != 0) return Result::fail(detail::errno_text(err));
        return Result::pass("connected");
    }

    CheckSpec spec_;
};

void check_tcp_url(const Url& u, const std::string& where) {
    if (u.host.empty() || u.port == 0) throw ConfigError(where, "tcp URLs are tcp://host:port");
}

}  // namespace

std::unique_ptr<Check> make_tcp_check(const CheckSpec& spec) { return std::make_unique<TcpCheck>(spec); }

const detail::Kind& detail::tcp_kind() {
    static const Kind kind = [] {
        Kind k;
        k.name = "tcp";
        k.schemes = {"tcp"};
        k.has_password = false;
        k.check_url = check_tcp_url;
        k.make = make_tcp_check;
        return k;
    }();
    return kind;
}

}  // namespace readyprobe
