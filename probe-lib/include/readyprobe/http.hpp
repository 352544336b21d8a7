// The contract's endpoints, for the sidecar and for applications that embed the probe.
#pragma once

#include <readyprobe/clock.hpp>
#include <readyprobe/prober.hpp>
#include <readyprobe/render.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace readyprobe {

// Set by name: `EndpointOptions e; e.details = settings.details;`.
struct EndpointOptions {
    // What responses reveal (READYPROBE_DETAILS).
    Details details = Details::status;
    // Serve the endpoints under this prefix ("/probe" -> "/probe/health"); empty: at the root.
    std::string prefix;
};

// Answers a request for one of the probe paths under the prefix: /health, /readyz, /livez,
// /startupz, /metrics, one check of a group (/readyz/<check>, /livez/<check>, /startupz/<check>:
// 404 for a name not in the group) and custom groups (/groups/<name>: 404 for a group no check
// lists). A ?exclude= naming no configured check is a 400 naming it. Returns false, leaving
// `res` untouched, for any other path. Never runs a check: it reads the newest snapshot.
bool handle_probe_request(const Prober& prober, const EndpointOptions& options,
                          const httplib::Request& req, httplib::Response& res);

// Registers the probe endpoints as routes on the application's server (GET and HEAD; other
// methods get 405). The prober must outlive the server.
void mount(httplib::Server& server, const Prober& prober, EndpointOptions options = {});

// cpp-httplib 0.11 settings that keep the probe paths answering under request floods and
// against slow or hostile clients. cpp-httplib gives each connection one worker for its whole
// life and queues the others (FIFO, unbounded), so the load balancer's probe waits behind
// whatever holds the workers: these bound how long that is. Reasons and measurements:
// docs/hardening.md ("The HTTP server's settings") and docs/benchmarks.md.
struct ServerTuning {
    // Workers: each costs ~8 kB of RSS idle, ~22 kB once it has served. Behind A connections
    // that hold workers on purpose, a fresh request waits about (A - workers) / workers x the
    // read timeout (slow senders) or x the keep-alive timeout (connections that never send).
    std::size_t workers = 64;
    // Workers lower their own priority to this nice value (Linux: per thread; no privilege
    // needed) so that busy request handlers cannot starve the check threads of CPU: a starved
    // check overruns its timeout and readiness fails from request load alone. 0 leaves them be.
    int worker_nice = 10;
    // A slow sender (slowloris) holds a worker until it pauses longer than this between two
    // reads of one request. A prober's request arrives in one segment.
    Duration read_timeout = std::chrono::milliseconds(100);
    // A client that does not read its (small) response for this long is dropped.
    Duration write_timeout = std::chrono::seconds(1);
    // Idle keep-alive connections (and ones that never send) hold a worker this long; whole
    // seconds in cpp-httplib (rounded up here), 1 s is the shortest above "close after ~10 ms".
    Duration keep_alive = std::chrono::seconds(1);
    // A busy keep-alive client gives its worker back after this many requests (it reconnects:
    // ~1 % more connections), so the probe never waits long behind back-to-back clients.
    std::size_t keep_alive_max_requests = 100;
    // Probe paths take no body; other paths get 413 above this (cpp-httplib skips the body).
    std::size_t max_body = 1024;
    // cpp-httplib 0.11 listens with a compiled-in backlog of 5: bursts of connections overflowed
    // it and waited for a SYN retransmission (1 s, then 3 s). The bound socket is re-listened.
    int listen_backlog = 1024;
};

// Applies `tuning` to `server` and binds it to host:port (cpp-httplib's bind_to_port, then the
// deeper backlog). Call instead of bind_to_port, before listen_after_bind(). Returns false when
// binding failed (errno is kept; 0 when the host name did not resolve). It replaces the task
// queue, the timeouts, keep-alive and payload limits, TCP_NODELAY and the socket options
// (SO_REUSEADDR only: no SO_REUSEPORT, so a second instance on the port fails to bind); handlers,
// routes and other settings are left as they are. ServeOptions (serve.hpp) does this for you.
bool tune_and_bind(httplib::Server& server, const std::string& host, int port, const ServerTuning& tuning = {});

}  // namespace readyprobe
