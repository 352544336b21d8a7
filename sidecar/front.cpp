// readyprobe: the executable users run. It answers the common ECS health check,
// `readyprobe check [http://URL] [--timeout D]`, by itself and execs readyprobe-core (the full
// sidecar: serve, wait, status, config, https, --help, every error message) for everything else.
//
// Why this file exists: `check` runs every few seconds in every task, and the full binary spends
// most of its start-up in the dynamic loader (36 shared libraries: libpq's Kerberos/LDAP/GnuTLS
// chain, and Debian's libcpp-httplib.so, a split header whose implementation loads OpenSSL,
// brotli and zlib even for plain http://). So this front loads only libc (libstdc++ is linked
// in) and does its one plain-HTTP GET on a raw socket: the deliberate exception to "HTTP goes
// through cpp-httplib". It prints and returns what the core's `check` (sidecar/client.cpp on
// cpp-httplib 0.11.4) does for the same answer; whatever it cannot judge with certainty (an
// option or value it does not know, https://, a response it would have to decode, such as a
// chunked one) it hands to the core with the same argv, so messages and exit codes stay the
// core's. exec keeps the PID: ECS signals `serve`. Known differences: --timeout bounds the whole
// GET here (connect, send and each read in the core), so a server trickling its answer slower
// than that fails here and may pass there; a response handed over after it was read costs a
// second GET (the core's), up to twice the timeout in all; the request says
// `User-Agent: readyprobe/<version>` and brackets an IPv6 Host.
#include <readyprobe/config.hpp>
#include <readyprobe/url.hpp>

#include "check_line.hpp"
#include "client_text.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

constexpr int kExitBadUsage = 2;
// A response bigger than this (headers or body) is left to the core.
constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxBodyBytes = 64 * 1024;

// ----------------------------------------------------------------------------- delegation

std::string self_path() {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
    // No /proc (a bare chroot): the path execve was given.
    const auto* execfn = reinterpret_cast<const char*>(::getauxval(AT_EXECFN));
    return execfn ? execfn : "readyprobe";
}

[[noreturn]] void delegate(char** argv) {
    const std::string exe = self_path();
    const auto slash = exe.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "" : exe.substr(0, slash);
    const std::string candidates[] = {dir + "/readyprobe-core", dir + "/../libexec/readyprobe/readyprobe-core"};
    for (const std::string& core : candidates) {
        if (::access(core.c_str(), X_OK) == 0) {
            ::execv(core.c_str(), argv);
            std::fprintf(stderr, "readyprobe: cannot run %s: %s\n", core.c_str(), std::strerror(errno));
            std::exit(kExitBadUsage);
        }
    }
    std::fprintf(stderr, "readyprobe: cannot find readyprobe-core next to %s or in %s/../libexec/readyprobe\n",
                 exe.c_str(), dir.c_str());
    std::exit(kExitBadUsage);
}

// ------------------------------------------------------------------------------ arguments

// The core's parse_duration (compiled in), in ms; nothing when the core must reject the value.
std::optional<long long> duration_ms(const std::string& text) {
    try {
        const long long ms = readyprobe::to_ms(readyprobe::parse_duration(text));
        if (ms >= 1) return ms;
    } catch (const std::invalid_argument&) {
    }
    return std::nullopt;
}

struct Request {
    std::string shown;  // the URL for messages, password masked
    std::string host;   // for getaddrinfo: no brackets
    int port = 80;
    std::string head;   // the request line and headers
};

// What the core's split() and cpp-httplib's Client would do with the URL; nothing when the core
// must decide (a bad URL, not http://).
std::optional<Request> plan(const std::string& text) {
    readyprobe::Url u;
    try {
        u = readyprobe::parse_url(text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (u.scheme != "http" || u.host.empty()) return std::nullopt;
    // Any IPv6 literal: the core connects to host and port as they are too (client.cpp).
    const bool v6 = u.host.find(':') != std::string::npos;
    Request r;
    r.shown = u.redacted();  // as given: without the ?verbose added below
    readyprobe::cli::ask_verbose(u.query);
    const readyprobe::RequestTarget to = readyprobe::request_target(u);
    r.host = to.host;
    r.port = to.port;
    const std::string& path = to.path;
    // cpp-httplib's encode_url(), which the core's request goes through (it stops at a NUL).
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

// Connects like cpp-httplib: every address getaddrinfo gives, in order; the last one's error wins.
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

// "HTTP/1.[01] DDD[ reason]": cpp-httplib's status-line regex, CRLF already removed.
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
            // cpp-httplib also ends the headers at a CRLF line after LF-only lines: those are
            // the core's to judge; anything else cut short is "no response" there too.
            for (std::size_t lf = data.find('\n'); lf != std::string::npos; lf = data.find('\n', lf + 1)) {
                if (lf == 0 || data[lf - 1] != '\r') return {Outcome::Delegate, 0, {}};
            }
            return a;
        }
    }
    if (end + 4 > kMaxHeaderBytes) return {Outcome::Delegate, 0, {}};

    // Status line and headers, every line CRLF-terminated (an LF-only line is the core's).
    const std::string head = data.substr(0, end + 2);
    std::size_t pos = head.find("\r\n");
    if (head.find('\n') != pos + 1) return {Outcome::Delegate, 0, {}};
    const auto status = status_of(head.substr(0, pos));
    if (!status || *status < 200) return {Outcome::Delegate, 0, {}};  // 1xx, garbage: the core
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
std::optional<int> check(int argc, char** argv) {
    std::optional<std::string> url;
    std::optional<std::string> timeout;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--timeout" && i + 1 < argc && !timeout) {
            timeout = argv[++i];
        } else if (arg.compare(0, 10, "--timeout=") == 0 && !timeout) {
            timeout = arg.substr(10);
        } else if (!arg.empty() && arg[0] != '-' && !url) {
            url = arg;
        } else {
            return std::nullopt;
        }
    }
    const auto ms = duration_ms(timeout.value_or("2s"));
    if (!ms) return std::nullopt;
    if (!url) {
        url = readyprobe::cli::local_url_for(std::getenv("READYPROBE_LISTEN"), "/startupz");
    }
    const auto request = plan(*url);
    if (!request) return std::nullopt;

    const Answer a = get(*request, now_ms() + *ms);
    std::string line;
    switch (a.outcome) {
        case Outcome::Delegate: return std::nullopt;
        case Outcome::Answered:
            line = readyprobe::cli::check_line(a.status, a.body);
            std::fwrite(line.data(), 1, line.size(), stdout);
            return a.status >= 200 && a.status < 300 ? 0 : 1;
        case Outcome::CannotConnect: line = "cannot connect"; break;
        case Outcome::ConnectTimeout: line = "connect timed out"; break;
        case Outcome::NoResponse: line = "no response (timed out or connection closed)"; break;
        case Outcome::WriteFailed: line = "request failed (Write)"; break;
    }
    line = request->shown + ": " + line + "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "check") == 0) {
        std::optional<int> code;
        try {
            code = check(argc, argv);
        } catch (const std::exception&) {
            code.reset();  // e.g. out of memory: let the core try
        }
        if (code) {
            std::fflush(stdout);
            return *code;
        }
    }
    delegate(argv);
}
