// The serving lifecycle, the one sequence the sidecar, an embedding application and the example
// service all run: start the checks, serve the probe endpoints (and the application's routes) on
// a tuned cpp-httplib server, and on SIGTERM or SIGINT drain: readiness answers 503 at once,
// every request is still served for the drain time, then the server stops (in-flight requests
// finish), the checks stop (a lease is removed) and run() returns 0.
#pragma once

#include <readyprobe/clock.hpp>
#include <readyprobe/http.hpp>
#include <readyprobe/prober.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace httplib {
class Server;
}  // namespace httplib

namespace readyprobe {

struct ServeOptions {
    std::string host = "0.0.0.0";
    int port = 8080;
    // How long requests are still served after the signal, readiness failing (READYPROBE_DRAIN).
    Duration drain = std::chrono::seconds(5);
    // What the probe endpoints reveal and under which prefix (EndpointOptions in http.hpp).
    EndpointOptions endpoints;
    // The server's workers, timeouts and limits (ServerTuning in http.hpp).
    ServerTuning tuning;
    // true: the probe paths are answered in cpp-httplib's pre-routing handler, before any route
    // (no regex matching per request; the sidecar's hot path), and the pre-routing handler is
    // the Service's. false: they are mounted as routes (mount()) beside the application's.
    bool before_routing = false;
};

// Usage (the README's embedding example is a complete program):
//   readyprobe::Service service(prober, options);  // first: blocks SIGTERM/SIGINT
//   service.server().Get("/hello", ...);           // the application's routes
//   if (!service.bind()) ...                       // errno says why
//   return service.run();                          // until a signal and the drain
//
// Signals: the constructor blocks SIGTERM and SIGINT in the calling thread, so every thread
// started after it (the Prober's, the server's, the application's) inherits the mask and one
// thread of run() takes them with sigwait. Construct the Service before starting any other
// thread (or block both signals yourself first). A second signal during the drain ends the
// process at once with 128 + its number (std::_Exit).
class Service {
public:
    // The prober must outlive the Service; its checks are added, it is not started yet.
    Service(Prober& prober, ServeOptions options);
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // The server, for the application's own routes and settings (before run()).
    httplib::Server& server();
    const ServeOptions& options() const;

    // Applies the tuning and binds host:port (tune_and_bind). false when binding failed: errno
    // is kept (0 when the host name did not resolve).
    bool bind();

    // Starts the prober and serves (bind() first) until SIGTERM or SIGINT; then the drain (see
    // above). Returns 0 after a clean drain, 1 when the server stopped by itself (it still
    // drains, then stops). Logs the signal, the end of the drain and the stop (spdlog).
    int run();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace readyprobe
