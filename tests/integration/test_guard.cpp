// Leases (ANNOUNCE) and `readyprobe guard --drops` against a real PostgreSQL (and PgBouncer in
// transaction pooling): two sidecars announcing orders/v1 and orders/v2, the guard refusing and
// then allowing a contract migration as v1 drains, is SIGKILLed, or cannot write its lease.
#include "support.hpp"

#include "../../probe-lib/src/checks/lease.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <thread>

using namespace rptest;

namespace {


Postgres& server() {
    static Postgres pg;
    static const bool schema = [] {
        pg.psql("CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, customer_name text, customer_id int)");
        return true;
    }();
    (void)schema;
    return pg;
}

// `readyprobe guard ARGS...` through the front users run.
RunResult guard(const std::vector<std::string>& args, const Env& extra = {}) {
    std::vector<std::string> argv{binary(), "guard"};
    argv.insert(argv.end(), args.begin(), args.end());
    Env env = base_env();
    for (const auto& [k, v] : extra) env[k] = v;
    return run(argv, env, 60000ms);
}

std::string lease_rows(const std::string& where = "true") {
    return server().psql("SELECT string_agg(service || '/' || version || ' ' || task, '|' ORDER BY version) "
                         "FROM readyprobe.leases WHERE " + where);
}

// Each case starts without a lease table (the cases may share one server in one process).
void fresh() { server().psql("DROP SCHEMA IF EXISTS readyprobe CASCADE"); }

bool lease_table_exists() { return server().psql("SELECT to_regclass('readyprobe.leases') IS NOT NULL") == "t"; }

// The identity a sidecar on this host announces (its front execs the core: same pid).
std::string task_of(Sidecar& s) { return std::string(":") + std::to_string(s.process().pid()); }

Env announcing(const std::string& url, const std::string& announce, const std::string& require = "") {
    Env env{{"READYPROBE_CHECK_DB", url},
            {"READYPROBE_CHECK_DB_ANNOUNCE", announce},
            {"READYPROBE_INTERVAL", "2s"},
            {"READYPROBE_TIMEOUT", "2s"},
            {"READYPROBE_DRAIN", "200ms"},
            {"READYPROBE_DETAILS", "full"}};
    if (!require.empty()) env["READYPROBE_CHECK_DB_REQUIRE"] = require;
    return env;
}

bool one_line(const std::string& text) { return !text.empty() && text.find('\n') == text.size() - 1; }

}  // namespace

TEST_CASE("guard --drops: refused while v1 serves, allowed once it drained: v2 never blocks", "[guard][postgres]") {
    fresh();
    const std::string url = server().url();
    Sidecar v1(announcing(url, "orders/v1", "orders.customer_name,orders.id"));
    Sidecar v2(announcing(url, "orders/v2", "orders.customer_id"));
    REQUIRE(eventually([&] { return v1.status("/readyz") == 200 && v2.status("/readyz") == 200; }, 10000ms));
    REQUIRE(eventually([&] { return lease_table_exists() && has(lease_rows(), "|"); }, 10000ms));
    const std::string rows = lease_rows();
    INFO(rows);
    CHECK(has(rows, "orders/v1 "));
    CHECK(has(rows, "orders/v2 "));
    CHECK(has(rows, task_of(v1)));
    CHECK(has(rows, task_of(v2)));
    CHECK(server().psql("SELECT array_to_string(require, ',') FROM readyprobe.leases WHERE version = 'v1'") ==
          "orders.customer_name,orders.id");
    // Still ready, nothing degraded: the lease is kept silently.
    CHECK_FALSE(has(v1.get("/readyz?format=json").body, "lease"));

    RunResult r = guard({"--drops", "orders.customer_name", "--url", url});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "orders/v1 task "));
    CHECK(has(r.out, task_of(v1) + " requires orders.customer_name"));
    CHECK_FALSE(has(r.out, "orders/v2"));
    // A dropped table covers its columns: both versions need something of `orders`.
    r = guard({"--drops", "legacy,orders", "--url", url});
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "orders/v1 task "));
    CHECK(has(r.out, "requires orders.customer_name,orders.id"));
    CHECK(has(r.out, "orders/v2 task "));
    // Nobody needs it: safe.
    r = guard({"--drops", "orders.legacy_flag,legacy", "--url", url});
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "guard: safe: no live task requires orders.legacy_flag,legacy"));

    // v1 drains: its row goes when the drain completes (its lease had seconds left: not expiry).
    v1.process().signal(SIGTERM);
    REQUIRE(v1.process().wait_for(10000ms) == 0);
    CHECK(lease_rows("version = 'v1'").empty());
    CHECK(has(lease_rows(), "orders/v2 "));
    r = guard({"--drops", "orders.customer_name", "--url", url});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "guard: safe"));

    // The database from the configuration (the first PostgreSQL check) when there is no --url.
    r = guard({"--drops", "orders.customer_id"},
              {{"READYPROBE_CHECK_CACHE", "redis://127.0.0.1:1/0"}, {"READYPROBE_CHECK_DB", url}});
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "orders/v2 task "));
}

TEST_CASE("guard --drops '': a release that drops nothing passes whatever the leases require, "
          "the database still reached",
          "[guard][postgres]") {
    fresh();
    const std::string url = server().url();
    Sidecar v1(announcing(url, "orders/v1", "orders.customer_name,orders.id"));
    REQUIRE(eventually([&] { return lease_table_exists() && has(lease_rows(), "orders/v1"); }, 10000ms));
    // The same database refuses a list that touches what v1 requires ...
    RunResult r = guard({"--drops", "orders", "--url", url});
    CHECK(r.exit_code == 1);
    // ... and passes the empty list at once, --wait or not (the form the migration task runs).
    for (const auto& args : {std::vector<std::string>{"--drops", "", "--url", url},
                             std::vector<std::string>{"--drops", "", "--url", url, "--wait", "10m"}}) {
        const auto t0 = Clock::now();
        r = guard(args);
        INFO(r.out << r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out == "guard: safe: the migration drops nothing\n");
        CHECK(r.err.empty());
        CHECK(ms_since(t0) < 30000);  // did not wait out the 10 minutes
    }
    // The database from the configuration, as in the migration task: only reached, so the
    // configuration's REQUIRE (a column that does not exist) is not checked and its ANNOUNCE
    // leaves no lease of the guard's own.
    r = guard({"--drops", ""}, {{"READYPROBE_CHECK_DB", url},
                                {"READYPROBE_CHECK_DB_REQUIRE", "orders.no_such_column"},
                                {"READYPROBE_CHECK_DB_ANNOUNCE", "orders-migrate/4"}});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "guard: safe: the migration drops nothing\n");
    CHECK_FALSE(has(lease_rows(), "orders-migrate"));
    CHECK(has(lease_rows(), "orders/v1"));
}

TEST_CASE("guard: a SIGKILLed task blocks until its lease expires: --wait succeeds once it goes",
          "[guard][postgres]") {
    fresh();
    const std::string url = server().url();
    // Interval 1 s, timeout 1 s: the lease expires 3 x 1 s + 1 s after its last renewal.
    Env env = announcing(url, "orders/v1", "orders.customer_name");
    env["READYPROBE_INTERVAL"] = "1s";
    env["READYPROBE_TIMEOUT"] = "1s";
    Sidecar v1(env);
    REQUIRE(eventually([&] { return lease_table_exists() && has(lease_rows(), "orders/v1"); }, 10000ms));
    v1.process().signal(SIGKILL);
    v1.process().wait_for(5000ms);
    const auto killed = Clock::now();

    RunResult r = guard({"--drops", "orders.customer_name", "--url", url});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);  // at most ~1 s since its last renewal: at least 3 s left
    CHECK(has(r.out, task_of(v1)));
    CHECK(has(lease_rows(), "orders/v1"));  // no drain: the row stays, only expires

    r = guard({"--drops", "orders.customer_name", "--url", url, "--wait", "30s"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "guard: round 1: waiting for orders/v1"));
    CHECK(has(r.out, "guard: safe"));
    CHECK(ms_since(killed) > 1500);  // it really waited for the expiry
    CHECK(guard({"--drops", "orders.customer_name", "--url", url}).exit_code == 0);

    // --wait that runs out: refused, naming the task, after about that long.
    Sidecar again(env);
    REQUIRE(eventually([&] { return has(lease_rows(), task_of(again)); }, 10000ms));
    const auto t0 = Clock::now();
    r = guard({"--drops", "orders", "--url", url, "--wait", "1500ms"});
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "guard: refused: 1 live task(s) require what the migration drops (waited "));
    CHECK(has(r.out, task_of(again)));
    CHECK(ms_since(t0) >= 1400);
}

TEST_CASE("ANNOUNCE: a role that may not write the lease stays ready with a degraded detail",
          "[guard][postgres]") {
    fresh();
    const std::string schema_sql = [] {
        std::string out;
        for (const auto& s : readyprobe::detail::lease_schema_sql()) out += s + ";";
        return out;
    }();
    server().psql(schema_sql);
    server().psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN "
                  "CREATE ROLE reader LOGIN PASSWORD 'reader-secret-pw'; CREATE ROLE replica LOGIN PASSWORD "
                  "'replica-secret-pw'; END IF; END $$;"
                  "GRANT USAGE ON SCHEMA readyprobe TO replica; GRANT ALL ON readyprobe.leases TO replica;"
                  "GRANT SELECT ON orders TO reader, replica;"
                  "ALTER ROLE replica SET default_transaction_read_only = on");
    const std::string port = std::to_string(server().port());
    struct Case {
        std::string role, password, detail;
    };
    for (const Case& c : {Case{"reader", "reader-secret-pw", "permission denied for schema readyprobe"},
                          Case{"replica", "replica-secret-pw", "cannot execute INSERT in a read-only transaction"}}) {
        INFO(c.role);
        Env env = announcing("postgres://" + c.role + ":" + c.password + "@127.0.0.1:" + port + "/app", "orders/v1",
                             "orders.customer_name");
        env["READYPROBE_INTERVAL"] = "300ms";
        Sidecar s(env);
        REQUIRE(eventually([&] { return has(s.get("/readyz?format=json").body, "lease"); }, 10000ms));
        const Reply reply = s.get("/readyz?format=json");
        INFO(reply.body);
        CHECK(reply.status == 200);
        const auto j = nlohmann::json::parse(reply.body);
        CHECK(j["checks"]["db"]["status"] == "up");
        const std::string message = j["checks"]["db"]["message"];
        CHECK(has(message, "degraded: lease not kept: " + c.detail));
        CHECK_FALSE(has(reply.body, c.password));
        CHECK(lease_rows().empty());
        // It stays up over further runs.
        std::this_thread::sleep_for(1000ms);
        CHECK(s.status("/readyz") == 200);
        s.process().signal(SIGTERM);
        CHECK(s.process().wait_for(10000ms) == 0);
    }
}

TEST_CASE("ANNOUNCE through PgBouncer transaction pooling: the lease is kept, guard reads it, drain deletes it",
          "[guard][postgres][pooler]") {
    fresh();
    PgBouncer bouncer(server(), "transaction", {"default_pool_size=1"});
    // A fresh database: the first renewal finds no table and creates it, through the pooler.
    CHECK_FALSE(lease_table_exists());
    Env env = announcing(bouncer.url(), "orders/v3", "orders.customer_name");
    env["READYPROBE_INTERVAL"] = "300ms";
    Sidecar s(env);
    REQUIRE(eventually([&] { return lease_table_exists() && has(lease_rows(), "orders/v3"); }, 10000ms));
    const std::string heartbeat = server().psql("SELECT heartbeat FROM readyprobe.leases");
    REQUIRE(eventually([&] { return server().psql("SELECT heartbeat FROM readyprobe.leases") != heartbeat; }, 5000ms));
    CHECK(s.status("/readyz") == 200);
    CHECK_FALSE(has(s.get("/readyz?format=json").body, "lease"));

    RunResult r = guard({"--drops", "orders.customer_name", "--url", bouncer.url()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "orders/v3 task "));
    s.process().signal(SIGTERM);
    REQUIRE(s.process().wait_for(10000ms) == 0);
    CHECK(lease_rows().empty());
    CHECK(guard({"--drops", "orders.customer_name", "--url", bouncer.url()}).exit_code == 0);
}

TEST_CASE("guard: bad usage and an unreachable database are exit 2 with one line, no secret", "[guard][cli]") {
    const std::string port = std::to_string(server().port());
    struct Case {
        std::vector<std::string> args;
        Env env;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{}, {}, "guard: give one of --drops LIST or --sql FILE"},
        {{"--drops", "a.b.c", "--url", server().url()}, {}, "--drops: \"a.b.c\" is not table or table.column"},
        {{"--drops", "orders,", "--url", server().url()}, {}, "--drops: empty item"},
        {{"--drops", "orders", "--url", "redis://:redis-secret-pw@127.0.0.1:6379/0"}, {}, "must be a postgres://"},
        {{"--drops", "orders", "--url", server().url(), "--wait", "soon"}, {}, "--wait: "},
        {{"--drops", "orders"}, {}, "no database: give --url or configure a PostgreSQL check"},
        {{"--drops", "orders"}, {{"READYPROBE_CHECK_DB", "postgres://db/x"}, {"READYPROBE_CHECK_DB_ANNOUNCE", "x"}},
         "READYPROBE_CHECK_DB_ANNOUNCE: must be <service>/<version>"},
        {{"--drops", "orders", "--url", "postgres://app:wrong-secret-pw@127.0.0.1:" + port + "/app"}, {},
         "cannot read the leases at postgres://app:***@127.0.0.1:" + port},
        {{"--drops", "orders", "--url", "postgres://app:app-secret-pw@127.0.0.1:" + std::to_string(free_port()) + "/app"},
         {}, "connection refused"},
        // The empty list still resolves and reaches the database: a wrong one is exit 2, not "safe".
        {{"--drops", "", "--url", "postgres://app:app-secret-pw@127.0.0.1:" + std::to_string(free_port()) + "/app"},
         {}, "cannot reach the database at postgres://app:***@127.0.0.1:"},
        {{"--drops", "", "--url", "postgres://app:wrong-secret-pw@127.0.0.1:" + port + "/app"}, {},
         "cannot reach the database at postgres://app:***@127.0.0.1:" + port},
        {{"--drops", ""}, {}, "no database: give --url or configure a PostgreSQL check"},
        {{"--drops", "", "--url", "mysql://app:app-secret-pw@db/app"}, {}, "unsupported scheme \"mysql\""},
        {{"--drops", "", "--sql", "/nonexistent.sql", "--url", server().url()}, {},
         "guard: give one of --drops LIST or --sql FILE"},
    };
    for (const auto& c : cases) {
        RunResult r = guard(c.args, c.env);
        INFO(r.out << r.err);
        CHECK(r.exit_code == 2);
        CHECK(one_line(r.err));
        CHECK(has(r.err, c.says));
        CHECK(r.out.empty());
        CHECK_FALSE(has(r.err + r.out, "secret-pw"));
    }
}
