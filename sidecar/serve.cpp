// `readyprobe serve`: checks in the background, endpoints in the foreground, drain on SIGTERM.
#include "commands.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/http.hpp>
#include <readyprobe/log.hpp>
#include <readyprobe/prober.hpp>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>

namespace readyprobe::cli {
namespace {

LogEvent event(const char* name) {
    LogEvent e;
    e.event = name;
    return e;
}

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
    const EndpointOptions endpoint_options{settings.details, ""};
    // Probe paths are answered before routing: no regex matching on the hot path.
    server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
        return handle_probe_request(prober, endpoint_options, req, res)
                   ? httplib::Server::HandlerResponse::Handled
                   : httplib::Server::HandlerResponse::Unhandled;
    });

    // The shared settings (ServerTuning in readyprobe/http.hpp): 64 workers at nice +10, short
    // read/keep-alive timeouts, 100 requests per connection, backlog 1024.
    if (!tune_and_bind(server, settings.listen_host, settings.listen_port)) {
        const int err = errno;
        std::cerr << "READYPROBE_LISTEN: cannot listen on " << settings.listen_host << ":"
                  << settings.listen_port << ": " << (err ? std::strerror(err) : "bind failed") << "\n";
        return kExitBadConfig;
    }

    const LogEvent serving = event("serving");
    std::optional<LogEventScope> scope(std::in_place, serving);
    spdlog::info("readyprobe {} serving on {}:{} with {} check(s), details={}", READYPROBE_VERSION,
                 settings.listen_host, settings.listen_port, settings.checks.size(),
                 settings.details == Details::none     ? "none"
                 : settings.details == Details::status ? "status"
                                                       : "full");
    for (const auto& c : settings.checks) {
        LogEvent configured = event("config");
        configured.check = c.name;
        configured.kind = c.kind;
        scope.emplace(configured);
        spdlog::info("check {}: {} every {} ms, timeout {} ms, groups {}{}", c.name, c.url.redacted(),
                     to_ms(c.schedule.interval), to_ms(c.schedule.timeout),
                     [&] {
                         std::string g;
                         for (const auto& x : c.schedule.groups) g += (g.empty() ? "" : ",") + x;
                         return g;
                     }(),
                     c.schedule.critical ? "" : " (non-critical)");
    }
    scope.reset();
    prober.start();

    int exit_code = 0;
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        if (sig == 0) return;
        prober.drain();
        const LogEvent signalled = event("signal");
        std::optional<LogEventScope> scope(std::in_place, signalled);
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
        const LogEvent stopping = event("stopping");
        scope.emplace(stopping);
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
    const LogEvent stopped = event("stopped");
    const LogEventScope stopped_scope(stopped);
    spdlog::info("stopped");
    return exit_code;
}

}  // namespace readyprobe::cli
