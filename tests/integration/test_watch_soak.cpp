// Repeated deaths of watched dependencies (issue 17): every death seen, every recovery seen, no fd
// or memory creep; and a POOL reopened gradually when its server comes back.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace rptest;

namespace {

long rss_kb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.compare(0, 6, "VmRSS:") == 0) return std::atol(line.c_str() + 6);
    }
    return -1;
}

Env slow_schedule() {
    Env env = base_env();
    env["READYPROBE_INTERVAL"] = "5s";
    env["READYPROBE_TIMEOUT"] = "1s";
    env["READYPROBE_FALL"] = "2";
    env["READYPROBE_DRAIN"] = "0s";
    return env;
}

// Milliseconds since midnight of a PostgreSQL log line ("2026-12-03 09:10:11.123 UTC [..] LOG: ...").
double log_time_ms(const std::string& line) {
    const auto space = line.find(' ');
    if (space == std::string::npos || line.size() < space + 13) return -1;
    const std::string t = line.substr(space + 1, 12);  // 09:10:11.123
    return ((std::stoi(t.substr(0, 2)) * 60 + std::stoi(t.substr(3, 2))) * 60 + std::stod(t.substr(6))) * 1000;
}

// The times of the TCP connection attempts (log_connections) in the server's log since `from` lines.
std::vector<double> tcp_attempts(const Postgres& pg, std::size_t from, std::size_t* lines = nullptr) {
    std::ifstream in(pg.socket_dir() + "/log");
    std::vector<double> out;
    std::size_t n = 0;
    for (std::string line; std::getline(in, line); ++n) {
        if (n >= from && has(line, "connection received: host=127.0.0.1")) out.push_back(log_time_ms(line));
    }
    if (lines) *lines = n;
    return out;
}

// SQL as the superuser in database "postgres" (so it works while "app" refuses connections).
std::string psql_postgres(const Postgres& pg, const std::string& sql) {
    RunResult r = run({"/usr/bin/psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", pg.socket_dir(), "-p",
                       std::to_string(pg.port()), "-U", "postgres", "-d", "postgres", "-c", sql},
                      base_env(), 30000ms);
    if (r.exit_code != 0) throw std::runtime_error("psql failed: " + r.err);
    return r.out;
}

}  // namespace

TEST_CASE("watch soak: Redis killed and PostgreSQL stopped again and again at a 5 s interval: each death "
          "503, each recovery 200, fds and RSS flat",
          "[watch][soak][postgres][redis]") {
    Postgres pg;
    Redis redis;
    Env env = slow_schedule();
    env["READYPROBE_CHECK_DB"] = pg.url();
    env["READYPROBE_CHECK_CACHE"] = redis.url();
    Sidecar rp(env);
    const pid_t pid = rp.process().pid();
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, scaled(5000ms)));

    const int cycles = kSanitized ? 4 : 8;
    // Generous: the watch sees a death in well under a second (bench/detect-watch), the scheduled
    // runs alone would take FALL x INTERVAL = 10 s. Recovery: backoff capped at 1 s, plus the start.
    const auto death_bound = scaled(4000ms);
    const auto recovery_bound = scaled(5000ms);
    std::vector<int> fds;
    std::vector<long> rss;
    double slowest_death = 0;
    double slowest_recovery = 0;
    const auto t_start = Clock::now();
    for (int i = 0; i < cycles; ++i) {
        INFO("cycle " << i + 1 << " of " << cycles);
        // Redis crashes (no goodbye on the socket from the process: the kernel resets/closes it).
        auto t0 = Clock::now();
        redis.kill();
        REQUIRE(eventually([&] { return rp.status("/health") == 503; }, death_bound, 10ms));
        slowest_death = std::max(slowest_death, ms_since(t0));
        redis.start();  // same port
        t0 = Clock::now();
        REQUIRE(eventually([&] { return rp.status("/health") == 200; }, recovery_bound, 10ms));
        slowest_recovery = std::max(slowest_recovery, ms_since(t0));

        // PostgreSQL stopped (immediate) and started on the same port.
        t0 = Clock::now();
        pg.stop();
        REQUIRE(eventually([&] { return rp.status("/health") == 503; }, death_bound, 10ms));
        slowest_death = std::max(slowest_death, ms_since(t0));
        pg.start();
        t0 = Clock::now();
        REQUIRE(eventually([&] { return rp.status("/health") == 200; }, recovery_bound, 10ms));
        slowest_recovery = std::max(slowest_recovery, ms_since(t0));

        fds.push_back(open_fds(pid));
        rss.push_back(rss_kb(pid));
    }
    std::ostringstream samples;
    for (std::size_t i = 0; i < fds.size(); ++i) samples << " [" << fds[i] << " fds, " << rss[i] << " kB]";
    INFO(cycles << " cycles in " << ms_since(t_start) << " ms; slowest death seen after " << slowest_death
                << " ms (stop command included for PostgreSQL), slowest recovery " << slowest_recovery
                << " ms after the start command; per cycle:" << samples.str());
    CHECK(rp.process().running());
    // Each death was logged as seen through the watched connection.
    CHECK(has(rp.process().err(), "closed by the peer"));
    // fds: after the first cycle (both connections reopened once), no growth at all beyond slack.
    CHECK(fds.back() <= fds.front() + 2);
    CHECK(*std::max_element(fds.begin(), fds.end()) <= fds.front() + 2);
    // RSS: past the first two cycles (allocator warm-up), growth under 1 MiB; no bound under
    // sanitizers (shadow memory and ASan's quarantine grow RSS by design).
    if (!kSanitized) CHECK(rss.back() - rss[1] < 1024);
}

TEST_CASE("reconnect: a POOL=5 check whose database refuses it retries one connection per run, then "
          "reopens the rest once one succeeded",
          "[watch][postgres][pool]") {
    Postgres pg({"log_connections=on"});
    Env env = slow_schedule();
    env["READYPROBE_CHECK_DB"] = pg.url();
    env["READYPROBE_CHECK_DB_POOL"] = "5";
    env["READYPROBE_DETAILS"] = "full";
    Sidecar rp(env);
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, scaled(5000ms)));
    REQUIRE(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'readyprobe'") == "5");

    // The server refuses the database from now on (as a server that is not back yet would; the
    // role is a superuser, so a role CONNECTION LIMIT would not apply), and drops the five kept
    // connections: the watch runs the check at once, which then backs off.
    psql_postgres(pg, "ALTER DATABASE app WITH ALLOW_CONNECTIONS false");
    psql_postgres(pg, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'readyprobe'");
    REQUIRE(eventually([&] { return rp.status("/health") == 503; }, scaled(4000ms), 10ms));
    // From here on no connection of the pool is open. (Before, while the five backends were
    // exiting one by one, a run may still have found one healthy and reopened the rest at once.)
    std::this_thread::sleep_for(100ms);
    std::size_t mark = 0;
    tcp_attempts(pg, 0, &mark);
    const auto body = rp.get("/health?verbose").body;
    INFO("/health while refused: " << body);
    CHECK(has(body, "0/5 connections"));
    CHECK(has(body, "not currently accepting connections"));
    std::this_thread::sleep_for(4000ms);
    const std::vector<double> refused = tcp_attempts(pg, mark);
    // Runs while down come every 150 ms to 1 s (FAST_INTERVAL doubling to 1 s, jittered 50-100 %):
    // about 4-10 in these 4 s. With all five reopened at once that would be 30-50 attempts, in
    // bursts of five within a millisecond; gradually, one per run, never two close together.
    std::ostringstream times;
    double closest = 1e9;
    for (std::size_t i = 0; i < refused.size(); ++i) {
        times << " " << static_cast<long long>(refused[i]) % 100000;
        if (i > 0) closest = std::min(closest, refused[i] - refused[i - 1]);
    }
    INFO(refused.size() << " attempts while refused, at (ms, mod 100 s):" << times.str() << "; closest two "
                        << closest << " ms apart");
    CHECK(refused.size() >= 3);
    CHECK(refused.size() <= 14);
    CHECK(closest >= 50);

    // Accepted again: one first, the other four once it succeeded, all five kept.
    tcp_attempts(pg, 0, &mark);
    psql_postgres(pg, "ALTER DATABASE app WITH ALLOW_CONNECTIONS true");
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, scaled(4000ms), 10ms));
    CHECK(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'readyprobe'") == "5");
    // Five, plus at most one refused attempt of a run that raced with the ALTER ROLE.
    const std::vector<double> back = tcp_attempts(pg, mark);
    INFO(back.size() << " attempts after the database was accepting again");
    CHECK(back.size() >= 5);
    CHECK(back.size() <= 6);
}
