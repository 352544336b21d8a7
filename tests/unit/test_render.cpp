// render_text / render_json / render_metrics on hand-built snapshots.
#include <readyprobe/clock.hpp>
#include <readyprobe/render.hpp>
#include <readyprobe/version.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace readyprobe;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

CheckState checked(const std::string& name, const Result& result, const ManualClock& clock,
                   bool critical = true, std::vector<std::string> groups = {"ready", "startup"}) {
    CheckState s;
    s.name = name;
    s.kind = "function";
    s.schedule.critical = critical;
    s.schedule.groups = std::move(groups);
    s.schedule.fall = 1;
    record(s, result, milliseconds(12), clock.now());
    return s;
}

// db up, cache down ("connection refused"); latched.
Snapshot db_up_cache_down(const ManualClock& clock) {
    Snapshot snap;
    snap.checks.push_back(checked("db", Result::pass("ok"), clock));
    snap.checks.push_back(checked("cache", Result::fail("connection refused"), clock));
    snap.startup_latched = true;
    return snap;
}

Snapshot all_up(const ManualClock& clock) {
    Snapshot snap;
    snap.checks.push_back(checked("db", Result::pass("ok"), clock));
    snap.checks.push_back(checked("cache", Result::pass("PONG"), clock));
    snap.startup_latched = true;
    return snap;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Text

TEST_CASE("render_text: without verbose it is the status word", "[render]") {
    ManualClock clock;
    const Snapshot up = all_up(clock);
    CHECK(render_text(evaluate(up, "ready", clock.now()), Details::full, false, clock.now()) == "ready\n");
    const Snapshot down = db_up_cache_down(clock);
    CHECK(render_text(evaluate(down, "ready", clock.now()), Details::full, false, clock.now()) ==
          "not_ready\n");
    Snapshot draining = all_up(clock);
    draining.draining = true;
    CHECK(render_text(evaluate(draining, "ready", clock.now()), Details::status, false, clock.now()) ==
          "draining\n");
    Snapshot degraded = all_up(clock);
    degraded.checks.push_back(checked("extra", Result::fail("x"), clock, false));
    CHECK(render_text(evaluate(degraded, "ready", clock.now()), Details::status, false, clock.now()) ==
          "degraded\n");
}

TEST_CASE("render_text: verbose gives one Kubernetes-style line per check", "[render]") {
    ManualClock clock;
    const Snapshot up = all_up(clock);
    const std::string ok = render_text(evaluate(up, "ready", clock.now()), Details::status, true, clock.now());
    CHECK(ok == "[+]db ok\n[+]cache ok\nready\n");

    const Snapshot snap = db_up_cache_down(clock);
    const std::string text =
        render_text(evaluate(snap, "ready", clock.now()), Details::status, true, clock.now());
    INFO(text);
    CHECK_THAT(text, StartsWith("[+]db ok\n[-]cache failed"));
    CHECK_THAT(text, Contains("not_ready"));
    // At `status`, no error text.
    CHECK(text.find("connection refused") == std::string::npos);
}

TEST_CASE("render_text: full adds the error message", "[render]") {
    ManualClock clock;
    const Snapshot snap = db_up_cache_down(clock);
    const std::string text =
        render_text(evaluate(snap, "ready", clock.now()), Details::full, true, clock.now());
    INFO(text);
    CHECK_THAT(text, StartsWith("[+]db ok"));
    CHECK_THAT(text, Contains("[-]cache failed: connection refused"));
}

TEST_CASE("render_text: details none hides check names even with verbose", "[render]") {
    ManualClock clock;
    const Snapshot snap = db_up_cache_down(clock);
    const std::string text =
        render_text(evaluate(snap, "ready", clock.now()), Details::none, true, clock.now());
    CHECK(text == "not_ready\n");
    const Snapshot up = all_up(clock);
    CHECK(render_text(evaluate(up, "ready", clock.now()), Details::none, true, clock.now()) == "ready\n");
}

TEST_CASE("render_text: unknown, non-critical, excluded and stale checks", "[render]") {
    ManualClock clock;
    Snapshot snap = all_up(clock);
    CheckState fresh;
    fresh.name = "fresh";
    fresh.kind = "function";
    snap.checks.push_back(fresh);
    snap.checks.push_back(checked("optional", Result::fail("nope"), clock, false));
    const GroupResult r = evaluate(snap, "ready", clock.now(), {"fresh"});
    const std::string text = render_text(r, Details::status, true, clock.now());
    INFO(text);
    CHECK_THAT(text, Contains("[-]fresh excluded: unknown"));
    CHECK_THAT(text, Contains("[-]optional failed (non-critical)"));
    CHECK_THAT(text, Contains("degraded"));

    // Much later every result is stale; at full the line says so.
    const TimePoint later = clock.now() + seconds(30);
    const std::string stale = render_text(evaluate(all_up(clock), "ready", later), Details::full, true, later);
    INFO(stale);
    CHECK_THAT(stale, Contains("[-]db failed: stale"));
    CHECK_THAT(stale, Contains("not_ready"));
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST_CASE("render_json: status values", "[render][json]") {
    ManualClock clock;
    auto status_of = [&](const Snapshot& snap) {
        return nlohmann::json::parse(render_json(evaluate(snap, "ready", clock.now()), snap,
                                                 Details::status, clock.now()))
            .at("status")
            .get<std::string>();
    };
    CHECK(status_of(all_up(clock)) == "ready");
    CHECK(status_of(db_up_cache_down(clock)) == "not_ready");
    Snapshot draining = all_up(clock);
    draining.draining = true;
    CHECK(status_of(draining) == "draining");
    Snapshot degraded = all_up(clock);
    degraded.checks.push_back(checked("extra", Result::fail("x"), clock, false));
    CHECK(status_of(degraded) == "degraded");
}

TEST_CASE("render_json: checks at status, without messages", "[render][json]") {
    ManualClock clock;
    const Snapshot snap = db_up_cache_down(clock);
    const auto j = nlohmann::json::parse(
        render_json(evaluate(snap, "ready", clock.now()), snap, Details::status, clock.now()));
    INFO(j.dump());
    REQUIRE(j.contains("checks"));
    CHECK(j.at("checks").size() == 2);
    CHECK(j.at("checks").at("db").at("status") == "up");
    CHECK(j.at("checks").at("cache").at("status") == "down");
    CHECK_FALSE(j.at("checks").at("cache").contains("message"));
    CHECK(j.dump().find("connection refused") == std::string::npos);
}

TEST_CASE("render_json: full adds messages, latency and run counts", "[render][json]") {
    ManualClock clock;
    const Snapshot snap = db_up_cache_down(clock);
    const auto j = nlohmann::json::parse(
        render_json(evaluate(snap, "ready", clock.now()), snap, Details::full, clock.now()));
    INFO(j.dump());
    const auto& cache = j.at("checks").at("cache");
    CHECK(cache.at("status") == "down");
    CHECK(cache.at("message") == "connection refused");
    CHECK(cache.at("latency_ms").get<double>() == Approx(12.0));
    CHECK(cache.at("runs").at("failed") == 1);
    CHECK(cache.at("runs").at("ok") == 0);
    CHECK(j.at("checks").at("db").at("message") == "ok");
    CHECK(j.at("checks").at("db").at("runs").at("ok") == 1);
}

TEST_CASE("render_json: details none has no checks", "[render][json]") {
    ManualClock clock;
    const Snapshot snap = db_up_cache_down(clock);
    const auto j = nlohmann::json::parse(
        render_json(evaluate(snap, "ready", clock.now()), snap, Details::none, clock.now()));
    CHECK(j.at("status") == "not_ready");
    CHECK_FALSE(j.contains("checks"));
    CHECK(j.dump().find("cache") == std::string::npos);
}

TEST_CASE("render_json: an unknown check and an excluded one", "[render][json]") {
    ManualClock clock;
    Snapshot snap = db_up_cache_down(clock);
    CheckState fresh;
    fresh.name = "fresh";
    fresh.kind = "function";
    snap.checks.push_back(fresh);
    const auto j = nlohmann::json::parse(render_json(evaluate(snap, "ready", clock.now(), {"cache", "fresh"}),
                                                     snap, Details::status, clock.now()));
    CHECK(j.at("status") == "ready");
    CHECK(j.at("checks").at("fresh").at("status") == "unknown");
    CHECK(j.at("checks").at("cache").at("excluded") == true);
}

// ---------------------------------------------------------------------------------------------
// Metrics

TEST_CASE("render_metrics: per-check up, runs, ready and draining", "[render][metrics]") {
    ManualClock clock;
    Snapshot snap = db_up_cache_down(clock);
    // db: a timeout (fall=1: down), then a pass (up again) that took 5 ms.
    record(snap.checks[0], Result::timeout(milliseconds(1000)), milliseconds(1000), clock.now());
    record(snap.checks[0], Result::pass(), milliseconds(5), clock.now());
    const std::string m = render_metrics(snap, clock.now());
    INFO(m);
    CHECK_THAT(m, Contains("readyprobe_check_up{check=\"db\",kind=\"function\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_up{check=\"cache\",kind=\"function\"} 0\n"));
    CHECK_THAT(m, Contains("readyprobe_check_runs_total{check=\"db\",result=\"ok\"} 2\n"));
    CHECK_THAT(m, Contains("readyprobe_check_runs_total{check=\"db\",result=\"timeout\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_runs_total{check=\"db\",result=\"failed\"} 0\n"));
    CHECK_THAT(m, Contains("readyprobe_check_runs_total{check=\"cache\",result=\"failed\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_last_duration_seconds{check=\"db\"} 0.005\n"));
    CHECK_THAT(m, Contains("# TYPE readyprobe_check_runs_total counter"));
    CHECK_THAT(m, Contains("readyprobe_ready 0\n"));
    CHECK_THAT(m, Contains("readyprobe_draining 0\n"));
    CHECK_THAT(m, Contains("readyprobe_startup_complete 1\n"));

    const Snapshot up = all_up(clock);
    CHECK_THAT(render_metrics(up, clock.now()), Contains("readyprobe_ready 1\n"));
    Snapshot draining = all_up(clock);
    draining.draining = true;
    const std::string d = render_metrics(draining, clock.now());
    CHECK_THAT(d, Contains("readyprobe_draining 1\n"));
    CHECK_THAT(d, Contains("readyprobe_ready 0\n"));
}

TEST_CASE("render_metrics: a stale check is reported as 0", "[render][metrics]") {
    ManualClock clock;
    const Snapshot up = all_up(clock);
    const std::string m = render_metrics(up, clock.now() + seconds(30));
    CHECK_THAT(m, Contains("readyprobe_check_up{check=\"db\",kind=\"function\"} 0\n"));
    CHECK_THAT(m, Contains("readyprobe_ready 0\n"));
}

TEST_CASE("render_metrics: label values escape quotes, backslashes and newlines", "[render][metrics]") {
    ManualClock clock;
    Snapshot snap;
    CheckState s = checked("we\"ird\\name", Result::pass(), clock);
    s.kind = "line\nbreak";
    snap.checks.push_back(s);
    snap.startup_latched = true;
    const std::string m = render_metrics(snap, clock.now());
    INFO(m);
    CHECK_THAT(m, Contains(R"(readyprobe_check_up{check="we\"ird\\name",kind="line\nbreak"} 1)"));
    CHECK_THAT(m, Contains(R"(readyprobe_check_runs_total{check="we\"ird\\name",result="ok"} 1)"));
    // No raw newline inside a sample line.
    CHECK(m.find("line\nbreak") == std::string::npos);
}

TEST_CASE("render_metrics: build info, checks by status, transitions, last success, duration histogram",
          "[render][metrics]") {
    ManualClock clock;
    Snapshot snap = db_up_cache_down(clock);  // db: one 12 ms pass (unknown -> up); cache: one failure
    // db: a 1 s timeout (down), then a 5 ms pass (up again) and a 30 ms pass.
    record(snap.checks[0], Result::timeout(milliseconds(1000)), milliseconds(1000), clock.now());
    record(snap.checks[0], Result::pass(), milliseconds(5), clock.now());
    snap.checks[0].last_success = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764740000123));
    record(snap.checks[0], Result::pass(), milliseconds(30), clock.now());
    const std::string m = render_metrics(snap, clock.now(), Details::status);
    INFO(m);
    CHECK_THAT(m, Contains("# TYPE readyprobe_build_info gauge\nreadyprobe_build_info{version=\"" +
                           std::string(version()) + "\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_checks{status=\"up\"} 1\nreadyprobe_checks{status=\"down\"} 1\n"
                           "readyprobe_checks{status=\"unknown\"} 0\n"));
    CHECK_THAT(m, Contains("# TYPE readyprobe_check_transitions_total counter\n"));
    CHECK_THAT(m, Contains("readyprobe_check_transitions_total{check=\"db\",to=\"up\"} 2\n"));
    CHECK_THAT(m, Contains("readyprobe_check_transitions_total{check=\"db\",to=\"down\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_transitions_total{check=\"cache\",to=\"down\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_last_success_timestamp_seconds{check=\"db\"} 1764740000.123\n"));
    CHECK_THAT(m, Contains("readyprobe_check_last_success_timestamp_seconds{check=\"cache\"} 0.000\n"));
    // Histogram: cumulative buckets; db ran 12 ms, 1000 ms, 5 ms, 30 ms.
    CHECK_THAT(m, Contains("# TYPE readyprobe_check_duration_seconds histogram\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_bucket{check=\"db\",le=\"0.005\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_bucket{check=\"db\",le=\"0.01\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_bucket{check=\"db\",le=\"0.025\"} 2\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_bucket{check=\"db\",le=\"0.05\"} 3\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_bucket{check=\"db\",le=\"0.5\"} 3\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_bucket{check=\"db\",le=\"1\"} 4\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_bucket{check=\"db\",le=\"+Inf\"} 4\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_sum{check=\"db\"} 1.047000\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_count{check=\"db\"} 4\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_count{check=\"cache\"} 1\n"));
    // The last run's gauge is no longer called readyprobe_check_duration_seconds (the histogram is).
    CHECK(m.find("readyprobe_check_duration_seconds{") == std::string::npos);
    CHECK(render_metrics(snap, clock.now(), Details::full) == m);
}

TEST_CASE("render_metrics: details=none names no check, the per-check families are summed",
          "[render][metrics]") {
    ManualClock clock;
    Snapshot snap = db_up_cache_down(clock);
    record(snap.checks[1], Result::timeout(milliseconds(1000)), milliseconds(1000), clock.now());
    const std::string m = render_metrics(snap, clock.now(), Details::none);
    INFO(m);
    CHECK(m.find("check=") == std::string::npos);
    CHECK(m.find("db") == std::string::npos);
    CHECK(m.find("cache") == std::string::npos);
    CHECK(m.find("readyprobe_check_up") == std::string::npos);
    CHECK_THAT(m, Contains("readyprobe_build_info{version="));
    CHECK_THAT(m, Contains("readyprobe_checks{status=\"down\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_runs_total{result=\"ok\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_runs_total{result=\"failed\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_runs_total{result=\"timeout\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_transitions_total{to=\"up\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_transitions_total{to=\"down\"} 1\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_bucket{le=\"0.025\"} 2\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
    CHECK_THAT(m, Contains("readyprobe_check_duration_seconds_count 3\n"));
    CHECK_THAT(m, Contains("readyprobe_ready 0\n"));
}

TEST_CASE("render_text: a line break in a message cannot start a line of its own", "[render]") {
    ManualClock clock;
    Snapshot snap;
    snap.checks.push_back(checked("db", Result::fail("bad\n[+]db ok\r\nmore"), clock));
    snap.startup_latched = true;
    const std::string t = render_text(evaluate(snap, "ready", clock.now()), Details::full, true, clock.now());
    CHECK(t == "[-]db failed: bad [+]db ok  more (12.0 ms)\nnot_ready: check db is down\n");
}
