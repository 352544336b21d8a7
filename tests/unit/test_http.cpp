// handle_probe_request with hand-built httplib requests against a started Prober.
#include <readyprobe/check.hpp>
#include <readyprobe/http.hpp>
#include <readyprobe/prober.hpp>

#include "eventually.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

using namespace readyprobe;
using std::chrono::milliseconds;
using Catch::Matchers::Contains;

namespace {

using rptest_unit::eventually;

// db (always up), cache (up while `cache_ok`), loop (a live-only check, up while `loop_ok`).
struct Service {
    std::atomic<bool> cache_ok;
    std::atomic<bool> loop_ok{true};
    Prober prober;

    explicit Service(bool cache_initially_ok) : cache_ok(cache_initially_ok), prober(options()) {
        prober.add("db", make_function_check([](Deadline) { return Result::pass("ok"); }), schedule());
        prober.add("cache", make_function_check([this](Deadline) {
                       return cache_ok ? Result::pass("PONG") : Result::fail("connection refused");
                   }),
                   schedule());
        Schedule live = schedule();
        live.groups = {"live"};
        prober.add("loop", make_function_check([this](Deadline) {
                       return loop_ok ? Result::pass() : Result::fail("event loop stuck");
                   }),
                   live);
        prober.start();
    }

    static ProberOptions options() {
        ProberOptions o;
        o.jitter = 0;
        return o;
    }
    static Schedule schedule() {
        Schedule s;
        s.interval = milliseconds(20);
        s.timeout = milliseconds(200);
        s.rise = 1;
        s.fall = 1;
        return s;
    }

    CheckStatus status(const std::string& name) const {
        const auto snapshot = prober.snapshot();  // keep it alive while iterating
        for (const auto& c : snapshot->checks) {
            if (c.name == name) return c.status;
        }
        return CheckStatus::unknown;
    }
    // Waits until every check has the status its flag asks for.
    void settle() {
        const bool ok = eventually([&] {
            return status("db") == CheckStatus::up &&
                   status("cache") == (cache_ok ? CheckStatus::up : CheckStatus::down) &&
                   status("loop") == (loop_ok ? CheckStatus::up : CheckStatus::down);
        });
        REQUIRE(ok);
    }
};

httplib::Request request(const std::string& path, const std::string& method = "GET") {
    httplib::Request req;
    req.method = method;
    req.path = path;
    return req;
}

struct Answer {
    bool handled;
    httplib::Response res;
};

Answer ask(const Prober& prober, const httplib::Request& req, EndpointOptions options = {}) {
    Answer a;
    a.handled = handle_probe_request(prober, options, req, a.res);
    return a;
}

Answer get(const Prober& prober, const std::string& path, EndpointOptions options = {}) {
    return ask(prober, request(path), std::move(options));
}

}  // namespace

TEST_CASE("http: /health and /readyz are 200 when every check is up", "[http]") {
    Service svc(true);
    svc.settle();
    for (const char* path : {"/health", "/readyz"}) {
        INFO(path);
        const Answer a = get(svc.prober, path);
        CHECK(a.handled);
        CHECK(a.res.status == 200);
        CHECK(a.res.body == "ready\n");
        CHECK_THAT(a.res.get_header_value("Content-Type"), Contains("text/plain"));
        CHECK(a.res.get_header_value("Cache-Control") == "no-store");
    }
}

TEST_CASE("http: /health and /readyz are 503 when a critical check is down", "[http]") {
    Service svc(true);
    svc.settle();
    svc.cache_ok = false;
    svc.settle();
    for (const char* path : {"/health", "/readyz"}) {
        INFO(path);
        const Answer a = get(svc.prober, path);
        CHECK(a.handled);
        CHECK(a.res.status == 503);
        CHECK(a.res.body == "not_ready\n");
    }
    svc.cache_ok = true;
    svc.settle();
    CHECK(get(svc.prober, "/health").res.status == 200);
}

TEST_CASE("http: /startupz is 503 until startup passes, then latches", "[http]") {
    Service svc(false);
    svc.settle();
    CHECK(get(svc.prober, "/startupz").res.status == 503);
    CHECK(get(svc.prober, "/health").res.status == 503);

    svc.cache_ok = true;
    svc.settle();
    REQUIRE(eventually([&] { return get(svc.prober, "/startupz").res.status == 200; }));
    CHECK(get(svc.prober, "/health").res.status == 200);

    svc.cache_ok = false;
    svc.settle();
    CHECK(get(svc.prober, "/startupz").res.status == 200);
    CHECK(get(svc.prober, "/health").res.status == 503);
}

TEST_CASE("http: /livez follows the live checks only", "[http]") {
    Service svc(false);
    svc.settle();
    // Ready checks failing do not matter to liveness.
    CHECK(get(svc.prober, "/livez").res.status == 200);
    svc.loop_ok = false;
    svc.settle();
    const Answer a = get(svc.prober, "/livez");
    CHECK(a.res.status == 503);
    CHECK(a.res.body == "not_ready\n");
}

TEST_CASE("http: draining makes /health 503 at once but not /livez", "[http]") {
    Service svc(true);
    svc.settle();
    REQUIRE(get(svc.prober, "/health").res.status == 200);
    svc.prober.drain();
    const Answer a = get(svc.prober, "/health");
    CHECK(a.res.status == 503);
    CHECK(a.res.body == "draining\n");
    CHECK(get(svc.prober, "/livez").res.status == 200);
    CHECK(get(svc.prober, "/startupz").res.status == 200);
}

TEST_CASE("http: /metrics is Prometheus text", "[http]") {
    Service svc(false);
    svc.settle();
    const Answer a = get(svc.prober, "/metrics");
    CHECK(a.handled);
    CHECK(a.res.status == 200);
    const std::string type = a.res.get_header_value("Content-Type");
    CHECK_THAT(type, Contains("text/plain"));
    CHECK_THAT(type, Contains("version=0.0.4"));
    CHECK_THAT(a.res.body, Contains("readyprobe_check_up{check=\"db\",kind=\"function\"} 1"));
    CHECK_THAT(a.res.body, Contains("readyprobe_check_up{check=\"cache\",kind=\"function\"} 0"));
    CHECK_THAT(a.res.body, Contains("readyprobe_ready 0"));
    CHECK_THAT(a.res.body, Contains("readyprobe_draining 0"));
}

TEST_CASE("http: methods other than GET and HEAD get 405 with Allow", "[http]") {
    Service svc(true);
    svc.settle();
    for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
        for (const char* path : {"/health", "/metrics", "/livez"}) {
            INFO(method << " " << path);
            const Answer a = ask(svc.prober, request(path, method));
            CHECK(a.handled);
            CHECK(a.res.status == 405);
            CHECK(a.res.get_header_value("Allow") == "GET, HEAD");
        }
    }
    const Answer head = ask(svc.prober, request("/health", "HEAD"));
    CHECK(head.handled);
    CHECK(head.res.status == 200);
}

TEST_CASE("http: other paths are not handled and the response is untouched", "[http]") {
    Service svc(true);
    svc.settle();
    for (const char* path : {"/", "", "/healthz", "/health/", "/health/db", "/metricsx", "/orders", "/HEALTH"}) {
        INFO("path: " << path);
        const Answer a = get(svc.prober, path);
        CHECK_FALSE(a.handled);
        CHECK(a.res.status == -1);
        CHECK(a.res.body.empty());
        CHECK(a.res.headers.empty());
    }
}

TEST_CASE("http: ?verbose lists the checks", "[http]") {
    Service svc(false);
    svc.settle();
    httplib::Request req = request("/health");
    req.params.emplace("verbose", "");
    const Answer a = ask(svc.prober, req);
    INFO(a.res.body);
    CHECK(a.res.status == 503);
    CHECK_THAT(a.res.body, Contains("[+]db ok\n"));
    CHECK_THAT(a.res.body, Contains("[-]cache failed"));
    CHECK(a.res.body.find("loop") == std::string::npos);  // not in the ready group
    // `status` details (the default) do not reveal the error text; `full` does.
    CHECK(a.res.body.find("connection refused") == std::string::npos);
    EndpointOptions full;
    full.details = Details::full;
    CHECK_THAT(ask(svc.prober, req, full).res.body, Contains("connection refused"));
    // `none` reveals no names.
    EndpointOptions none;
    none.details = Details::none;
    CHECK(ask(svc.prober, req, none).res.body == "not_ready\n");
}

TEST_CASE("http: ?exclude=NAME leaves a check out", "[http]") {
    Service svc(true);  // startup latches first: exclude does not bypass the startup gate
    svc.settle();
    svc.cache_ok = false;
    svc.settle();
    REQUIRE(get(svc.prober, "/health").res.status == 503);
    httplib::Request req = request("/health");
    req.params.emplace("exclude", "cache");
    CHECK(ask(svc.prober, req).res.status == 200);
    httplib::Request other = request("/health");
    other.params.emplace("exclude", "db");
    CHECK(ask(svc.prober, other).res.status == 503);
    // Several excludes.
    svc.loop_ok = false;
    svc.settle();
    httplib::Request live = request("/livez");
    live.params.emplace("exclude", "cache");
    live.params.emplace("exclude", "loop");
    CHECK(ask(svc.prober, live).res.status == 200);
}

TEST_CASE("http: ?format=json and Accept: application/json give JSON", "[http]") {
    Service svc(false);
    svc.settle();

    httplib::Request by_param = request("/health");
    by_param.params.emplace("format", "json");
    httplib::Request by_header = request("/readyz");
    by_header.headers.emplace("Accept", "text/html, application/json;q=0.9");
    for (const auto* req : {&by_param, &by_header}) {
        const Answer a = ask(svc.prober, *req);
        INFO(a.res.body);
        CHECK(a.res.status == 503);
        CHECK_THAT(a.res.get_header_value("Content-Type"), Contains("application/json"));
        const auto j = nlohmann::json::parse(a.res.body);
        CHECK(j.at("status") == "not_ready");
        CHECK(j.at("checks").at("db").at("status") == "up");
        CHECK(j.at("checks").at("cache").at("status") == "down");
        CHECK_FALSE(j.at("checks").contains("loop"));
    }

    // Without either, text.
    const Answer text = get(svc.prober, "/health");
    CHECK(text.res.body == "not_ready\n");
    CHECK_THROWS(nlohmann::json::parse(text.res.body));

    // details none: status only.
    EndpointOptions none;
    none.details = Details::none;
    const auto j = nlohmann::json::parse(ask(svc.prober, by_param, none).res.body);
    CHECK(j.at("status") == "not_ready");
    CHECK_FALSE(j.contains("checks"));
}

TEST_CASE("http: the prefix option serves the endpoints under it", "[http]") {
    Service svc(true);
    svc.settle();
    EndpointOptions options;
    options.prefix = "/probe";
    const Answer a = get(svc.prober, "/probe/health", options);
    CHECK(a.handled);
    CHECK(a.res.status == 200);
    CHECK(a.res.body == "ready\n");
    CHECK(get(svc.prober, "/probe/metrics", options).handled);
    CHECK(get(svc.prober, "/probe/livez", options).res.status == 200);
    for (const char* path : {"/health", "/probe", "/probe/", "/probex/health", "/other/health"}) {
        INFO("path: " << path);
        CHECK_FALSE(get(svc.prober, path, options).handled);
    }
}
