// The plain-http GET of `readyprobe check` (plain_check.hpp says who uses it and why). The
// standard library, libc and the URL parser only: the front links nothing else.
#include "plain_check.hpp"

#include "check_line.hpp"

#include <readyprobe/url.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace readyprobe::cli {
namespace {

// A response bigger than this (headers or body) is left to cpp-httplib.
constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxBodyBytes = 64 * 1024;

struct Request {
    std::string shown;  // the URL for messages, password masked
    std::string host;   // for getaddrinfo: no brackets
    int port = 80;
    std::string head;   // the request line and headers
};

// The request for a plain http:// URL; nothing for any other (a bad URL, https://): cpp-httplib's
// client decides those.
std::optional<Request> plan(const std::string& text) {
    readyprobe::Url u;
    try {
        u = readyprobe::parse_url(text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (u.scheme != "http" || u.host.empty()) return std::nullopt;
    // Any IPv6 literal: host and port as they are (cpp-httplib 0.11's URL parsing takes fewer).
    const bool v6 = u.host.find(':') != std::string::npos;
    Request r;
    r.shown = u.redacted();  // as given: without the ?verbose added below
    ask_verbose(u.query);
    const readyprobe::RequestTarget to = readyprobe::request_target(u);
    r.host = to.host;
    r.port = to.port;
    const std::string& path = to.path;
    // The target percent-encoded where HTTP requires it (as cpp-httplib's encode_url() does for
    // the requests of `status`), up to a NUL.
    std::string target;
    for (std::size_t i = 0; i < path.size() && path[i] != '\0'; ++i) {
        const auto c = static_cast<unsigned char>(path[i]);
        switch (c) {
            case ' ': target += "%20"; break;
            case '+': target += "%2B"; break;
            case '\r': target += "%0D"; break;
            case '\n': target += "%0A"; break;
            case '\'': target += "%27"; break;
            case ',': target += "%2C"; break;
            case ';': target += "%3B"; break;
            default:
                if (c >= 0x80) {
                    char hex[4];
                    std::snprintf(hex, sizeof hex, "%%%02X", c);
                    target += hex;
                } else {
                    target += static_cast<char>(c);
                }
        }
    }
    std::string host = v6 ? "[" + u.host + "]" : u.host;
    if (r.port != 80) host += ":" + std::to_string(r.port);
    r.head = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: readyprobe/" READYPROBE_VERSION
             "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    return r;
}


// ------------------------------------------------------------------------------------ GET

long long now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    void reset(int fd) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }
    int get() const { return fd_; }

private:
    int fd_;
};

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool wait_for(int fd, short events, long long deadline, short* revents = nullptr) {
    for (;;) {
        const long long left = deadline - now_ms();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left > INT_MAX ? INT_MAX : left));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        if (revents) *revents = p.revents;
        return true;
    }
}

enum class Outcome { Answered, CannotConnect, ConnectTimeout, NoResponse, WriteFailed, Delegate };

struct Answer {
    Outcome outcome = Outcome::NoResponse;
    int status = 0;
    std::string body;
};

// Every address getaddrinfo gives, in order; the last one's error wins.
Outcome connect_to(const Request& r, long long deadline, Fd& sock) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    if (::getaddrinfo(r.host.c_str(), std::to_string(r.port).c_str(), &hints, &list) != 0) {
        return Outcome::CannotConnect;
    }
    Outcome result = Outcome::CannotConnect;
    for (addrinfo* ai = list; ai; ai = ai->ai_next) {
        sock.reset(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
        if (sock.get() < 0) continue;
        if (ai->ai_family == AF_INET6) {
            int no = 0;
            ::setsockopt(sock.get(), IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
        }
        if (::connect(sock.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
            result = Outcome::Answered;
            break;
        }
        if (errno != EINPROGRESS) {
            result = Outcome::CannotConnect;
            continue;
        }
        short revents = 0;
        if (!wait_for(sock.get(), POLLIN | POLLOUT, deadline, &revents)) {
            result = Outcome::ConnectTimeout;
            continue;
        }
        int error = 0;
        socklen_t len = sizeof error;
        if ((revents & (POLLIN | POLLOUT)) && ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0 &&
            error == 0) {
            result = Outcome::Answered;
            break;
        }
        result = Outcome::CannotConnect;
    }
    ::freeaddrinfo(list);
    if (result != Outcome::Answered) sock.reset(-1);
    return result;
}

bool iequals(const std::string& a, const char* b) {
    const std::size_t n = std::strlen(b);
    if (a.size() != n) return false;
    for (std::size_t i = 0; i < n; ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// "HTTP/1.[01] DDD[ reason]", CRLF already removed; anything else is left to cpp-httplib.
std::optional<int> status_of(const std::string& line) {
    if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || (line[7] != '0' && line[7] != '1') ||
        line[8] != ' ') {
        return std::nullopt;
    }
    for (int i = 9; i < 12; ++i) {
        if (line[static_cast<std::size_t>(i)] < '0' || line[static_cast<std::size_t>(i)] > '9') return std::nullopt;
    }
    if (line.size() > 12 && line[12] != ' ') return std::nullopt;
    if (line.find_first_of("\r\n") != std::string::npos) return std::nullopt;
    return std::stoi(line.substr(9, 3));
}

Answer get(const Request& r, long long deadline) {
    Answer a;
    Fd sock;
    a.outcome = connect_to(r, deadline, sock);
    if (a.outcome != Outcome::Answered) return a;
    int yes = 1;
    ::setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);

    for (std::size_t sent = 0; sent < r.head.size();) {
        const ssize_t n = ::send(sock.get(), r.head.data() + sent, r.head.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (!wait_for(sock.get(), POLLOUT, deadline)) return {Outcome::WriteFailed, 0, {}};
        } else {
            return {Outcome::WriteFailed, 0, {}};
        }
    }

    // Reads more into `data`: 1 read, 0 end of stream, -1 timeout or error.
    std::string data;
    auto more = [&]() -> int {
        for (;;) {
            char buf[4096];
            const ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
            if (n > 0) {
                data.append(buf, static_cast<std::size_t>(n));
                return 1;
            }
            if (n == 0) return 0;
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
            if (!wait_for(sock.get(), POLLIN, deadline)) return -1;
        }
    };

    a.outcome = Outcome::NoResponse;
    std::size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
        if (data.size() > kMaxHeaderBytes) return {Outcome::Delegate, 0, {}};
        if (more() <= 0) {
            // Headers with LF-only lines are left to cpp-httplib; anything else cut short is
            // "no response".
            for (std::size_t lf = data.find('\n'); lf != std::string::npos; lf = data.find('\n', lf + 1)) {
                if (lf == 0 || data[lf - 1] != '\r') return {Outcome::Delegate, 0, {}};
            }
            return a;
        }
    }
    if (end + 4 > kMaxHeaderBytes) return {Outcome::Delegate, 0, {}};

    // Status line and headers, every line CRLF-terminated (an LF-only line: cpp-httplib's).
    const std::string head = data.substr(0, end + 2);
    std::size_t pos = head.find("\r\n");
    if (head.find('\n') != pos + 1) return {Outcome::Delegate, 0, {}};
    const auto status = status_of(head.substr(0, pos));
    if (!status || *status < 200) return {Outcome::Delegate, 0, {}};  // 1xx, garbage: cpp-httplib
    std::optional<std::size_t> content_length;
    for (pos += 2; pos < head.size();) {
        const std::size_t eol = head.find("\r\n", pos);
        const std::string line = head.substr(pos, eol - pos);
        pos = eol + 2;
        if (line.find_first_of("\r\n") != std::string::npos) return {Outcome::Delegate, 0, {}};
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) return {Outcome::Delegate, 0, {}};
        const std::string name = line.substr(0, colon);
        std::size_t v = colon + 1;
        while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
        std::size_t v_end = line.size();
        while (v_end > v && (line[v_end - 1] == ' ' || line[v_end - 1] == '\t')) --v_end;
        const std::string value = line.substr(v, v_end - v);
        if (iequals(name, "Transfer-Encoding") || iequals(name, "Content-Encoding")) {
            if (!value.empty()) return {Outcome::Delegate, 0, {}};
        } else if (iequals(name, "Content-Length")) {
            if (value.empty()) continue;  // cpp-httplib drops an empty header
            if (content_length || value.size() > 6 || value.find_first_not_of("0123456789") != std::string::npos) {
                return {Outcome::Delegate, 0, {}};
            }
            content_length = static_cast<std::size_t>(std::stoul(value));
            if (*content_length > kMaxBodyBytes) return {Outcome::Delegate, 0, {}};
        }
    }

    std::string body = data.substr(end + 4);
    if (*status != 204) {
        if (content_length) {
            while (body.size() < *content_length) {
                data.clear();
                if (more() <= 0) return a;
                body += data;
            }
            body.resize(*content_length);
        } else {
            for (;;) {  // no length: the body runs to the end of the stream
                if (body.size() > kMaxBodyBytes) return {Outcome::Delegate, 0, {}};
                data.clear();
                const int got = more();
                if (got < 0) return a;
                if (got == 0) break;
                body += data;
            }
        }
    } else {
        body.clear();
    }
    a.outcome = Outcome::Answered;
    a.status = *status;
    a.body = std::move(body);
    return a;
}

// `check [URL] [--timeout D]`; nothing when the core must run instead.
}  // namespace

std::optional<CheckAnswer> plain_check(const std::string& url, long long timeout_ms) {
    if (timeout_ms < 1) return std::nullopt;
    const auto request = plan(url);
    if (!request) return std::nullopt;
    const Answer a = get(*request, now_ms() + timeout_ms);
    std::string line;
    switch (a.outcome) {
        case Outcome::Delegate: return std::nullopt;
        case Outcome::Answered: return CheckAnswer{a.status >= 200 && a.status < 300 ? 0 : 1, check_line(a.status, a.body)};
        case Outcome::CannotConnect: line = "cannot connect"; break;
        case Outcome::ConnectTimeout: line = "connect timed out"; break;
        case Outcome::NoResponse: line = "no response (timed out or connection closed)"; break;
        case Outcome::WriteFailed: line = "request failed (Write)"; break;
    }
    return CheckAnswer{1, request->shown + ": " + line + "\n"};
}

}  // namespace readyprobe::cli
