// `readyprobe check`: the small front (sidecar/front_main.cpp) answers a plain http:// check itself and
// execs readyprobe-core for everything else. Whatever it does, users see what the core prints.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

using namespace rptest;

namespace {

RunResult run_binary(const std::string& bin, const std::vector<std::string>& args, const Env& extra) {
    std::vector<std::string> argv{bin};
    argv.insert(argv.end(), args.begin(), args.end());
    Env env = base_env();
    for (const auto& [k, v] : extra) env[k] = v;
    return run(argv, env, 20000ms);
}

// Runs `args` through the front and through the core; both must print and exit the same.
RunResult same_as_core(const std::vector<std::string>& args, const Env& extra = {}) {
    const RunResult front = run_binary(binary(), args, extra);
    const RunResult core = run_binary(core_binary(), args, extra);
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    INFO("readyprobe" << shown << "\nfront: exit " << front.exit_code << " out [" << front.out << "] err ["
                      << front.err << "]\ncore:  exit " << core.exit_code << " out [" << core.out << "] err ["
                      << core.err << "]");
    CHECK(front.exit_code == core.exit_code);
    CHECK(front.out == core.out);
    CHECK(front.err == core.err);
    return front;
}

std::string url(int port, const std::string& path) { return "http://127.0.0.1:" + std::to_string(port) + path; }

// Answers every connection with the same bytes, then closes it; keeps the last request it read.
class RawHttp {
public:
    explicit RawHttp(std::string response) : response_(std::move(response)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(fd_, 16);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~RawHttp() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    int port() const { return port_; }
    std::string last_request() {
        std::lock_guard<std::mutex> lock(mu_);
        return request_;
    }

private:
    void serve() {
        while (!stop_) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            std::string req;
            char buf[4096];
            while (req.find("\r\n\r\n") == std::string::npos) {
                const ssize_t n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                req.append(buf, static_cast<std::size_t>(n));
            }
            {
                std::lock_guard<std::mutex> lock(mu_);
                request_ = req;
            }
            ::send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
            ::close(c);
        }
    }

    std::string response_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::string request_;
    std::thread thread_;
};

}  // namespace

TEST_CASE("check front and core agree: 200 from a running sidecar - default URL and explicit", "[cli][front]") {
    Sidecar sidecar({});
    const Env listen{{"READYPROBE_LISTEN", "127.0.0.1:" + std::to_string(sidecar.port())}};
    auto r = same_as_core({"check"}, listen);  // the local /startupz
    CHECK(r.exit_code == 0);
    CHECK(r.out.rfind("200 ", 0) == 0);
    r = same_as_core({"check", url(sidecar.port(), "/health")});
    CHECK(r.exit_code == 0);
    r = same_as_core({"check", "--timeout", "1s", url(sidecar.port(), "/livez?verbose")});
    CHECK(r.exit_code == 0);
    r = same_as_core({"check", url(sidecar.port(), "/readyz"), "--timeout=1500ms"});
    CHECK(r.exit_code == 0);
}

TEST_CASE("check front and core agree: 503 from a check that is down and from a plain server", "[cli][front]") {
    Sidecar sidecar({{"READYPROBE_CHECK_GONE", "tcp://127.0.0.1:" + std::to_string(free_port())},
                     {"READYPROBE_INTERVAL", "200ms"}});
    // Down, not unknown any more, so that both see the same state.
    REQUIRE(eventually([&] { return sidecar.get("/health?verbose").body.find("[-]gone failed") != std::string::npos; },
                       5000ms));
    auto r = same_as_core({"check", url(sidecar.port(), "/health")});
    CHECK(r.exit_code == 1);
    CHECK(r.out == "503 not_ready: gone down\n");

    FakeHttp fake(503);
    r = same_as_core({"check", url(fake.port(), "/x")});
    CHECK(r.exit_code == 1);
    CHECK(r.out == "503 fake\n");
    fake.set_status(204);
    r = same_as_core({"check", url(fake.port(), "/")});
    CHECK(r.exit_code == 0);
    fake.set_status(302);
    r = same_as_core({"check", url(fake.port(), "/")});
    CHECK(r.exit_code == 1);
}

TEST_CASE("check front and core agree: connection refused - silent server - password in the URL", "[cli][front]") {
    const int closed = free_port();
    auto r = same_as_core({"check", url(closed, "/")});
    CHECK(r.exit_code == 1);
    CHECK(r.out == url(closed, "/") + ": cannot connect\n");

    SilentServer hung;
    for (const auto& bin : {binary(), core_binary()}) {
        const auto t0 = Clock::now();
        r = run_binary(bin, {"check", "--timeout", "300ms", url(hung.port(), "/")}, {});
        INFO(bin << ": " << r.out << r.err);
        CHECK(ms_since(t0) < 2000);
        CHECK(r.exit_code == 1);
        CHECK(r.out == url(hung.port(), "/") + ": no response (timed out or connection closed)\n");
    }
    r = same_as_core({"check", "--timeout", "300ms", url(hung.port(), "/")});

    const std::string with_password =
        "http://probe:Front-Secret-9@127.0.0.1:" + std::to_string(closed) + "/health?password=Front-Secret-9&a=1";
    r = same_as_core({"check", with_password});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("Front-Secret-9") == std::string::npos);
    CHECK(r.out.find("probe:***@") != std::string::npos);

    FakeHttp fake(200);
    r = same_as_core({"check", "http://probe:Front-Secret-9@127.0.0.1:" + std::to_string(fake.port()) + "/"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "200 fake\n");
}

TEST_CASE("check front and core agree on what the front hands over: https - bad URL - bad timeout - help", "[cli][front]") {
    const int closed = free_port();
    auto r = same_as_core({"check", "https://127.0.0.1:" + std::to_string(closed) + "/"});
    CHECK(r.exit_code == 1);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"check", "ftp://x/"},
             {"check", "http://127.0.0.1:99999/"},
             {"check", "not a url"},
             {"check", "--timeout", "soon", url(closed, "/")},
             {"check", "--timeout"},
             {"check", url(closed, "/a"), url(closed, "/b")},
             {"check", "--frobnicate"},
         }) {
        r = same_as_core(args);
        CHECK(r.exit_code == 2);
        CHECK(!r.err.empty());
    }
    r = same_as_core({"check", "--timeout", "0s", url(closed, "/")});  // the core's call: 0s is a duration
    CHECK(r.exit_code == 1);
    r = same_as_core({"check"}, {{"READYPROBE_LISTEN", "127.0.0.1:notaport"}});
    CHECK(r.exit_code == 2);
    r = same_as_core({"check", "--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("--timeout") != std::string::npos);
    r = same_as_core({"--version"});
    CHECK(r.exit_code == 0);
}

TEST_CASE("check front and core agree on odd responses: no length - chunked - long first line - cut short", "[cli][front]") {
    const std::string long_line(300, 'x');
    const std::vector<std::string> responses = {
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nline one\nline two\n",  // body to the close
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 301\r\n\r\n" + long_line + "\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",                     // body cut short
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",                                 // headers cut short
        "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",                                 // LF only
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "hello\r\n\r\n",
        "",
    };
    for (const auto& response : responses) {
        INFO("response: " << response);
        RawHttp server(response);
        same_as_core({"check", "--timeout", "1s", url(server.port(), "/")});
    }
}

TEST_CASE("the front sends one plain GET naming itself - the path and query as the core sends them", "[cli][front]") {
    RawHttp server("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
    const std::string target = "/startupz?verbose&exclude=a b";
    auto r = run_binary(binary(), {"check", url(server.port(), target)}, {});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "200 ok\n");
    const std::string req = server.last_request();
    CHECK(req.rfind("GET /startupz?verbose&exclude=a%20b HTTP/1.1\r\n", 0) == 0);
    CHECK(req.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") != std::string::npos);
    CHECK(req.find("\r\nUser-Agent: readyprobe/") != std::string::npos);
    CHECK(req.find("\r\nConnection: close\r\n") != std::string::npos);
}

TEST_CASE("the front alone: a plain check works without the core - anything else names the missing core", "[cli][front]") {
    char dir_template[] = "/tmp/rpt-front-XXXXXX";
    const std::string dir = ::mkdtemp(dir_template);
    const std::string lonely = dir + "/readyprobe";
    {
        std::ifstream in(binary(), std::ios::binary);
        std::ofstream out(lonely, std::ios::binary);
        out << in.rdbuf();
    }
    ::chmod(lonely.c_str(), 0755);

    FakeHttp fake(200);
    auto r = run_binary(lonely, {"check", url(fake.port(), "/")}, {});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "200 fake\n");

    const std::string expected = "readyprobe: cannot find readyprobe-core next to " + lonely + " or in " + dir +
                                 "/../libexec/readyprobe\n";
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{}, {"serve"}, {"--version"}, {"check", "https://127.0.0.1/"}}) {
        r = run_binary(lonely, args, {});
        INFO(r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err == expected);
        CHECK(r.out.empty());
    }
    ::unlink(lonely.c_str());
    ::rmdir(dir.c_str());
}
