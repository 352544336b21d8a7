// libFuzzer target: readyprobe::handle_probe_request, the endpoints' request handling.
//
// Input: an HTTP-like request as text: "METHOD TARGET" on the first line (TARGET is a path with
// an optional ?query: k=v pairs joined by &, percent-decoded), then "Name: value" header lines.
// Each request is answered by three probers (running with function checks: up, down,
// flapping non-critical, live-only, an odd name; draining; never started), at every details
// level, at the root and under a prefix.
//
// Properties:
// - a path that is not a probe path is left alone (false, the response untouched);
// - a probe path (the group paths, /readyz/<check> and the like, /groups/<name>, /metrics) gets
//   200, 503 or 405 (405 with Allow for methods other than GET and HEAD), 404 only for a path
//   naming a check or group, 400 exactly when ?exclude= names no configured check (echoed as
//   printable ASCII), Cache-Control: no-store, a content type and a body;
// - JSON bodies parse and carry a known "status"; details=none reveals no check name;
// - /metrics is Prometheus text: every line a comment or a readyprobe_ sample; no check label at
//   details=none.
#include "fuzz_support.hpp"

#include <readyprobe/check.hpp>
#include <readyprobe/http.hpp>
#include <readyprobe/prober.hpp>
#include <readyprobe/render.hpp>
#include <readyprobe/snapshot.hpp>
#include <readyprobe/url.hpp>

#include "url_text.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace readyprobe;
using rpfuzz::contains;

namespace {

const char* const kOddName = "we\"ird\\name\nx";

Schedule schedule(std::vector<std::string> groups, bool critical = true) {
    Schedule s;
    s.interval = std::chrono::milliseconds(50);
    s.timeout = std::chrono::milliseconds(200);
    s.rise = 1;
    s.fall = 1;
    s.groups = std::move(groups);
    s.critical = critical;
    return s;
}

void add_checks(Prober& p) {
    p.add("alpha", make_function_check([](Deadline) { return Result::pass("ok"); }), schedule({"ready", "startup"}));
    p.add("beta", make_function_check([](Deadline) { return Result::fail("connection refused"); }),
          schedule({"ready"}));
    auto flip = std::make_shared<std::atomic<bool>>(false);
    p.add("gamma",
          make_function_check([flip](Deadline) {
              return (*flip = !*flip) ? Result::pass() : Result::fail("flapping \"quoted\"\nnewline");
          }),
          schedule({"ready", "live"}, false));
    p.add("delta", make_function_check([](Deadline) { return Result::pass(); }), schedule({"live"}));
    p.add(kOddName, make_function_check([](Deadline) { return Result::pass(); }), schedule({"ready", "startup"}));
}

std::vector<Prober*> g_probers;

// Stops the probers' threads before static destruction (spdlog's registry goes then, and a
// worker logging a transition must not find it gone).
void stop_probers() {
    for (Prober* p : g_probers) delete p;
    g_probers.clear();
}

// Created once; their threads run for the whole fuzzing session.
const std::vector<const Prober*>& probers() {
    static const std::vector<const Prober*> all = [] {
        spdlog::set_level(spdlog::level::off);  // also creates spdlog's registry before atexit below
        auto* running = new Prober();
        add_checks(*running);
        running->start();
        auto* draining = new Prober();
        add_checks(*draining);
        draining->start();
        draining->drain();
        auto* idle = new Prober();  // never started: every check unknown
        add_checks(*idle);
        // Let the running ones publish real results before the first input.
        for (int i = 0; i < 100 && running->snapshot()->checks[0].runs_ok == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        g_probers = {running, draining, idle};
        std::atexit(stop_probers);
        return std::vector<const Prober*>{running, draining, idle};
    }();
    return all;
}

httplib::Request build_request(const std::string& input) {
    httplib::Request req;
    const auto lines = rpfuzz::split(input, "\n");
    const std::string& first = lines[0];
    const auto sp = first.find(' ');
    req.method = first.substr(0, sp);
    const std::string target = sp == std::string::npos ? "/health" : first.substr(sp + 1);
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    req.target = target;
    if (q != std::string::npos) {
        for (const auto& pair : rpfuzz::split(target.substr(q + 1), "&")) {
            if (pair.empty()) continue;
            const auto eq = pair.find('=');
            std::string key = pair.substr(0, eq);
            std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
            try {
                key = percent_decode(key);
                value = percent_decode(value);
            } catch (const std::invalid_argument&) {
            }
            req.params.emplace(key, value);
        }
    }
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const auto colon = lines[i].find(':');
        if (colon == std::string::npos) continue;
        std::string value = lines[i].substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        req.headers.emplace(lines[i].substr(0, colon), value);
    }
    return req;
}

// "/readyz/x" etc.: one non-empty segment after the base path.
bool one_segment_after(const std::string& path, const std::string& base) {
    return path.size() > base.size() && path.compare(0, base.size(), base) == 0 &&
           path.find('/', base.size()) == std::string::npos;
}

bool probe_path(const std::string& path) {
    if (path == "/health" || path == "/readyz" || path == "/livez" || path == "/startupz" || path == "/metrics") {
        return true;
    }
    for (const char* base : {"/readyz/", "/livez/", "/startupz/", "/groups/"}) {
        if (one_segment_after(path, base)) return true;
    }
    return false;
}

// A configured check name: ?exclude= naming anything else is a 400.
bool known_check(const std::string& name) {
    for (const char* known : {"alpha", "beta", "gamma", "delta", kOddName}) {
        if (name == known) return true;
    }
    return false;
}

void check_metrics(const std::string& body) {
    for (const auto& line : rpfuzz::split(body, "\n")) {
        if (line.empty()) continue;
        RPFUZZ_CHECK(line.compare(0, 2, "# ") == 0 || line.compare(0, 11, "readyprobe_") == 0,
                     "not Prometheus text: " + line);
    }
    RPFUZZ_CHECK(!body.empty() && body.back() == '\n', "metrics do not end with a newline");
}

void check_response(const httplib::Request& req, const EndpointOptions& options, bool handled,
                    const httplib::Response& res) {
    const bool expected = req.path.size() > options.prefix.size() &&
                          req.path.compare(0, options.prefix.size(), options.prefix) == 0 &&
                          probe_path(req.path.substr(options.prefix.size()));
    RPFUZZ_CHECK(handled == expected, "handled " + std::to_string(handled) + " for " + req.path);
    if (!handled) {
        RPFUZZ_CHECK(res.status == -1 && res.body.empty() && res.headers.empty(),
                     "an unhandled request changed the response: " + req.path);
        return;
    }
    RPFUZZ_CHECK(res.get_header_value("Cache-Control") == "no-store", req.path);
    RPFUZZ_CHECK(!res.body.empty() && res.has_header("Content-Type"), req.path);
    if (req.method != "GET" && req.method != "HEAD") {
        RPFUZZ_CHECK(res.status == 405 && res.get_header_value("Allow") == "GET, HEAD", req.method);
        return;
    }
    const std::string path = req.path.substr(options.prefix.size());
    if (path == "/metrics") {
        RPFUZZ_CHECK(res.status == 200, std::to_string(res.status));
        check_metrics(res.body);
        if (options.details == Details::none) RPFUZZ_CHECK(!contains(res.body, "check="), res.body);
        return;
    }
    bool bad_exclude = false;
    for (auto [it, end] = req.params.equal_range("exclude"); it != end; ++it) {
        bad_exclude = bad_exclude || !known_check(it->second);
    }
    if (bad_exclude) {
        RPFUZZ_CHECK(res.status == 400 && contains(res.body, "unknown check in ?exclude="), res.body);
        for (char c : res.body) RPFUZZ_CHECK(c == '\n' || (c >= 0x20 && c < 0x7f), "unsafe byte echoed");
        return;
    }
    if (res.status == 404) {
        // Only the paths that name a check or a custom group can be 404.
        RPFUZZ_CHECK(path.compare(0, 8, "/readyz/") == 0 || path.compare(0, 7, "/livez/") == 0 ||
                         path.compare(0, 10, "/startupz/") == 0 || path.compare(0, 8, "/groups/") == 0,
                     "404 for " + path);
        for (char c : res.body) RPFUZZ_CHECK(c == '\n' || (c >= 0x20 && c < 0x7f), "unsafe byte echoed");
        return;
    }
    RPFUZZ_CHECK(res.status == 200 || res.status == 503, std::to_string(res.status));
    if (res.get_header_value("Content-Type") == "application/json") {
        const auto doc = nlohmann::json::parse(res.body, nullptr, false);
        RPFUZZ_CHECK(!doc.is_discarded() && doc.is_object() && doc.contains("status") && doc["status"].is_string(),
                     "bad JSON body: " + res.body);
        const std::string status = doc["status"].get<std::string>();
        RPFUZZ_CHECK(status == "ready" || status == "not_ready" || status == "degraded" || status == "draining",
                     status);
        RPFUZZ_CHECK((status == "not_ready" || status == "draining") == (res.status == 503), res.body);
        if (options.details == Details::none) RPFUZZ_CHECK(!doc.contains("checks"), res.body);
    }
    if (options.details == Details::none) {
        for (const char* name : {"alpha", "beta", "gamma", "delta", "we\"ird"}) {
            RPFUZZ_CHECK(!contains(res.body, name), "details=none shows check " + std::string(name));
        }
    }
}

// Dependencies put their own text in check messages (a Redis error reply, a PostgreSQL
// message, an HTTP body): a snapshot whose names and messages come from the input, rendered
// every way. Names are free-form here: the library API (Prober::add) takes any string.
void check_rendering(const std::string& input) {
    const auto lines = rpfuzz::split(input, "\n");
    Snapshot snap;
    const TimePoint now = SteadyClock::now();
    for (std::size_t i = 0; i < lines.size() && i < 4; ++i) {
        CheckState s;
        s.name = lines[i].substr(0, 40) + "#" + std::to_string(i);  // unique
        s.kind = "function";
        s.message = lines[i];
        s.status = i % 3 == 0 ? CheckStatus::down : (i % 3 == 1 ? CheckStatus::up : CheckStatus::unknown);
        if (i % 2 == 0) s.last_result = now - std::chrono::milliseconds(100 * i);
        s.schedule.critical = i != 1;
        if (i == 3) s.schedule.groups = {"live"};
        snap.checks.push_back(std::move(s));
    }
    for (const char* group : {"ready", "live", "startup"}) {
        const GroupResult result = evaluate(snap, group, now, {});
        for (Details details : {Details::none, Details::status, Details::full}) {
            (void)render_text(result, details, true, now);
            const std::string json = render_json(result, snap, details, now);
            const auto doc = nlohmann::json::parse(json, nullptr, false);
            RPFUZZ_CHECK(!doc.is_discarded() && doc.contains("status"), "bad JSON body: " + json);
        }
    }
    for (Details details : {Details::none, Details::status, Details::full}) {
        const std::string metrics = render_metrics(snap, now, details);
        check_metrics(metrics);
        if (details == Details::none) RPFUZZ_CHECK(!contains(metrics, "check="), metrics);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const httplib::Request req = build_request(rpfuzz::as_string(data, size));
    for (const Prober* prober : probers()) {
        for (Details details : {Details::none, Details::status, Details::full}) {
            for (const char* prefix : {"", "/probe"}) {
                const EndpointOptions options{details, prefix};
                httplib::Response res;
                const bool handled = handle_probe_request(*prober, options, req, res);
                check_response(req, options, handled, res);
            }
        }
    }
    check_rendering(rpfuzz::as_string(data, size));
    return 0;
}
