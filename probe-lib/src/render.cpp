#include <readyprobe/render.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace readyprobe {
namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

double millis(Duration d) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()) /
           1000.0;
}

std::string format_ms(Duration d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", millis(d));
    return buf;
}

std::string line_message(const CheckLine& line, TimePoint now) {
    if (line.stale) {
        return "stale: no result for " + std::to_string(to_ms(now - *line.state->last_result)) +
               " ms";
    }
    return line.state->message;
}

// Prometheus label values escape backslash, double quote and newline.
std::string label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

}  // namespace

std::string render_text(const GroupResult& result, Details details, bool verbose, TimePoint now) {
    std::string out;
    if (verbose && details != Details::none) {
        for (const auto& line : result.checks) {
            const bool up = line.status == CheckStatus::up;
            out += up ? "[+]" : "[-]";
            out += line.state->name;
            if (line.excluded) out += " excluded:";
            out += up ? " ok" : (line.status == CheckStatus::unknown ? " unknown" : " failed");
            if (!line.state->schedule.critical) out += " (non-critical)";
            if (details == Details::full && line.state->last_result) {
                if (!up) out += ": " + line_message(line, now);
                out += " (" + format_ms(line.state->last_duration) + ")";
            }
            out += "\n";
        }
        if (!result.reason.empty() && result.http_status != 200) {
            out += std::string(to_string(result.verdict)) + ": " + result.reason + "\n";
            return out;
        }
    }
    out += to_string(result.verdict);
    out += "\n";
    return out;
}

std::string render_json(const GroupResult& result, const Snapshot& snapshot, Details details,
                        TimePoint now) {
    nlohmann::json body;
    body["status"] = to_string(result.verdict);
    if (details != Details::none) {
        nlohmann::json checks = nlohmann::json::object();
        for (const auto& line : result.checks) {
            const CheckState& s = *line.state;
            nlohmann::json c;
            c["status"] = to_string(line.status);
            c["critical"] = s.schedule.critical;
            if (line.excluded) c["excluded"] = true;
            if (details == Details::full) {
                c["kind"] = s.kind;
                c["groups"] = s.schedule.groups;
                c["message"] = line_message(line, now);
                if (line.stale) c["stale"] = true;
                c["since_seconds"] = seconds(now - s.since);
                if (s.last_result) {
                    c["latency_ms"] = millis(s.last_duration);
                    c["age_seconds"] = seconds(now - *s.last_result);
                }
                c["runs"] = {{"ok", s.runs_ok}, {"failed", s.runs_failed},
                             {"timeout", s.runs_timeout}};
            }
            checks[s.name] = std::move(c);
        }
        body["checks"] = std::move(checks);
        body["startup_complete"] = snapshot.startup_latched;
        body["draining"] = snapshot.draining;
        if (!result.reason.empty() && result.http_status != 200) body["reason"] = result.reason;
    }
    // Check messages carry text from dependencies (a Redis error reply, a PostgreSQL
    // message): invalid UTF-8 is replaced, not thrown (which made the endpoint answer 500).
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string render_metrics(const Snapshot& snapshot, TimePoint now) {
    std::ostringstream out;
    out << "# HELP readyprobe_check_up Whether the check is up (1) or down/unknown/stale (0).\n"
           "# TYPE readyprobe_check_up gauge\n";
    for (const auto& s : snapshot.checks) {
        out << "readyprobe_check_up{check=\"" << label(s.name) << "\",kind=\"" << label(s.kind)
            << "\"} " << (effective_status(s, now) == CheckStatus::up ? 1 : 0) << "\n";
    }
    out << "# HELP readyprobe_check_duration_seconds Duration of the newest run of the check.\n"
           "# TYPE readyprobe_check_duration_seconds gauge\n";
    for (const auto& s : snapshot.checks) {
        out << "readyprobe_check_duration_seconds{check=\"" << label(s.name) << "\"} "
            << seconds(s.last_duration) << "\n";
    }
    out << "# HELP readyprobe_check_runs_total Check runs by result.\n"
           "# TYPE readyprobe_check_runs_total counter\n";
    for (const auto& s : snapshot.checks) {
        const std::string name = label(s.name);
        out << "readyprobe_check_runs_total{check=\"" << name << "\",result=\"ok\"} " << s.runs_ok
            << "\n";
        out << "readyprobe_check_runs_total{check=\"" << name << "\",result=\"failed\"} "
            << s.runs_failed << "\n";
        out << "readyprobe_check_runs_total{check=\"" << name << "\",result=\"timeout\"} "
            << s.runs_timeout << "\n";
    }
    const auto ready = evaluate(snapshot, "ready", now);
    out << "# HELP readyprobe_ready Whether /health answers 200.\n"
           "# TYPE readyprobe_ready gauge\n"
        << "readyprobe_ready " << (ready.http_status == 200 ? 1 : 0) << "\n";
    out << "# HELP readyprobe_startup_complete Whether the startup group has latched.\n"
           "# TYPE readyprobe_startup_complete gauge\n"
        << "readyprobe_startup_complete " << (snapshot.startup_latched ? 1 : 0) << "\n";
    out << "# HELP readyprobe_draining Whether the process is draining after SIGTERM.\n"
           "# TYPE readyprobe_draining gauge\n"
        << "readyprobe_draining " << (snapshot.draining ? 1 : 0) << "\n";
    return out.str();
}

}  // namespace readyprobe
