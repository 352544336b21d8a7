#include "transport.hpp"

#include "io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <ctime>

namespace readyprobe::detail {
namespace {

// The first error on this thread's OpenSSL error queue, as OpenSSL words it ("wrong version
// number", "tlsv1 alert unknown ca"); the queue is left empty.
std::string openssl_reason() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "";
    if (const char* reason = ERR_reason_error_string(e)) return reason;
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

// OpenSSL writes to the socket with write(): a peer that has gone away would raise SIGPIPE,
// which kills a process that has not ignored it (an embedding application may not have).
// As libpq does: block SIGPIPE on this thread around the call and swallow one it raised.
class SigpipeGuard {
public:
    SigpipeGuard() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
        sigset_t pending;
        sigemptyset(&pending);
        was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    }
    ~SigpipeGuard() {
        const int saved_errno = errno;  // SSL_get_error() reads it afterwards
        sigset_t pending;
        sigemptyset(&pending);
        if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
            const timespec zero{0, 0};
            while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
        errno = saved_errno;
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
    sigset_t pipe_;
    sigset_t old_;
    bool was_pending_ = false;
};

bool is_ip_literal(const std::string& host) {
    unsigned char buf[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

constexpr const char* kClosed = "connection closed by server";

}  // namespace

// ----------------------------------------------------------------------------------- TlsConfig

TlsConfig::TlsConfig(const std::string& ca_file) {
    ERR_clear_error();
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) {
        error_ = "TLS setup failed: " + openssl_reason();
        return;
    }
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    // Redis replies carry their own lengths: a peer that closes without close_notify is a
    // closed connection, not a truncation attack.
    SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (ca_file.empty()) {
        // The system trust store; SSL_CERT_FILE and SSL_CERT_DIR override it.
        if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
            error_ = "cannot load the system trust store: " + openssl_reason();
        }
    } else if (SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
        error_ = "cannot load CA_FILE " + ca_file + ": " + openssl_reason();
    }
    ERR_clear_error();
}

TlsConfig::~TlsConfig() { SSL_CTX_free(ctx_); }

// ----------------------------------------------------------------------------------- Transport

void Transport::close() {
    if (ssl_) {
        SSL_free(ssl_);
        ssl_ = nullptr;
    }
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

IoStatus Transport::connect(const std::string& host, int port, const TlsConfig* tls, Deadline deadline) {
    close();
    if (tls && !tls->error().empty()) return IoStatus::fail(tls->error());
    IoStatus st = connect_tcp(host, port, deadline);
    if (st && tls) st = handshake(host, *tls, deadline);
    if (!st) close();
    return st;
}

IoStatus Transport::connect_tcp(const std::string& host, int port, Deadline deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
    if (rc != 0) {
        if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_AGAIN || rc == EAI_FAIL) {
            return IoStatus::fail("name not resolved: " + host);
        }
        return IoStatus::fail("cannot resolve " + host + ": " + ::gai_strerror(rc));
    }
    IoStatus last = IoStatus::fail("no address for " + host);
    for (addrinfo* ai = list; ai; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = IoStatus::fail("socket: " + errno_text(errno));
            continue;
        }
        int err = 0;
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                const Wait w = wait_fd(fd, POLLOUT, deadline);
                socklen_t len = sizeof err;
                if (w == Wait::timeout) {
                    ::close(fd);
                    last = IoStatus::timed_out();
                    break;
                }
                if (w == Wait::error) {
                    err = errno;
                } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
                    err = errno;
                }
            }
        }
        if (err != 0) {
            ::close(fd);
            last = IoStatus::fail(errno_text(err));
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fd_ = fd;
        last = IoStatus::success();
        break;
    }
    ::freeaddrinfo(list);
    return last;
}

IoStatus Transport::handshake(const std::string& host, const TlsConfig& tls, Deadline deadline) {
    ERR_clear_error();
    ssl_ = SSL_new(tls.ctx());
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return IoStatus::fail("TLS setup failed: " + openssl_reason());
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (is_ip_literal(host)) {
        // An address is checked against the certificate's IP SANs; SNI carries no address.
        if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
            return IoStatus::fail("TLS setup failed: bad address " + host);
        }
    } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1 ||
            SSL_set_tlsext_host_name(ssl_, host.c_str()) != 1) {
            return IoStatus::fail("TLS setup failed: bad host name " + host);
        }
    }
    for (;;) {
        int rc = 0;
        {
            SigpipeGuard guard;
            ERR_clear_error();
            rc = SSL_connect(ssl_);
        }
        if (rc == 1) return IoStatus::success();
        const int err = SSL_get_error(ssl_, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            const Wait w = wait_fd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            // A hung TLS server, or a plain one that waits for the rest of a "line".
            if (w == Wait::timeout) return {IoStatus::timeout, "during the TLS handshake"};
            if (w == Wait::error) return IoStatus::fail("TLS handshake failed: " + errno_text(errno));
            continue;
        }
        const long verify = SSL_get_verify_result(ssl_);
        if (verify != X509_V_OK) {
            ERR_clear_error();
            // "unable to get local issuer certificate", "Hostname mismatch", "IP address mismatch"
            return IoStatus::fail(std::string("certificate verify failed: ") +
                                  X509_verify_cert_error_string(verify));
        }
        return tls_error(rc, "TLS handshake failed");
    }
}

IoStatus Transport::tls_error(int rc, const char* what) {
    const int saved_errno = errno;
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return IoStatus::fail(kClosed);
    }
    std::string reason = openssl_reason();
    if (err == SSL_ERROR_SYSCALL && reason.empty()) {
        // No OpenSSL error: the socket's own (a reset), or an EOF.
        reason = saved_errno != 0 && rc < 0 ? errno_text(saved_errno) : kClosed;
        if (reason == kClosed && std::string(what) != "TLS handshake failed") return IoStatus::fail(kClosed);
    }
    if (reason.empty()) reason = "error " + std::to_string(err);
    return IoStatus::fail(std::string(what) + ": " + reason);
}

IoStatus Transport::write_all(const char* data, std::size_t len, Deadline deadline) {
    if (fd_ < 0) return IoStatus::fail("not connected");
    std::size_t off = 0;
    while (off < len) {
        short wait_for = POLLOUT;
        if (ssl_) {
            int rc = 0;
            {
                SigpipeGuard guard;
                ERR_clear_error();
                errno = 0;
                rc = SSL_write(ssl_, data + off, static_cast<int>(len - off));
            }
            if (rc > 0) {
                off += static_cast<std::size_t>(rc);
                continue;
            }
            const int err = SSL_get_error(ssl_, rc);
            if (err == SSL_ERROR_WANT_READ) {
                wait_for = POLLIN;
            } else if (err != SSL_ERROR_WANT_WRITE) {
                return tls_error(rc, "TLS write failed");
            }
        } else {
            const ssize_t n = ::send(fd_, data + off, len - off, MSG_NOSIGNAL);
            if (n > 0) {
                off += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                return IoStatus::fail(errno == EPIPE ? kClosed : errno_text(errno));
            }
        }
        const Wait w = wait_fd(fd_, wait_for, deadline);
        if (w == Wait::timeout) return IoStatus::timed_out();
        if (w == Wait::error) return IoStatus::fail(errno_text(errno));
    }
    return IoStatus::success();
}

IoStatus Transport::read_some(char* buf, std::size_t cap, std::size_t& got, Deadline deadline) {
    got = 0;
    if (fd_ < 0) return IoStatus::fail("not connected");
    for (;;) {
        short wait_for = POLLIN;
        if (ssl_) {
            int rc = 0;
            {
                SigpipeGuard guard;  // a TLS 1.3 read may write (key update)
                ERR_clear_error();
                errno = 0;
                rc = SSL_read(ssl_, buf, static_cast<int>(cap));
            }
            if (rc > 0) {
                got = static_cast<std::size_t>(rc);
                return IoStatus::success();
            }
            const int err = SSL_get_error(ssl_, rc);
            if (err == SSL_ERROR_WANT_WRITE) {
                wait_for = POLLOUT;
            } else if (err != SSL_ERROR_WANT_READ) {
                return tls_error(rc, "TLS read failed");
            }
        } else {
            const ssize_t n = ::recv(fd_, buf, cap, 0);
            if (n > 0) {
                got = static_cast<std::size_t>(n);
                return IoStatus::success();
            }
            if (n == 0) return IoStatus::fail(kClosed);
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return IoStatus::fail(errno_text(errno));
        }
        const Wait w = wait_fd(fd_, wait_for, deadline);
        if (w == Wait::timeout) return IoStatus::timed_out();
        if (w == Wait::error) return IoStatus::fail(errno_text(errno));
    }
}

}  // namespace readyprobe::detail
