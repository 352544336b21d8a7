// The line `readyprobe check` prints for an answer, shared by the core (client.cpp) and the front
// (plain_check.cpp, which both executables run): header-only, the standard library only.
//
// `check` asks for the verbose form (`?verbose`, added unless the URL has it) and folds it into
// one line for an ECS health check's output, e.g.
//   503 not_ready: db down (timeout after 1000 ms), cache unknown
// Only what the instance's details level reveals is there: `none` answers the status word alone,
// `status` one line per check without reasons, `full` the reasons too. An answer that is not
// readyprobe's verbose text (another server, an older readyprobe) prints as before: the status
// code and the body's first line.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace readyprobe::cli {

// Adds `verbose` to a URL's query (parsed into key/value pairs) unless it is there.
inline void ask_verbose(std::vector<std::pair<std::string, std::string>>& query) {
    for (const auto& [key, value] : query) {
        if (key == "verbose") return;
    }
    query.emplace_back("verbose", "");
}

namespace detail {

inline std::string cut(std::string s, std::size_t width) {
    if (s.size() > width) s = s.substr(0, width - 3) + "...";
    return s;
}

inline bool is_verdict(const std::string& word) {
    return word == "ready" || word == "degraded" || word == "not_ready" || word == "draining";
}

// " (12.3 ms)" at the end of a full-details line: the run's latency, not part of the reason.
inline bool strip_latency(std::string& s) {
    if (s.size() < 7 || s.compare(s.size() - 4, 4, " ms)") != 0) return false;
    const std::size_t open = s.rfind(" (");
    if (open == std::string::npos) return false;
    for (std::size_t i = open + 2; i < s.size() - 4; ++i) {
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) return false;
    }
    s.erase(open);
    return true;
}

}  // namespace detail

// "<status> <verdict>[: <failing checks or reason>]\n" from an HTTP status and the body.
inline std::string check_line(int status, const std::string& body) {
    const std::string code = std::to_string(status) + " ";
    const std::string first = body.substr(0, body.find('\n'));
    const auto fallback = [&] { return code + detail::cut(first, 200) + "\n"; };

    std::vector<std::string> lines;
    for (std::size_t pos = 0; pos < body.size();) {
        std::size_t eol = body.find('\n', pos);
        if (eol == std::string::npos) eol = body.size();
        if (eol > pos) lines.push_back(body.substr(pos, eol - pos));
        pos = eol + 1;
    }
    if (lines.empty()) return fallback();
    // readyprobe's verbose text: "[+]name ..." / "[-]name ..." lines, then "<verdict>[: reason]".
    const std::string& last = lines.back();
    const std::size_t colon = last.find(": ");
    const std::string verdict = last.substr(0, colon);
    const std::string reason = colon == std::string::npos ? "" : last.substr(colon + 2);
    if (!detail::is_verdict(verdict)) return fallback();
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
        if (lines[i].compare(0, 3, "[+]") != 0 && lines[i].compare(0, 3, "[-]") != 0) return fallback();
    }

    // Not ready: the critical checks that are not up. Degraded: the non-critical ones.
    const bool want_critical = verdict != "degraded";
    std::string failing;
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
        if (lines[i].compare(0, 3, "[-]") != 0) continue;
        std::string rest = lines[i].substr(3);
        const std::size_t space = rest.find(' ');
        if (space == std::string::npos) return fallback();
        const std::string name = rest.substr(0, space);
        rest.erase(0, space + 1);
        if (rest.compare(0, 9, "excluded:") == 0) continue;
        std::string state;
        if (rest.compare(0, 6, "failed") == 0) {
            state = "down";
            rest.erase(0, 6);
        } else if (rest.compare(0, 7, "unknown") == 0) {
            state = "unknown";
            rest.erase(0, 7);
        } else {
            return fallback();
        }
        bool critical = true;
        if (rest.compare(0, 15, " (non-critical)") == 0) {
            critical = false;
            rest.erase(0, 15);
        }
        if (critical != want_critical) continue;
        detail::strip_latency(rest);
        std::string item = name + " " + state;
        if (rest.compare(0, 2, ": ") == 0 && rest.size() > 2) item += " (" + detail::cut(rest.substr(2), 120) + ")";
        failing += (failing.empty() ? "" : ", ") + item;
    }
    std::string line = code + verdict;
    if (verdict != "ready") {
        if (!failing.empty()) {
            line += ": " + failing;
        } else if (!reason.empty() && reason != verdict) {
            line += ": " + reason;
        }
    }
    return detail::cut(line, 500) + "\n";
}

}  // namespace readyprobe::cli
