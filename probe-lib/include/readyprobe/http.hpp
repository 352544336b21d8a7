// The contract's endpoints, for the sidecar and for applications that embed the probe.
#pragma once

#include <readyprobe/prober.hpp>
#include <readyprobe/render.hpp>

#include <string>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace readyprobe {

struct EndpointOptions {
    Details details = Details::status;
    // Serve the endpoints under this prefix ("/probe" -> "/probe/health"); empty: at the root.
    std::string prefix;
};

// Answers a request for one of the probe paths (/health, /readyz, /livez, /startupz, /metrics,
// under the prefix). Returns false, leaving `res` untouched, for any other path.
// Never runs a check: it reads the newest snapshot.
bool handle_probe_request(const Prober& prober, const EndpointOptions& options,
                          const httplib::Request& req, httplib::Response& res);

// Registers the probe endpoints as routes on the application's server (GET and HEAD; other
// methods get 405). The prober must outlive the server.
void mount(httplib::Server& server, const Prober& prober, EndpointOptions options = {});

}  // namespace readyprobe
