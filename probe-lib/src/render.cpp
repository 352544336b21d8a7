#include <readyprobe/render.hpp>

#include <readyprobe/version.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>

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

// A message on one line of verbose text: a line break in a dependency's message would start a
// line that reads like another check's ("[+]db ok").
std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return text;
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
                if (!up) out += ": " + one_line(line_message(line, now));
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

namespace {

// Numbers the way Prometheus clients write them: shortest round-trip form for small values.
void number(std::string& out, double v, const char* format = "%.9g") {
    char buf[40];
    std::snprintf(buf, sizeof buf, format, v);
    out += buf;
}

void number(std::string& out, std::uint64_t v) { out += std::to_string(v); }

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

// `name{check="db",extra}` or `name{extra}` (check hidden) or `name` (neither).
void series(std::string& out, const char* name, const std::string* check, const std::string& extra = {}) {
    out += name;
    if (!check && extra.empty()) {
        out += ' ';
        return;
    }
    out += '{';
    if (check) {
        out += "check=\"";
        out += label(*check);
        out += '"';
        if (!extra.empty()) out += ',';
    }
    out += extra;
    out += "} ";
}

void histogram(std::string& out, const std::string* check, const DurationHistogram& h) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        cumulative += h.buckets[i];
        std::string le = "le=\"";
        number(le, DurationHistogram::kBounds[i]);
        le += '"';
        series(out, "readyprobe_check_duration_seconds_bucket", check, le);
        number(out, cumulative);
        out += '\n';
    }
    series(out, "readyprobe_check_duration_seconds_bucket", check, "le=\"+Inf\"");
    number(out, h.count);
    out += '\n';
    series(out, "readyprobe_check_duration_seconds_sum", check);
    number(out, seconds(h.sum), "%.6f");
    out += '\n';
    series(out, "readyprobe_check_duration_seconds_count", check);
    number(out, h.count);
    out += '\n';
}

}  // namespace

namespace {

// readyprobe_checks: checks by effective status.
void status_counts(std::string& out, const Snapshot& snapshot, TimePoint now) {
    std::uint64_t by_status[3] = {0, 0, 0};  // up, down, unknown
    for (const auto& s : snapshot.checks) {
        const CheckStatus st = effective_status(s, now);
        ++by_status[st == CheckStatus::up ? 0 : st == CheckStatus::down ? 1 : 2];
    }
    family(out, "readyprobe_checks", "gauge", "Checks by status (a stale check counts as down).");
    const char* const status_names[] = {"up", "down", "unknown"};
    for (int i = 0; i < 3; ++i) {
        out += "readyprobe_checks{status=\"";
        out += status_names[i];
        out += "\"} ";
        number(out, by_status[i]);
        out += '\n';
    }
}

// The per-check gauges (named series only): up, last duration, last success.
void check_gauges(std::string& out, const Snapshot& snapshot, TimePoint now) {
    family(out, "readyprobe_check_up", "gauge", "Whether the check is up (1) or down/unknown/stale (0).");
    for (const auto& s : snapshot.checks) {
        series(out, "readyprobe_check_up", &s.name, "kind=\"" + label(s.kind) + "\"");
        out += effective_status(s, now) == CheckStatus::up ? "1\n" : "0\n";
    }
    family(out, "readyprobe_check_last_duration_seconds", "gauge", "Duration of the newest run of the check.");
    for (const auto& s : snapshot.checks) {
        series(out, "readyprobe_check_last_duration_seconds", &s.name);
        number(out, seconds(s.last_duration));
        out += '\n';
    }
    family(out, "readyprobe_check_last_success_timestamp_seconds", "gauge",
           "Unix time of the newest passing run of the check (0: none since start).");
    for (const auto& s : snapshot.checks) {
        series(out, "readyprobe_check_last_success_timestamp_seconds", &s.name);
        number(out, s.last_success ? std::chrono::duration<double>(s.last_success->time_since_epoch()).count() : 0.0,
               "%.3f");
        out += '\n';
    }
}

// readyprobe_check_runs_total, per check or (without names) summed.
void run_counts(std::string& out, const Snapshot& snapshot, bool names) {
    family(out, "readyprobe_check_runs_total", "counter", "Check runs by result.");
    const char* const results[] = {"ok", "failed", "timeout"};
    if (names) {
        for (const auto& s : snapshot.checks) {
            const std::uint64_t counts[] = {s.runs_ok, s.runs_failed, s.runs_timeout};
            for (int i = 0; i < 3; ++i) {
                series(out, "readyprobe_check_runs_total", &s.name, std::string("result=\"") + results[i] + "\"");
                number(out, counts[i]);
                out += '\n';
            }
        }
    } else {
        std::uint64_t counts[] = {0, 0, 0};
        for (const auto& s : snapshot.checks) {
            counts[0] += s.runs_ok;
            counts[1] += s.runs_failed;
            counts[2] += s.runs_timeout;
        }
        for (int i = 0; i < 3; ++i) {
            series(out, "readyprobe_check_runs_total", nullptr, std::string("result=\"") + results[i] + "\"");
            number(out, counts[i]);
            out += '\n';
        }
    }
}

// readyprobe_check_transitions_total, per check or (without names) summed.
void transition_counts(std::string& out, const Snapshot& snapshot, bool names) {
    family(out, "readyprobe_check_transitions_total", "counter",
           "Check state changes by the state entered (logged once each, with the reason).");
    if (names) {
        for (const auto& s : snapshot.checks) {
            series(out, "readyprobe_check_transitions_total", &s.name, "to=\"up\"");
            number(out, s.transitions_up);
            out += '\n';
            series(out, "readyprobe_check_transitions_total", &s.name, "to=\"down\"");
            number(out, s.transitions_down);
            out += '\n';
        }
    } else {
        std::uint64_t up = 0;
        std::uint64_t down = 0;
        for (const auto& s : snapshot.checks) {
            up += s.transitions_up;
            down += s.transitions_down;
        }
        out += "readyprobe_check_transitions_total{to=\"up\"} ";
        number(out, up);
        out += "\nreadyprobe_check_transitions_total{to=\"down\"} ";
        number(out, down);
        out += '\n';
    }
}

}  // namespace

std::string render_metrics(const Snapshot& snapshot, TimePoint now, Details details) {
    // At details=none no series names a check: the per-check families are summed over checks.
    const bool names = details != Details::none;
    std::string out;
    out.reserve(names ? 1024 + snapshot.checks.size() * 2048 : 2048);

    family(out, "readyprobe_build_info", "gauge", "The readyprobe version serving these metrics (always 1).");
    out += "readyprobe_build_info{version=\"";
    out += label(version());
    out += "\"} 1\n";

    status_counts(out, snapshot, now);
    if (names) check_gauges(out, snapshot, now);
    run_counts(out, snapshot, names);
    transition_counts(out, snapshot, names);

    family(out, "readyprobe_check_duration_seconds", "histogram", "Durations of check runs (timeouts included).");
    if (names) {
        for (const auto& s : snapshot.checks) histogram(out, &s.name, s.durations);
    } else {
        DurationHistogram all;
        for (const auto& s : snapshot.checks) all += s.durations;
        histogram(out, nullptr, all);
    }

    const auto ready = evaluate(snapshot, "ready", now);
    family(out, "readyprobe_ready", "gauge", "Whether /health answers 200.");
    out += ready.http_status == 200 ? "readyprobe_ready 1\n" : "readyprobe_ready 0\n";
    family(out, "readyprobe_startup_complete", "gauge", "Whether the startup group has latched.");
    out += snapshot.startup_latched ? "readyprobe_startup_complete 1\n" : "readyprobe_startup_complete 0\n";
    family(out, "readyprobe_draining", "gauge", "Whether the process is draining after SIGTERM.");
    out += snapshot.draining ? "readyprobe_draining 1\n" : "readyprobe_draining 0\n";
    return out;
}

}  // namespace readyprobe
