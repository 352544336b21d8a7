// handle_probe_request with hand-built httplib requests against a started Prober.
#include <readyprobe/check.hpp>
#include <readyprobe/http.hpp>
#include <readyprobe/prober.hpp>
#include <readyprobe/snapshot.hpp>

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

TEST_CASE("http: /readyz/<check>, /livez/<check>, /startupz/<check> answer for one check of the group", "[http]") {
    Service svc(false);  // db up, cache down (critical); loop up (live only)
    svc.settle();
    CHECK(get(svc.prober, "/readyz/db").res.status == 200);
    CHECK(get(svc.prober, "/readyz/db").res.body == "ready\n");
    const Answer cache = get(svc.prober, "/readyz/cache");
    CHECK(cache.handled);
    CHECK(cache.res.status == 503);
    CHECK(cache.res.body == "not_ready\n");
    CHECK(cache.res.get_header_value("Cache-Control") == "no-store");
    CHECK(get(svc.prober, "/startupz/db").res.status == 200);
    CHECK(get(svc.prober, "/startupz/cache").res.status == 503);  // the check's own state, not the latch
    CHECK(get(svc.prober, "/livez/loop").res.status == 200);
    svc.loop_ok = false;
    svc.settle();
    CHECK(get(svc.prober, "/livez/loop").res.status == 503);

    // A name not in the group: 404 naming it (whether it is configured elsewhere or not at all).
    for (const char* path : {"/livez/db", "/readyz/loop", "/readyz/nope", "/startupz/loop"}) {
        INFO(path);
        const Answer a = get(svc.prober, path);
        CHECK(a.handled);
        CHECK(a.res.status == 404);
        CHECK_THAT(a.res.body, Contains("no check "));
    }
    CHECK_THAT(get(svc.prober, "/readyz/nope").res.body, Contains("no check nope in group ready"));

    // Verbose and JSON work as on the group paths, within the details level.
    httplib::Request verbose = request("/readyz/cache");
    verbose.params.emplace("verbose", "");
    EndpointOptions full;
    full.details = Details::full;
    const std::string body = ask(svc.prober, verbose, full).res.body;
    CHECK_THAT(body, Contains("[-]cache failed: connection refused"));
    CHECK(body.find("db") == std::string::npos);
    httplib::Request json = request("/readyz/cache");
    json.params.emplace("format", "json");
    const auto j = nlohmann::json::parse(ask(svc.prober, json).res.body);
    CHECK(j.at("status") == "not_ready");
    CHECK(j.at("checks").size() == 1);
    CHECK(j.at("checks").at("cache").at("status") == "down");
    EndpointOptions none;
    none.details = Details::none;
    CHECK(ask(svc.prober, verbose, none).res.body == "not_ready\n");
    CHECK(ask(svc.prober, request("/readyz/cache", "POST")).res.status == 405);
}

TEST_CASE("http: a non-critical check's own path is 503 while it is down", "[http]") {
    Prober prober(Service::options());
    Schedule optional = Service::schedule();
    optional.critical = false;
    prober.add("extra", make_function_check([](Deadline) { return Result::fail("nope"); }), optional);
    prober.start();
    REQUIRE(eventually([&] { return prober.snapshot()->checks[0].status == CheckStatus::down; }));
    CHECK(get(prober, "/readyz").res.status == 200);  // degraded
    CHECK(get(prober, "/readyz/extra").res.status == 503);
}

TEST_CASE("http: /groups/<name> serves a custom group", "[http]") {
    ProberOptions o = Service::options();
    Prober prober(o);
    std::atomic<bool> queue_ok{false};
    Schedule workers = Service::schedule();
    workers.groups = {"workers"};
    prober.add("queue", make_function_check([&](Deadline) {
                   return queue_ok ? Result::pass() : Result::fail("no broker");
               }),
               workers);
    prober.add("db", make_function_check([](Deadline) { return Result::pass(); }), Service::schedule());
    prober.start();
    // Both have run: queue down, and db up (until it has, /readyz is 503 for startup, not for queue).
    REQUIRE(eventually([&] {
        const auto snap = prober.snapshot();
        return snap->checks[0].status == CheckStatus::down && snap->checks[1].status == CheckStatus::up;
    }));
    Answer a = get(prober, "/groups/workers");
    CHECK(a.handled);
    CHECK(a.res.status == 503);
    httplib::Request verbose = request("/groups/workers");
    verbose.params.emplace("verbose", "");
    a = ask(prober, verbose);
    CHECK_THAT(a.res.body, Contains("[-]queue failed"));
    CHECK(a.res.body.find("db") == std::string::npos);
    CHECK(get(prober, "/readyz").res.status == 200);  // not in the ready group
    queue_ok = true;
    REQUIRE(eventually([&] { return get(prober, "/groups/workers").res.status == 200; }));
    for (const char* path : {"/groups/nope", "/groups/ready", "/groups/live", "/groups/startup"}) {
        INFO(path);
        a = get(prober, path);
        CHECK(a.handled);
        CHECK(a.res.status == 404);
    }
    CHECK_THAT(get(prober, "/groups/nope").res.body, Contains("no custom group nope"));
    for (const char* path : {"/groups", "/groups/", "/groups/workers/queue", "/readyz/", "/readyz/db/x"}) {
        INFO(path);
        CHECK_FALSE(get(prober, path).handled);
    }
}

TEST_CASE("http: ?exclude= naming no configured check is a 400 naming it", "[http]") {
    Service svc(true);
    svc.settle();
    httplib::Request req = request("/readyz");
    req.params.emplace("exclude", "cahce");
    Answer a = ask(svc.prober, req);
    CHECK(a.handled);
    CHECK(a.res.status == 400);
    CHECK(a.res.body == "unknown check in ?exclude=: cahce\n");
    // Echoed safely: control characters replaced, long names cut.
    httplib::Request odd = request("/livez");
    odd.params.emplace("exclude", "a\nb\x1b" + std::string(100, 'x'));
    a = ask(svc.prober, odd);
    CHECK(a.res.status == 400);
    CHECK(a.res.body.find('\x1b') == std::string::npos);
    CHECK(a.res.body.find("a?b?") != std::string::npos);
    CHECK(a.res.body.size() < 120);
    // A configured check outside the group is fine to exclude.
    httplib::Request other = request("/livez");
    other.params.emplace("exclude", "db");
    CHECK(ask(svc.prober, other).res.status == 200);
}

TEST_CASE("http: /metrics hides check names at details=none", "[http]") {
    Service svc(false);
    svc.settle();
    EndpointOptions none;
    none.details = Details::none;
    const std::string m = get(svc.prober, "/metrics", none).res.body;
    INFO(m);
    CHECK(m.find("check=") == std::string::npos);
    CHECK_THAT(m, Contains("readyprobe_checks{status=\"down\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_count "));
}

TEST_CASE("http: mount() serves the per-check and custom-group paths on the application's server", "[http]") {
    Service svc(false);
    svc.settle();
    httplib::Server server;
    EndpointOptions options;
    options.prefix = "/probe";
    mount(server, svc.prober, options);
    server.Get("/orders", [](const httplib::Request&, httplib::Response& res) { res.set_content("[]", "application/json"); });
    const int port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    std::thread t([&] { server.listen_after_bind(); });
    httplib::Client client("127.0.0.1", port);
    CHECK(client.Get("/probe/readyz/db")->status == 200);
    CHECK(client.Get("/probe/readyz/cache")->status == 503);
    CHECK(client.Get("/probe/readyz/nope")->status == 404);
    CHECK(client.Get("/probe/livez/loop")->status == 200);
    CHECK(client.Get("/probe/groups/nope")->status == 404);
    CHECK(client.Get("/probe/livez?exclude=cache")->status == 200);  // configured, so accepted
    CHECK(client.Get("/probe/health?exclude=nope")->status == 400);
    CHECK(client.Get("/orders")->status == 200);
    CHECK(client.Post("/probe/readyz/db", "", "text/plain")->status == 405);
    server.stop();
    t.join();
}
