#include <readyprobe/log.hpp>
#include <readyprobe/serve.hpp>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <thread>

namespace readyprobe {
namespace {

LogEvent event(const char* name) {
    LogEvent e;
    e.event = name;
    return e;
}

const char* signal_name(int sig) { return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal"; }

}  // namespace

struct Service::Impl {
    Prober& prober;
    ServeOptions options;
    sigset_t signals;
    httplib::Server server;
    std::atomic<bool> listen_returned{false};

    Impl(Prober& p, ServeOptions o) : prober(p), options(std::move(o)) {}

    // Waits for the first signal, drains, stops the server. A second signal ends the process.
    void on_signals() {
        int sig = 0;
        sigwait(&signals, &sig);
        if (sig == 0) return;
        prober.drain();
        const LogEvent signalled = event("signal");
        std::optional<LogEventScope> scope(std::in_place, signalled);
        const long long drain_ms = to_ms(options.drain);
        spdlog::info("{} received: /health answers 503 from now on; exiting in {} ms "
                     "(a second signal exits at once)",
                     signal_name(sig), drain_ms);
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
        // cpp-httplib's stop() does nothing before listen_after_bind() has marked the server
        // running: a signal that came first (READYPROBE_DRAIN=0 at start-up) waits for that.
        while (!server.is_running() && !listen_returned) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        server.stop();
    }
};

Service::Service(Prober& prober, ServeOptions options) : impl_(std::make_unique<Impl>(prober, std::move(options))) {
    sigemptyset(&impl_->signals);
    sigaddset(&impl_->signals, SIGTERM);
    sigaddset(&impl_->signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &impl_->signals, nullptr);

    const EndpointOptions& endpoints = impl_->options.endpoints;
    if (impl_->options.before_routing) {
        Prober& p = impl_->prober;
        impl_->server.set_pre_routing_handler([&p, &endpoints](const httplib::Request& req, httplib::Response& res) {
            return handle_probe_request(p, endpoints, req, res) ? httplib::Server::HandlerResponse::Handled
                                                                : httplib::Server::HandlerResponse::Unhandled;
        });
    } else {
        mount(impl_->server, impl_->prober, endpoints);
    }
}

Service::~Service() = default;

httplib::Server& Service::server() { return impl_->server; }

const ServeOptions& Service::options() const { return impl_->options; }

bool Service::bind() {
    return tune_and_bind(impl_->server, impl_->options.host, impl_->options.port, impl_->options.tuning);
}

int Service::run() {
    impl_->prober.start();
    std::thread signal_thread([this] { impl_->on_signals(); });
    int exit_code = 0;
    const bool listened = impl_->server.listen_after_bind();
    impl_->listen_returned = true;
    if (!listened) {
        spdlog::error("the HTTP server stopped unexpectedly");
        exit_code = 1;
        // Let the signal thread finish as if a SIGTERM had arrived (blocked there: sigwait takes it).
        pthread_kill(signal_thread.native_handle(), SIGTERM);
    }
    signal_thread.join();
    impl_->prober.stop();
    const LogEvent stopped = event("stopped");
    const LogEventScope scope(stopped);
    spdlog::info("stopped");
    return exit_code;
}

}  // namespace readyprobe
