// Each check kind against real peers, through the library: results, messages, deadlines.
#include "support.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>
#include <readyprobe/prober.hpp>

#include <catch2/catch.hpp>

#include <fstream>

using namespace rptest;
using namespace readyprobe;

namespace {

CheckSpec spec_for(const std::string& url, Duration timeout = std::chrono::milliseconds(500)) {
    Environment env{{"READYPROBE_CHECK_X", url}, {"READYPROBE_TIMEOUT", std::to_string(to_ms(timeout)) + "ms"}};
    return load_settings(env).checks.at(0);
}

struct Timed {
    Result result;
    double ms;
};

Timed run_once(Check& check, Duration timeout = std::chrono::milliseconds(500)) {
    const auto t0 = rptest::Clock::now();
    Result r = run_check(check, SteadyClock::now() + timeout, timeout);
    return {r, ms_since(t0)};
}


}  // namespace

TEST_CASE("postgres: SELECT 1 passes - wrong password and refused connections are named", "[checks][postgres]") {
    auto ok = make_check(spec_for(shared_pg_url()));
    CHECK(run_once(*ok).result.ok);
    CHECK(run_once(*ok).result.ok);  // reused connection

    const std::string url = shared_pg_url();
    const std::string wrong = url.substr(0, url.find(':', 12) + 1) + "wrong-pw-123" + url.substr(url.find('@'));
    auto bad = make_check(spec_for(wrong));
    auto r = run_once(*bad).result;
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "password authentication failed for user \"app\""));
    CHECK_FALSE(has(r.message, "wrong-pw-123"));

    auto refused = make_check(spec_for("postgres://app:pw@127.0.0.1:" + std::to_string(free_port()) + "/app"));
    r = run_once(*refused).result;
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "connection refused"));

    auto unresolved = make_check(spec_for("postgres://app:pw@no-such-host.invalid:5432/app"));
    r = run_once(*unresolved, std::chrono::seconds(3)).result;
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "name not resolved"));
}

TEST_CASE("postgres: a SIGSTOPped server is a timeout within the deadline - then recovers", "[checks][postgres][fault]") {
    Postgres pg;
    auto check = make_check(spec_for(pg.url()));
    REQUIRE(run_once(*check).result.ok);
    pg.pause();
    auto t = run_once(*check);  // established connection, silent peer
    pg.resume();
    CHECK_FALSE(t.result.ok);
    CHECK(t.result.timed_out);
    // The kept connection was up and SELECT 1 sent: the timeout says no reply came.
    CHECK(t.result.message ==
          "timeout after 500 ms (connected, no reply: the server is stuck, or a pooler has no free server connection)");
    CHECK(t.ms < 700);
    CHECK(run_once(*check).result.ok);

    pg.pause();
    auto fresh = make_check(spec_for(pg.url()));
    t = run_once(*fresh);  // new connection: accepted by the kernel, never answered
    pg.resume();
    CHECK(t.result.timed_out);
    CHECK(t.ms < 700);
}

TEST_CASE("postgres: a restart breaks the kept connection - the next run reconnects", "[checks][postgres][fault]") {
    Postgres pg;
    auto check = make_check(spec_for(pg.url(), std::chrono::seconds(3)));
    REQUIRE(run_once(*check, std::chrono::seconds(3)).result.ok);
    pg.restart();
    auto t = run_once(*check, std::chrono::seconds(3));
    INFO(t.result.message);
    CHECK(t.result.ok);
}

TEST_CASE("redis: PING - AUTH from the URL - NOAUTH without it - SIGSTOP is a timeout", "[checks][redis]") {
    Redis plain;
    auto check = make_check(spec_for(plain.url()));
    CHECK(run_once(*check).result.ok);

    Redis locked({"--requirepass", "redis-secret-1"});
    auto noauth = make_check(spec_for(locked.url()));
    auto r = run_once(*noauth).result;
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "NOAUTH"));

    auto authed = make_check(spec_for("redis://:redis-secret-1@127.0.0.1:" + std::to_string(locked.port()) + "/3"));
    CHECK(run_once(*authed).result.ok);

    auto wrong = make_check(spec_for("redis://:nope-nope@127.0.0.1:" + std::to_string(locked.port())));
    r = run_once(*wrong).result;
    CHECK_FALSE(r.ok);
    CHECK_FALSE(has(r.message, "nope-nope"));

    plain.pause();
    auto t = run_once(*check);
    plain.resume();
    CHECK(t.result.timed_out);
    CHECK(t.ms < 700);
    CHECK(run_once(*check).result.ok);

    plain.stop();
    r = run_once(*check).result;
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "refused"));
}

TEST_CASE("http: status in the expected set passes - 500 fails - a silent server is a timeout", "[checks][http]") {
    FakeHttp web(200);
    auto check = make_check(spec_for("http://127.0.0.1:" + std::to_string(web.port()) + "/ready"));
    CHECK(run_once(*check).result.ok);
    web.set_status(500);
    auto r = run_once(*check).result;
    CHECK_FALSE(r.ok);
    CHECK(r.message == "HTTP 500");

    SilentServer hung;
    auto silent = make_check(spec_for("http://127.0.0.1:" + std::to_string(hung.port()) + "/"));
    auto t = run_once(*silent);
    CHECK_FALSE(t.result.ok);
    CHECK(t.result.timed_out);
    CHECK(t.ms < 800);

    auto unresolved = make_check(spec_for("http://no-such-host.invalid/"));
    r = run_once(*unresolved, std::chrono::seconds(3)).result;
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "name not resolved"));

    Environment env{{"READYPROBE_CHECK_X", "http://127.0.0.1:" + std::to_string(web.port()) + "/"},
                    {"READYPROBE_CHECK_X_EXPECT", "500-503"}};
    auto expect = make_check(load_settings(env).checks.at(0));
    CHECK(run_once(*expect).result.ok);
}

TEST_CASE("tcp and file checks", "[checks]") {
    SilentServer listening;
    auto tcp = make_check(spec_for("tcp://127.0.0.1:" + std::to_string(listening.port())));
    CHECK(run_once(*tcp).result.ok);
    auto closed = make_check(spec_for("tcp://127.0.0.1:" + std::to_string(free_port())));
    auto r = run_once(*closed).result;
    CHECK_FALSE(r.ok);
    CHECK(r.message == "connection refused");

    const std::string path = "/tmp/rpt-sentinel-" + std::to_string(free_port());
    auto file = make_check(spec_for("file://" + path));
    r = run_once(*file).result;
    CHECK_FALSE(r.ok);
    CHECK(r.message == "missing: " + path);
    std::ofstream(path) << "ok";
    CHECK(run_once(*file).result.ok);
    std::remove(path.c_str());
}
