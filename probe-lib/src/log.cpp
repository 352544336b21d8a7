#include <readyprobe/log.hpp>

#include <cstdio>

namespace readyprobe {
namespace {

thread_local const LogEvent* t_current = nullptr;

void append(std::string& out, const char* key, const std::string& value, bool always_quote = false) {
    if (value.empty()) return;
    bool quote = always_quote;
    for (unsigned char c : value) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
        quote = quote || !plain;
    }
    out += ' ';
    out += key;
    out += '=';
    if (!quote) {
        out += value;
        return;
    }
    out += '"';
    for (char c : value) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += hex;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

}  // namespace

const LogEvent* current_log_event() { return t_current; }

LogEventScope::LogEventScope(const LogEvent& event) : previous_(t_current) { t_current = &event; }

LogEventScope::~LogEventScope() { t_current = previous_; }

std::string to_logfmt(const LogEvent& e) {
    std::string out;
    append(out, "event", e.event);
    append(out, "check", e.check);
    append(out, "kind", e.kind);
    append(out, "from", e.from);
    append(out, "to", e.to);
    append(out, "reason", e.reason, true);
    if (e.latency_ms) {
        char buf[32];
        std::snprintf(buf, sizeof buf, " latency_ms=%.1f", *e.latency_ms);
        out += buf;
    }
    return out;
}

}  // namespace readyprobe
