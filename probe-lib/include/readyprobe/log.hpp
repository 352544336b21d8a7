// Structured fields of log lines: the library's own (state transitions, startup, drain, overruns)
// and the sidecar's (serving, configuration, signals), for a log formatter that writes them as
// JSON keys (CloudWatch Logs Insights) or as key=value pairs after the text message.
#pragma once

#include <optional>
#include <string>

namespace readyprobe {

struct LogEvent {
    // What happened: "transition", "startup", "drain", "overrun" (the library), "serving",
    // "config", "signal", "stopped" (the sidecar). Fields that do not apply stay empty.
    std::string event;
    std::string check;
    std::string kind;
    std::string from;
    std::string to;
    std::string reason;  // a check's message: never a secret
    std::optional<double> latency_ms;
};

// The event the calling thread is logging right now, or null. spdlog's synchronous loggers
// format a line on the thread that logs it, so a formatter reads the fields from here (an
// asynchronous logger formats elsewhere and sees null: the message alone).
const LogEvent* current_log_event();

// Makes `event` the calling thread's current event until the scope ends: log calls inside it
// carry its fields.
class LogEventScope {
public:
    explicit LogEventScope(const LogEvent& event);
    ~LogEventScope();
    LogEventScope(const LogEventScope&) = delete;
    LogEventScope& operator=(const LogEventScope&) = delete;

private:
    const LogEvent* previous_;
};

// The fields as logfmt, each preceded by a space: ` event=transition check=db kind=postgres
// from=up to=down reason="timeout after 1000 ms" latency_ms=1000.3`. Empty fields are left out;
// a value with anything but letters, digits and `_.:/-` is quoted (`\"`, `\\`, `\n` escaped).
std::string to_logfmt(const LogEvent& event);

}  // namespace readyprobe
