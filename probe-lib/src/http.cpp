#include <readyprobe/http.hpp>

#include <httplib.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

namespace readyprobe {
namespace {

// What a probe path asks for, from the path after the prefix (views into the request's path).
struct Route {
    enum Kind { unmatched, whole_group, one_check, prometheus } kind = unmatched;
    std::string_view group;  // ready, live, startup or a custom one
    std::string_view check;  // for `check`
    bool custom = false;     // /groups/<name>
};

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.size() > prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// "/readyz/db" -> "db"; empty when `path` is not `prefix` + one non-empty segment.
std::string_view segment_after(std::string_view path, std::string_view prefix) {
    if (!starts_with(path, prefix)) return {};
    const std::string_view rest = path.substr(prefix.size());
    return rest.find('/') == std::string_view::npos ? rest : std::string_view{};
}

Route route_of(std::string_view path) {
    Route r;
    if (path == "/health" || path == "/readyz") {
        r = {Route::whole_group, "ready", {}, false};
    } else if (path == "/livez") {
        r = {Route::whole_group, "live", {}, false};
    } else if (path == "/startupz") {
        r = {Route::whole_group, "startup", {}, false};
    } else if (path == "/metrics") {
        r.kind = Route::prometheus;
    } else if (auto c = segment_after(path, "/readyz/"); !c.empty()) {
        r = {Route::one_check, "ready", c, false};
    } else if (auto c = segment_after(path, "/livez/"); !c.empty()) {
        r = {Route::one_check, "live", c, false};
    } else if (auto c = segment_after(path, "/startupz/"); !c.empty()) {
        r = {Route::one_check, "startup", c, false};
    } else if (auto g = segment_after(path, "/groups/"); !g.empty()) {
        r = {Route::whole_group, g, {}, true};
    }
    return r;
}

// A name from the request, safe to echo in a plain-text answer: printable ASCII, bounded.
std::string shown(std::string_view name) {
    std::string out;
    for (char c : name.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (name.size() > 64) out += "...";
    return out;
}

void answer(httplib::Response& res, int status, const std::string& text) {
    res.status = status;
    res.set_content(text, "text/plain; charset=utf-8");
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

// cpp-httplib's pool, each worker lowered to `nice` the first time it runs a connection.
struct NicedThreadPool final : httplib::ThreadPool {
    NicedThreadPool(std::size_t workers, int nice) : httplib::ThreadPool(workers), nice_(nice) {}
    void enqueue(std::function<void()> fn) override {
        httplib::ThreadPool::enqueue([fn = std::move(fn), nice = nice_] {
            static thread_local const bool reniced =
                nice == 0 || ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice) == 0;
            (void)reniced;
            fn();
        });
    }

private:
    int nice_;
};

}  // namespace

bool handle_probe_request(const Prober& prober, const EndpointOptions& options,
                          const httplib::Request& req, httplib::Response& res) {
    const std::string& prefix = options.prefix;
    if (req.path.size() <= prefix.size() || req.path.compare(0, prefix.size(), prefix) != 0) {
        return false;
    }
    const Route route = route_of(std::string_view(req.path).substr(prefix.size()));
    if (route.kind == Route::unmatched) return false;

    res.set_header("Cache-Control", "no-store");
    if (req.method != "GET" && req.method != "HEAD") {
        res.status = 405;
        res.set_header("Allow", "GET, HEAD");
        res.set_content("method not allowed\n", "text/plain; charset=utf-8");
        return true;
    }

    const auto snapshot = prober.snapshot();
    const TimePoint now = prober.now();
    if (route.kind == Route::prometheus) {
        res.status = 200;
        res.set_content(render_metrics(*snapshot, now, options.details),
                        "text/plain; version=0.0.4; charset=utf-8");
        return true;
    }

    std::set<std::string> exclude;
    for (auto [it, end] = req.params.equal_range("exclude"); it != end; ++it) {
        if (!find_check(*snapshot, it->second)) {
            answer(res, 400, "unknown check in ?exclude=: " + shown(it->second) + "\n");
            return true;
        }
        exclude.insert(it->second);
    }
    const std::string group(route.group);
    std::optional<GroupResult> result;
    if (route.kind == Route::one_check) {
        result = evaluate_check(*snapshot, group, std::string(route.check), now);
        if (!result) {
            answer(res, 404, "no check " + shown(route.check) + " in group " + group + "\n");
            return true;
        }
    } else {
        if (route.custom && (group == "ready" || group == "live" || group == "startup" || !has_group(*snapshot, group))) {
            answer(res, 404, "no custom group " + shown(route.group) +
                                 " (ready, live and startup are served at /readyz, /livez and /startupz)\n");
            return true;
        }
        result = evaluate(*snapshot, group, now, exclude);
    }
    res.status = result->http_status;
    if (wants_json(req)) {
        res.set_content(render_json(*result, *snapshot, options.details, now), "application/json");
    } else {
        res.set_content(render_text(*result, options.details, req.has_param("verbose"), now),
                        "text/plain; charset=utf-8");
    }
    return true;
}

void mount(httplib::Server& server, const Prober& prober, EndpointOptions options) {
    const std::string base = regex_escape(options.prefix);
    const std::string patterns[] = {
        base + R"(/(health|readyz|livez|startupz|metrics))",
        base + R"(/(readyz|livez|startupz|groups)/[^/]+)",
    };
    for (const std::string& pattern : patterns) {
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

bool tune_and_bind(httplib::Server& server, const std::string& host, int port, const ServerTuning& tuning) {
    const std::size_t workers = tuning.workers > 0 ? tuning.workers : 1;
    const int nice = tuning.worker_nice;
    server.new_task_queue = [workers, nice] { return new NicedThreadPool(workers, nice); };
    server.set_tcp_nodelay(true);
    server.set_keep_alive_max_count(tuning.keep_alive_max_requests);
    // Keep-alive is whole seconds in cpp-httplib: rounded up, so it is never shorter than asked.
    server.set_keep_alive_timeout(static_cast<time_t>(std::chrono::ceil<std::chrono::seconds>(tuning.keep_alive).count()));
    server.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(tuning.read_timeout));
    server.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(tuning.write_timeout));
    server.set_payload_max_length(tuning.max_body);
    // SO_REUSEADDR (a restart binds over TIME_WAIT) but not cpp-httplib's default SO_REUSEPORT,
    // with which a second instance on the same port binds without an error and the kernel splits
    // connections between the two. And the listening descriptor, to deepen the backlog once
    // bound (listen() on a listening socket updates it in place).
    auto listen_fd = std::make_shared<int>(-1);
    server.set_socket_options([listen_fd](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        *listen_fd = sock;
    });
    errno = 0;  // a failed name lookup sets none: no stale error in the caller's message
    const bool bound = server.bind_to_port(host, port);
    const int saved = errno;
    if (bound && *listen_fd >= 0 && tuning.listen_backlog > 0) ::listen(*listen_fd, tuning.listen_backlog);
    errno = saved;
    return bound;
}

}  // namespace readyprobe
