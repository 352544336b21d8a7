// A byte stream to host:port, plain TCP or TLS (OpenSSL), where every connect, handshake, read
// and write waits with poll() against the run's Deadline: a peer that accepted the connection and
// then stopped answering (SIGSTOP) cannot hold a check past its timeout.
#pragma once

#include <readyprobe/check.hpp>

#include <cstddef>
#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace readyprobe::detail {

// The outcome of one transport step. `message` is one line for /readyz, never a secret (for a
// timeout: empty, or where it happened).
struct IoStatus {
    enum Kind { ok, timeout, failed } kind = ok;
    std::string message;

    explicit operator bool() const { return kind == ok; }
    static IoStatus success() { return {}; }
    static IoStatus timed_out() { return {timeout, ""}; }
    static IoStatus fail(std::string text) { return {failed, std::move(text)}; }
};

// The client side of TLS for one check: made once (not per run), shared by its connections.
// Verifies the server against `ca_file` if given, else against the system trust store
// (OpenSSL's default verify paths, so SSL_CERT_FILE / SSL_CERT_DIR work).
class TlsConfig {
public:
    explicit TlsConfig(const std::string& ca_file);
    ~TlsConfig();
    TlsConfig(const TlsConfig&) = delete;
    TlsConfig& operator=(const TlsConfig&) = delete;

    // Empty when usable, else why not (then every connection fails with this text).
    const std::string& error() const { return error_; }
    SSL_CTX* ctx() const { return ctx_; }

private:
    SSL_CTX* ctx_ = nullptr;
    std::string error_;
};

class Transport {
public:
    Transport() = default;
    ~Transport() { close(); }
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // Resolves host (blocking, as getaddrinfo is), connects to each address in turn, then, with
    // `tls`, does the TLS handshake: certificate chain, host name (or IP address) and SNI.
    IoStatus connect(const std::string& host, int port, const TlsConfig* tls, Deadline deadline);
    IoStatus write_all(const char* data, std::size_t len, Deadline deadline);
    // Reads what is available (at least one byte), waiting for it until the deadline.
    IoStatus read_some(char* buf, std::size_t cap, std::size_t& got, Deadline deadline);

    bool is_open() const { return fd_ >= 0; }
    // The socket, for a caller that wants to watch a kept connection (-1 when closed).
    int fd() const { return fd_; }
    void close();

private:
    IoStatus connect_tcp(const std::string& host, int port, Deadline deadline);
    IoStatus handshake(const std::string& host, const TlsConfig& tls, Deadline deadline);
    IoStatus tls_error(int rc, const char* what);

    int fd_ = -1;
    SSL* ssl_ = nullptr;
};

}  // namespace readyprobe::detail
