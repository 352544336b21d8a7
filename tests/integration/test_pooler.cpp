// PostgreSQL checks through Debian's PgBouncer (1.18, default startup-parameter policy: it
// refuses `options`), in session and transaction pooling: what RDS Proxy users get too.
#include "support.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>
#include <readyprobe/prober.hpp>

#include <catch2/catch.hpp>

#include <csignal>

#include <unistd.h>

using namespace rptest;
using namespace readyprobe;

namespace {


Result check_once(const std::string& url, const Environment& options = {}, const std::string& timeout = "2s") {
    Environment env{{"READYPROBE_CHECK_DB", url}, {"READYPROBE_TIMEOUT", timeout}};
    for (const auto& [k, v] : options) env["READYPROBE_CHECK_DB_" + k] = v;
    auto check = make_check(load_settings(env).checks.at(0));
    const Duration budget = parse_duration(timeout);
    return run_check(*check, SteadyClock::now() + budget, budget);
}

// psql through the pooler as the app user (what another application sharing it would see).
std::string psql_via(const PgBouncer& b, const std::string& sql) {
    Env env = base_env();
    env["PGPASSWORD"] = "app-secret-pw";
    RunResult r = run({"/usr/bin/psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                       std::to_string(b.port()), "-U", "app", "-d", "app", "-c", sql},
                      env, 30000ms);
    if (r.exit_code != 0) throw std::runtime_error("psql via pgbouncer failed: " + r.err);
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
}

Postgres& server() {
    static Postgres pg;
    return pg;
}

// Another client of the pooler running `SELECT pg_sleep(<seconds>)`: with default_pool_size=1 it
// holds the pool's only server connection that long. Returns once the server runs it.
std::unique_ptr<Process> hold_the_pool(const PgBouncer& b, const std::string& seconds) {
    Env env = base_env();
    env["PGPASSWORD"] = "app-secret-pw";
    const std::string sql = "SELECT pg_sleep(" + seconds + ")";
    auto holder = std::make_unique<Process>(std::vector<std::string>{"/usr/bin/psql", "-X", "-Atc", sql, b.url()}, env);
    REQUIRE(eventually([&] { return server().psql("SELECT count(*) FROM pg_stat_activity WHERE query = '" + sql +
                                                  "' AND state = 'active'") == "1"; },
                       10000ms));
    return holder;
}

}  // namespace

TEST_CASE("pgbouncer: the default startup-parameter policy refuses options, which readyprobe no longer sends",
          "[postgres][pooler]") {
    PgBouncer bouncer(server(), "transaction");
    // The proof that the server is strict: a client that sends `options` is refused.
    Env env = base_env();
    env["PGPASSWORD"] = "app-secret-pw";
    RunResult refused = run({"/usr/bin/psql", "-X", "-Atc", "SELECT 1",
                             bouncer.url() + "?options=-c%20statement_timeout%3D1000"},
                            env, 20000ms);
    CHECK(refused.exit_code != 0);
    CHECK(has(refused.err, "unsupported startup parameter: options"));

    const Result r = check_once(bouncer.url());
    INFO(r.message);
    CHECK(r.ok);
    CHECK(r.message == "ok");
}

TEST_CASE("pgbouncer session and transaction pooling: plain, POOL, MIGRATION, REQUIRE and search_path all pass",
          "[postgres][pooler]") {
    const std::string schema = "rp_pool_" + std::to_string(::getpid());
    server().psql("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema + " AUTHORIZATION app");
    server().psql("SET search_path=" + schema +
                  "; CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);"
                  "INSERT INTO schema_migrations VALUES (3, false);"
                  "CREATE TABLE orders (id serial, customer text)");
    for (const std::string mode : {"session", "transaction"}) {
        SECTION(mode) {
            PgBouncer bouncer(server(), mode, {"default_pool_size=2"});
            const std::string url = bouncer.url() + "?search_path=" + schema;
            Result r = check_once(bouncer.url());
            CHECK(r.ok);
            r = check_once(bouncer.url(), {{"POOL", "2"}});
            INFO(r.message);
            CHECK(r.ok);
            CHECK(r.message == "2/2 connections");
            r = check_once(url, {{"MIGRATION", "golang-migrate>=3"}, {"REQUIRE", "orders.customer,orders"}});
            INFO(r.message);
            CHECK(r.ok);
            CHECK(has(r.message, "golang-migrate at 3"));
            r = check_once(url, {{"REQUIRE", "orders.customer_name"}});
            CHECK_FALSE(r.ok);
            CHECK(r.message == "missing: orders.customer_name");
            // Without ?search_path= the tables are not in the role's default schema.
            r = check_once(bouncer.url(), {{"REQUIRE", "orders"}});
            CHECK_FALSE(r.ok);
            CHECK(r.message == "missing: orders");
        }
    }
    server().psql("DROP SCHEMA " + schema + " CASCADE");
}

TEST_CASE("pgbouncer transaction pooling: a check leaves no session state on the shared server connection",
          "[postgres][pooler]") {
    // One server connection: whatever the check left on it, the next client would inherit.
    PgBouncer bouncer(server(), "transaction", {"default_pool_size=1"});
    const std::string schema = "rp_leak_" + std::to_string(::getpid());
    server().psql("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema + " AUTHORIZATION app");
    server().psql("SET search_path=" + schema + "; CREATE TABLE orders (id int)");
    const Result r = check_once(bouncer.url() + "?search_path=" + schema, {{"REQUIRE", "orders.id"}});
    CHECK(r.ok);
    CHECK(psql_via(bouncer, "SHOW statement_timeout") == "0");
    CHECK(psql_via(bouncer, "SHOW search_path") == "\"$user\", public");
    server().psql("DROP SCHEMA " + schema + " CASCADE");
}

TEST_CASE("pgbouncer: a pooler with no free server connection is named, not a bare timeout",
          "[postgres][pooler]") {
    PgBouncer bouncer(server(), "session", {"default_pool_size=1"});
    const auto holder = hold_the_pool(bouncer, "20");
    const auto t0 = rptest::Clock::now();
    const Result r = check_once(bouncer.url(), {}, "1s");
    INFO(r.message);
    CHECK_FALSE(r.ok);
    CHECK(r.timed_out);
    CHECK(has(r.message, "timeout after 1000 ms"));
    CHECK(has(r.message, "a pooler has no free server connection"));
    CHECK(ms_since(t0) < 1000 + 500 * kSlowdown);
    holder->signal(SIGKILL);
}

TEST_CASE("pgbouncer: a statement queued past TIMEOUT keeps its place - the next run reads the late reply on the "
          "same client connection", "[postgres][pooler]") {
    PgBouncer bouncer(server(), "transaction", {"default_pool_size=1"});
    const auto holder = hold_the_pool(bouncer, "2.5");
    const auto logins = [&] {
        const std::string log = bouncer.log();
        std::size_t n = 0;
        for (auto at = log.find("login attempt"); at != std::string::npos; at = log.find("login attempt", at + 1)) ++n;
        return n;
    };
    const std::size_t before = logins();
    auto check = make_check(load_settings({{"READYPROBE_CHECK_DB", bouncer.url()}, {"READYPROBE_TIMEOUT", "1s"}})
                                .checks.at(0));
    const Result queued = run_check(*check, SteadyClock::now() + std::chrono::seconds(1), std::chrono::seconds(1));
    INFO(queued.message);
    CHECK(queued.timed_out);
    CHECK(has(queued.message, "a pooler has no free server connection"));
    // The next run (given 3 s): the holder lets go at ~2.5 s, PgBouncer runs the queued statement,
    // and the check reads that reply, then its own, on the connection it already had.
    const Result next = run_check(*check, SteadyClock::now() + std::chrono::seconds(3), std::chrono::seconds(3));
    INFO(next.message);
    CHECK(next.ok);
    CHECK(logins() - before == 1);  // one login to the pooler for both runs
    CHECK(holder->wait_for(5000ms) == 0);
}

TEST_CASE("pgbouncer: PostgreSQL stopped behind the pooler turns /health 503 within the usual bound, back -> 200",
          "[postgres][pooler]") {
    Postgres pg;
    PgBouncer bouncer(pg, "transaction");
    Env env = base_env();
    env["READYPROBE_CHECK_DB"] = bouncer.url();
    env["READYPROBE_INTERVAL"] = "500ms";
    env["READYPROBE_TIMEOUT"] = "500ms";
    env["READYPROBE_FALL"] = "2";
    Sidecar sidecar(env);
    REQUIRE(eventually([&] { return sidecar.status("/health") == 200; }, scaled(5000ms)));

    pg.stop();
    const auto t0 = rptest::Clock::now();
    // fall x (interval + timeout) + jitter, as in the fault matrix, plus the pooler's own wait.
    REQUIRE(eventually([&] { return sidecar.status("/health") == 503; }, scaled(4000ms)));
    INFO("detected after " << ms_since(t0) << " ms");
    const std::string verbose = sidecar.get("/readyz?verbose").body;
    INFO(verbose);
    CHECK(has(verbose, "[-]db"));

    pg.start();
    // PgBouncer retries a server it could not reach after server_login_retry (1 s here).
    CHECK(eventually([&] { return sidecar.status("/health") == 200; }, scaled(6000ms)));
}

// The reconnect storm of docs/fleet.md: behind PgBouncer every client login makes the pooler start
// a server login, and a client that gives up at its TIMEOUT closes both, so checks whose logins
// take longer than TIMEOUT started over on every run and never came back. PostgreSQL's
// pre_auth_delay makes every login take 2 s (a real server, slow as a busy one is); with TIMEOUT=1s
// the first run times out naming the pending login, and the next run finishes that same login and
// passes. Before the fix no run ever passed (each started a new 2 s login and gave up after 1 s).
TEST_CASE("postgres: a login slower than TIMEOUT is continued by the next run, directly and through PgBouncer",
          "[postgres][pooler][reconnect]") {
    Postgres slow;
    slow.psql("ALTER SYSTEM SET pre_auth_delay = 2");
    slow.psql("SELECT pg_reload_conf()");
    PgBouncer bouncer(slow, "transaction");

    for (const std::string& url : {slow.url(), bouncer.url()}) {
        INFO(url.substr(0, url.find('@')));
        Environment env{{"READYPROBE_CHECK_DB", url}, {"READYPROBE_TIMEOUT", "1s"}};
        auto check = make_check(load_settings(env).checks.at(0));
        const Duration budget = 1000ms;
        const Result first = run_check(*check, SteadyClock::now() + budget, budget);
        CHECK_FALSE(first.ok);
        CHECK(has(first.message, "timeout after 1000 ms"));
        CHECK(has(first.message, "login in progress"));
        bool passed = false;
        for (int run = 0; run < 4 && !passed; ++run) {
            passed = run_check(*check, SteadyClock::now() + budget, budget).ok;
        }
        CHECK(passed);
        // Kept from then on: the next run needs no login and passes at once.
        const auto t0 = SteadyClock::now();
        CHECK(run_check(*check, SteadyClock::now() + budget, budget).ok);
        CHECK(SteadyClock::now() - t0 < 900ms);
    }
}
