// `readyprobe serve`: the library's serving lifecycle (readyprobe/serve.hpp) with the sidecar's
// settings and start-up log lines.
#include "commands.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/log.hpp>
#include <readyprobe/prober.hpp>
#include <readyprobe/serve.hpp>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>

namespace readyprobe::cli {
namespace {

LogEvent event(const char* name) {
    LogEvent e;
    e.event = name;
    return e;
}

void log_configuration(const Settings& settings) {
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
        std::string groups;
        for (const auto& g : c.schedule.groups) groups += (groups.empty() ? "" : ",") + g;
        spdlog::info("check {}: {} every {} ms, timeout {} ms, groups {}{}", c.name, c.url.redacted(),
                     to_ms(c.schedule.interval), to_ms(c.schedule.timeout), groups,
                     c.schedule.critical ? "" : " (non-critical)");
    }
}

}  // namespace

int serve(const Settings& settings) {
    ServeOptions options;
    options.host = settings.listen_host;
    options.port = settings.listen_port;
    options.drain = settings.drain;
    options.endpoints.details = settings.details;
    // Probe paths are answered before routing: no regex matching on the hot path. The tuning is
    // ServerTuning's defaults: 64 workers at nice +10, short read/keep-alive timeouts, 100
    // requests per connection, backlog 1024.
    options.before_routing = true;

    Prober prober;
    Service service(prober, options);  // blocks SIGTERM/SIGINT before any thread starts
    add_checks(prober, settings.checks);
    if (!service.bind()) {
        const int err = errno;
        std::cerr << "READYPROBE_LISTEN: cannot listen on " << settings.listen_host << ":"
                  << settings.listen_port << ": " << (err ? std::strerror(err) : "bind failed") << "\n";
        return kExitBadConfig;
    }
    log_configuration(settings);
    return service.run();
}

}  // namespace readyprobe::cli
