// tune_and_bind: the server settings the sidecar uses, offered to applications that embed the
// probe. A real cpp-httplib server on loopback, real sockets.
#include <readyprobe/http.hpp>
#include <readyprobe/prober.hpp>
#include <readyprobe/snapshot.hpp>

#include <catch2/catch.hpp>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

using namespace readyprobe;
using TestClock = std::chrono::steady_clock;

namespace {

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

int connect_to(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

// Milliseconds until the server closes `fd` (reads until EOF), at most `limit_ms`.
long ms_until_closed(int fd, int limit_ms) {
    const auto t0 = TestClock::now();
    char buf[512];
    for (;;) {
        const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(TestClock::now() - t0).count();
        if (waited >= limit_ms) return -1;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(limit_ms - waited)) <= 0) return -1;
        if (::recv(fd, buf, sizeof buf, 0) <= 0) {
            return static_cast<long>(
                std::chrono::duration_cast<std::chrono::milliseconds>(TestClock::now() - t0).count());
        }
    }
}

struct Running {
    httplib::Server server;
    Prober prober;
    std::thread thread;
    int port = 0;

    explicit Running(const ServerTuning& tuning) {
        mount(server, prober);
        server.Get("/nice", [](const httplib::Request&, httplib::Response& res) {
            errno = 0;
            res.set_content(std::to_string(::getpriority(PRIO_PROCESS, 0)), "text/plain");
        });
        port = free_port();
        REQUIRE(tune_and_bind(server, "127.0.0.1", port, tuning));
        prober.start();
        thread = std::thread([this] { server.listen_after_bind(); });  // bound: connects queue until it accepts
        // stop() before the accept loop has started would not stop it: wait for it.
        const auto t0 = TestClock::now();
        while (!server.is_running() && TestClock::now() - t0 < std::chrono::seconds(5)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        REQUIRE(server.is_running());
    }
    ~Running() {
        server.stop();
        thread.join();
    }
};

}  // namespace

TEST_CASE("tune_and_bind: the probe answers, a slow sender is dropped after the read timeout, not "
          "cpp-httplib's 5 s") {
    Running r{ServerTuning{}};
    httplib::Client client("127.0.0.1", r.port);
    auto res = client.Get("/health");
    REQUIRE(res);
    CHECK(res->status == 200);

    const int fd = connect_to(r.port);
    REQUIRE(::send(fd, "GET /health HTTP/1.1\r\nHo", 24, MSG_NOSIGNAL) == 24);  // and then nothing
    const long closed_after = ms_until_closed(fd, 3000);
    ::close(fd);
    CHECK(closed_after >= 0);
    CHECK(closed_after < 1500);  // read timeout 100 ms; cpp-httplib's default would be 5 s
}

TEST_CASE("tune_and_bind: request workers run at the configured nice value") {
    ServerTuning tuning;
    tuning.worker_nice = 7;
    Running r{tuning};
    httplib::Client client("127.0.0.1", r.port);
    auto res = client.Get("/nice");
    REQUIRE(res);
    CHECK(res->body == "7");
}

TEST_CASE("tune_and_bind: a keep-alive client gets its connection closed after the request limit") {
    ServerTuning tuning;
    tuning.keep_alive_max_requests = 3;
    Running r{tuning};
    const int fd = connect_to(r.port);
    const std::string req = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
    std::string got;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
        // Each answer arrives before the next request is sent (no pipelining).
        const auto t0 = TestClock::now();
        std::size_t answers = 0;
        while (answers < static_cast<std::size_t>(i + 1) && TestClock::now() - t0 < std::chrono::seconds(3)) {
            char buf[1024];
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
            answers = 0;
            for (auto at = got.find("HTTP/1.1 200"); at != std::string::npos; at = got.find("HTTP/1.1 200", at + 1)) {
                ++answers;
            }
        }
        REQUIRE(answers == static_cast<std::size_t>(i + 1));
    }
    CHECK(got.find("Connection: close") != std::string::npos);  // the third answer says so
    CHECK(ms_until_closed(fd, 3000) >= 0);
    ::close(fd);
}

TEST_CASE("tune_and_bind: a port in use fails with errno set") {
    Running first{ServerTuning{}};
    httplib::Server second;
    errno = 0;
    CHECK_FALSE(tune_and_bind(second, "127.0.0.1", first.port));
    CHECK(errno != 0);
}
