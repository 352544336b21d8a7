// `readyprobe serve`: checks in the background, endpoints in the foreground, drain on SIGTERM.
#include "commands.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/http.hpp>
#include <readyprobe/prober.hpp>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <thread>

namespace readyprobe::cli {
namespace {

// Server tuning; the reasons and measurements are in docs/hardening.md. cpp-httplib 0.11 gives
// each connection one worker for its whole life and queues the others (FIFO, unbounded), so the
// load balancer's probe waits behind whatever holds the workers: these bound how long that is.
// Workers: each costs ~8 kB of RSS idle, ~22 kB once it has served. 64 covers the benchmark's
// 64 keep-alive clients. Behind A connections that hold workers on purpose, a fresh request
// waits about (A - workers) / workers x the read timeout (slow senders) or x the keep-alive
// timeout (connections that never send): more workers shorten that, shorter timeouts cost less.
constexpr std::size_t kWorkerThreads = 64;
// A slow sender (slowloris) holds a worker until it pauses longer than this between two reads
// of one request. A prober's request arrives in one segment, so only attackers wait on it.
constexpr long kReadTimeoutMs = 100;
// Responses are small: a client that does not read them for this long is dropped.
constexpr time_t kWriteTimeoutSeconds = 1;
// Idle keep-alive connections (and connections that never send) hold a worker this long;
// cpp-httplib counts whole seconds, 1 is the shortest above "close after ~10 ms".
constexpr time_t kKeepAliveSeconds = 1;
// A busy keep-alive client gives its worker back after this many requests (it reconnects:
// ~1 % more connections), so the probe never waits long behind back-to-back clients.
constexpr std::size_t kKeepAliveMaxRequests = 100;
// Nothing here takes a body: probe paths answer before reading one; other paths get 404, or
// 413 after the body is skipped (a body without Content-Length is read whole: cpp-httplib).
constexpr std::size_t kMaxBody = 1024;
// cpp-httplib listens with a backlog of 5 (compiled in): bursts of connections overflowed it
// and waited for a SYN retransmission (1 s, then 3 s). The socket is re-listened deeper.
constexpr int kListenBacklog = 1024;
// Busy workers must not starve the check threads of CPU (a starved check overruns its timeout
// and /health turns 503 from request load alone: bench/notes.md): workers run at nice +10.
constexpr int kWorkerNice = 10;

// cpp-httplib's pool, each worker lowered to kWorkerNice the first time it runs a connection
// (Linux: nice is per thread; lowering one's own priority needs no privilege).
struct NicedThreadPool final : httplib::ThreadPool {
    using httplib::ThreadPool::ThreadPool;
    void enqueue(std::function<void()> fn) override {
        httplib::ThreadPool::enqueue([fn = std::move(fn)] {
            static thread_local const bool reniced =
                ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), kWorkerNice) == 0;
            (void)reniced;
            fn();
        });
    }
};

void block_signals(sigset_t& set) {
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace

int serve(const Settings& settings) {
    // Signals are taken by a dedicated thread with sigwait; every other thread blocks them.
    sigset_t signals;
    block_signals(signals);

    Prober prober;
    add_checks(prober, settings.checks);

    httplib::Server server;
    server.new_task_queue = [] { return new NicedThreadPool(kWorkerThreads); };
    server.set_tcp_nodelay(true);
    server.set_keep_alive_max_count(kKeepAliveMaxRequests);
    server.set_keep_alive_timeout(kKeepAliveSeconds);
    server.set_read_timeout(kReadTimeoutMs / 1000, (kReadTimeoutMs % 1000) * 1000);
    server.set_write_timeout(kWriteTimeoutSeconds, 0);
    server.set_payload_max_length(kMaxBody);
    // The listening socket: cpp-httplib's own options (SO_REUSEPORT), and its descriptor, to
    // deepen the backlog once bound (listen() on a listening socket updates it in place).
    int listen_fd = -1;
    server.set_socket_options([&listen_fd](socket_t sock) {
        httplib::default_socket_options(sock);
        listen_fd = sock;
    });
    const EndpointOptions endpoint_options{settings.details, ""};
    // Probe paths are answered before routing: no regex matching on the hot path.
    server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
        return handle_probe_request(prober, endpoint_options, req, res)
                   ? httplib::Server::HandlerResponse::Handled
                   : httplib::Server::HandlerResponse::Unhandled;
    });

    if (!server.bind_to_port(settings.listen_host, settings.listen_port)) {
        const int err = errno;
        std::cerr << "READYPROBE_LISTEN: cannot listen on " << settings.listen_host << ":"
                  << settings.listen_port << ": " << (err ? std::strerror(err) : "bind failed") << "\n";
        return kExitBadConfig;
    }
    if (listen_fd >= 0) ::listen(listen_fd, kListenBacklog);

    spdlog::info("readyprobe {} serving on {}:{} with {} check(s), details={}", READYPROBE_VERSION,
                 settings.listen_host, settings.listen_port, settings.checks.size(),
                 settings.details == Details::none     ? "none"
                 : settings.details == Details::status ? "status"
                                                       : "full");
    for (const auto& c : settings.checks) {
        spdlog::info("check {}: {} every {} ms, timeout {} ms, groups {}{}", c.name, c.url.redacted(),
                     to_ms(c.schedule.interval), to_ms(c.schedule.timeout),
                     [&] {
                         std::string g;
                         for (const auto& x : c.schedule.groups) g += (g.empty() ? "" : ",") + x;
                         return g;
                     }(),
                     c.schedule.critical ? "" : " (non-critical)");
    }
    prober.start();

    int exit_code = 0;
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        if (sig == 0) return;
        prober.drain();
        spdlog::info("{} received: /health answers 503 from now on; exiting in {} ms "
                     "(a second signal exits at once)",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT", to_ms(settings.drain));
        const auto drain_ms = to_ms(settings.drain);
        timespec ts{static_cast<time_t>(drain_ms / 1000), static_cast<long>((drain_ms % 1000) * 1'000'000)};
        const int second = sigtimedwait(&signals, nullptr, &ts);
        if (second > 0) {
            spdlog::warn("second signal: exiting without waiting for the drain to finish");
            spdlog::default_logger()->flush();
            std::_Exit(128 + second);
        }
        spdlog::info("drain complete, stopping");
        server.stop();
    });

    const bool ok = server.listen_after_bind();
    if (!ok) {
        spdlog::error("the HTTP server stopped unexpectedly");
        exit_code = 1;
        // Let the signal thread finish: wake it as if a SIGTERM had arrived.
        kill(getpid(), SIGTERM);
    }
    signal_thread.join();
    prober.stop();
    spdlog::info("stopped");
    return exit_code;
}

}  // namespace readyprobe::cli
