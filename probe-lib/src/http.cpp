#include <readyprobe/http.hpp>

#include <httplib.h>

#include <set>

namespace readyprobe {
namespace {

const char* const kPaths[] = {"/health", "/readyz", "/livez", "/startupz", "/metrics"};

// The group a path reports on, or empty for /metrics.
std::string group_of(const std::string& path) {
    if (path == "/health" || path == "/readyz") return "ready";
    if (path == "/livez") return "live";
    if (path == "/startupz") return "startup";
    return "";
}

bool wants_json(const httplib::Request& req) {
    if (req.has_param("format")) return req.get_param_value("format") == "json";
    const std::string accept = req.get_header_value("Accept");
    return accept.find("application/json") != std::string::npos;
}

std::string regex_escape(const std::string& text) {
    static const std::string special = R"(\^$.|?*+()[]{})";
    std::string out;
    for (char c : text) {
        if (special.find(c) != std::string::npos) out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

}  // namespace

bool handle_probe_request(const Prober& prober, const EndpointOptions& options,
                          const httplib::Request& req, httplib::Response& res) {
    const std::string& prefix = options.prefix;
    if (req.path.size() <= prefix.size() || req.path.compare(0, prefix.size(), prefix) != 0) {
        return false;
    }
    const std::string path = req.path.substr(prefix.size());
    bool known = false;
    for (const char* p : kPaths) known = known || path == p;
    if (!known) return false;

    res.set_header("Cache-Control", "no-store");
    if (req.method != "GET" && req.method != "HEAD") {
        res.status = 405;
        res.set_header("Allow", "GET, HEAD");
        res.set_content("method not allowed\n", "text/plain; charset=utf-8");
        return true;
    }

    const auto snapshot = prober.snapshot();
    const TimePoint now = prober.now();
    if (path == "/metrics") {
        res.status = 200;
        res.set_content(render_metrics(*snapshot, now), "text/plain; version=0.0.4; charset=utf-8");
        return true;
    }

    std::set<std::string> exclude;
    for (auto [it, end] = req.params.equal_range("exclude"); it != end; ++it) {
        exclude.insert(it->second);
    }
    const GroupResult result = evaluate(*snapshot, group_of(path), now, exclude);
    res.status = result.http_status;
    if (wants_json(req)) {
        res.set_content(render_json(result, *snapshot, options.details, now), "application/json");
    } else {
        res.set_content(render_text(result, options.details, req.has_param("verbose"), now),
                        "text/plain; charset=utf-8");
    }
    return true;
}

void mount(httplib::Server& server, const Prober& prober, EndpointOptions options) {
    for (const char* p : kPaths) {
        const std::string pattern = regex_escape(options.prefix + p);
        auto handler = [&prober, options](const httplib::Request& req, httplib::Response& res) {
            handle_probe_request(prober, options, req, res);
        };
        server.Get(pattern, handler);
        server.Post(pattern, handler);
        server.Put(pattern, handler);
        server.Patch(pattern, handler);
        server.Delete(pattern, handler);
        server.Options(pattern, handler);
    }
}

}  // namespace readyprobe
