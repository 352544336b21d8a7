// `readyprobe guard --sql FILE [--apply]` against a real PostgreSQL: the orders-service contract
// migration (examples/orders-service/migrations/4_contract_customer_name.sql) refused while a v1
// task announces that it needs orders.customer_name, applied once it drained; the lock queue
// (a session idle in a transaction that read `orders`) refused, named, waited for; and the naive
// ALTER in the same setting stalling a concurrent SELECT, which guard's path does not.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

using namespace rptest;

namespace {

Postgres& server() {
    static Postgres pg;
    return pg;
}

void fresh_orders() {
    server().psql("DROP SCHEMA IF EXISTS readyprobe CASCADE; DROP TABLE IF EXISTS orders; CREATE TABLE orders "
                  "(id bigserial PRIMARY KEY, customer_name text, customer text); INSERT INTO orders "
                  "(customer_name, customer) SELECT 'c' || g, 'c' || g FROM generate_series(1, 100) g; "
                  "GRANT ALL ON orders TO app");
}

RunResult guard(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60000ms) {
    std::vector<std::string> argv{binary(), "guard"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, base_env(), timeout);
}

const std::string kContract = std::string(READYPROBE_SOURCE_DIR) + "/examples/orders-service/migrations/4_contract_customer_name.sql";

std::string write_sql(const std::string& name, const std::string& text) {
    const std::string path = std::string(READYPROBE_BUILD_DIR) + "/guard-sql-" + name + ".sql";
    std::ofstream(path) << text;
    return path;
}

bool column_exists(const std::string& column) {
    return server().psql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND "
                         "column_name = '" + column + "'") == "1";
}

Env announcing(const std::string& url, const std::string& announce, const std::string& require) {
    return Env{{"READYPROBE_CHECK_DB", url},           {"READYPROBE_CHECK_DB_ANNOUNCE", announce},
               {"READYPROBE_CHECK_DB_REQUIRE", require}, {"READYPROBE_INTERVAL", "1s"},
               {"READYPROBE_TIMEOUT", "2s"},           {"READYPROBE_DRAIN", "200ms"}};
}

bool one_line(const std::string& text) { return !text.empty() && text.find('\n') == text.size() - 1; }

// A psql session that opens a transaction, reads `table` and then sits idle in it for `hold`
// before committing: the session an ALTER TABLE of that table would queue behind. Its pid once it
// is idle.
struct IdleInTransaction {
    std::unique_ptr<Process> proc;
    std::string pid;
    explicit IdleInTransaction(std::chrono::seconds hold, const std::string& table = "orders") : hold_(hold) {
        const std::string psql = "/usr/bin/psql -X -q -t -A -h " + server().socket_dir() + " -p " +
                                 std::to_string(server().port()) + " -U postgres -d app";
        proc = std::make_unique<Process>(
            std::vector<std::string>{"/bin/bash", "-c",
                                     "{ echo \"BEGIN; SELECT count(*) FROM " + table + "; SELECT 'pid', pg_backend_pid();\"; "
                                     "sleep " + std::to_string(hold.count()) + "; echo 'COMMIT;'; } | " + psql},
            base_env());
        REQUIRE(eventually(
            [&] {
                pid = server().psql("SELECT pid FROM pg_stat_activity WHERE state = 'idle in transaction' AND "
                                    "query LIKE 'SELECT ''pid''%'");
                return !pid.empty();
            },
            10000ms));
    }
    // It ends by itself (COMMIT after `hold`): killing bash would leave psql holding the lock.
    ~IdleInTransaction() {
        if (!proc->wait_for(hold_ + 10s)) proc->signal(SIGKILL);
        proc->wait_for(5000ms);
    }
    std::chrono::seconds hold_;
};

// Runs `SELECT count(*) FROM orders` as a separate client, in a loop, until stopped; keeps the
// slowest round trip (psql's start included: a few tens of ms).
struct SelectLoop {
    std::atomic<bool> stop{false};
    std::atomic<long long> slowest_ms{0};
    std::atomic<int> count{0};
    std::thread thread;
    SelectLoop() {
        thread = std::thread([this] {
            while (!stop) {
                const auto t0 = Clock::now();
                server().psql("SELECT count(*) FROM orders");
                const auto ms = static_cast<long long>(ms_since(t0));
                if (ms > slowest_ms) slowest_ms = ms;
                ++count;
            }
        });
    }
    ~SelectLoop() { finish(); }
    void finish() {
        stop = true;
        if (thread.joinable()) thread.join();
    }
};

}  // namespace

TEST_CASE("guard --sql: the contract is refused while a v1 lease lives (schema unchanged), applied once it drained",
          "[guard][postgres]") {
    fresh_orders();
    const std::string url = server().url();
    Sidecar v1(announcing(url, "orders/v1", "orders.customer_name,orders.id"));
    Sidecar v2(announcing(url, "orders/v2", "orders.customer,orders.id"));
    REQUIRE(eventually([&] { return server().psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'readyprobe'") == "1" &&
                                    server().psql("SELECT count(*) FROM readyprobe.leases") == "2"; },
                       10000ms));

    // Without --apply: the file is tried and rolled back; v1 is named, v2 is not.
    RunResult r = guard({"--sql", kContract, "--url", url});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "guard: refused: 1 live task(s) require what " + kContract + " removes (orders.customer_name)"));
    CHECK(has(r.out, "orders/v1 task "));
    CHECK(has(r.out, ":" + std::to_string(v1.process().pid()) + " requires orders.customer_name"));
    CHECK_FALSE(has(r.out, "orders/v2"));
    CHECK(column_exists("customer_name"));

    // --apply refuses too, and leaves the schema as it was.
    r = guard({"--sql", kContract, "--url", url, "--apply"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "orders/v1 task "));
    CHECK(column_exists("customer_name"));
    CHECK(server().psql("SELECT count(*) FROM orders WHERE customer_name IS NOT NULL") == "100");

    // A file that removes nothing anyone needs is safe (and still rolled back without --apply).
    const std::string harmless = write_sql("harmless", "ALTER TABLE orders ADD COLUMN note text;\n");
    r = guard({"--sql", harmless, "--url", url});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "guard: safe: no live task requires what " + harmless +
                         " removes (nothing a live task requires; locks orders); rolled back"));
    CHECK_FALSE(column_exists("note"));

    // v1 drains: its lease goes; the contract is applied; v2 never blocked it.
    v1.process().signal(SIGTERM);
    REQUIRE(v1.process().wait_for(10000ms) == 0);
    r = guard({"--sql", kContract, "--url", url, "--apply"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "guard: applied " + kContract + " (removes nothing a live task requires; locks orders)"));
    CHECK_FALSE(column_exists("customer_name"));
    CHECK(column_exists("customer"));
    CHECK(v2.status("/readyz") == 200);
}

TEST_CASE("guard --sql: --wait waits for the v1 lease to go, then applies", "[guard][postgres]") {
    fresh_orders();
    const std::string url = server().url();
    Sidecar v1(announcing(url, "orders/v1", "orders.customer_name"));
    REQUIRE(eventually([&] { return server().psql("SELECT to_regclass('readyprobe.leases') IS NOT NULL") == "t" &&
                                    server().psql("SELECT count(*) FROM readyprobe.leases") == "1"; },
                       10000ms));
    std::thread drain([&] {
        std::this_thread::sleep_for(2000ms);
        v1.process().signal(SIGTERM);
    });
    const auto t0 = Clock::now();
    RunResult r = guard({"--sql", kContract, "--url", url, "--apply", "--wait", "30s"});
    drain.join();
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "guard: attempt 1: waiting for orders/v1 ("));
    CHECK(has(r.out, "guard: applied "));
    CHECK(ms_since(t0) > 1500);
    CHECK_FALSE(column_exists("customer_name"));
}

TEST_CASE("guard --sql: bad SQL, transaction control and bad usage are exit 2 with one line, no secret",
          "[guard][cli]") {
    fresh_orders();
    const std::string url = server().url();
    const std::string port = std::to_string(server().port());
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"--sql", write_sql("syntax", "ALTR TABLE orders DROP COLUMN customer_name;"), "--url", url},
         "the migration failed: syntax error at or near \"ALTR\""},
        {{"--sql", write_sql("missing", "ALTER TABLE nope DROP COLUMN x;"), "--url", url},
         "the migration failed: relation \"nope\" does not exist"},
        {{"--sql", write_sql("commit", "ALTER TABLE orders ADD COLUMN x int;\nCOMMIT;"), "--url", url},
         "the migration has its own commit"},
        {{"--sql", "/nonexistent/4.sql", "--url", url}, "--sql: cannot read /nonexistent/4.sql"},
        {{"--url", url}, "give one of --drops LIST or --sql FILE"},
        {{"--drops", "orders", "--sql", kContract, "--url", url}, "give one of --drops LIST or --sql FILE"},
        {{"--drops", "orders", "--apply", "--url", url}, "--apply: needs --sql FILE"},
        {{"--sql", kContract, "--url", url, "--lock-timeout", "soon"}, "--lock-timeout: "},
        {{"--sql", kContract, "--url", "postgres://app:wrong-secret-pw@127.0.0.1:" + port + "/app"},
         "cannot connect to postgres://app:***@127.0.0.1:" + port},
    };
    for (const auto& c : cases) {
        RunResult r = guard(c.args);
        INFO(r.out << r.err);
        CHECK(r.exit_code == 2);
        CHECK(one_line(r.err));
        CHECK(has(r.err, c.says));
        CHECK(r.out.empty());
        CHECK_FALSE(has(r.err + r.out, "secret-pw"));
    }
    // Nothing of it was committed.
    CHECK(column_exists("customer_name"));
    CHECK_FALSE(column_exists("x"));
}

TEST_CASE("guard --sql: a session idle in a transaction on orders: refused naming it, --wait applies once it "
          "commits, the naive ALTER stalls SELECTs but guard's path does not",
          "[guard][postgres][locks]") {
    fresh_orders();
    const std::string url = server().url();
    const std::string alter = write_sql("alter", "ALTER TABLE orders ADD COLUMN shipped_at timestamptz;\n");

    // Naive: the ALTER queues behind the idle session, and every SELECT on orders behind the ALTER.
    long long naive_slowest = 0;
    {
        IdleInTransaction idle(4s);
        SelectLoop selects;
        std::this_thread::sleep_for(300ms);
        Process naive({"/usr/bin/psql", "-X", "-q", "-h", server().socket_dir(), "-p", std::to_string(server().port()),
                       "-U", "postgres", "-d", "app", "-c", "ALTER TABLE orders ADD COLUMN naive int"},
                      base_env());
        REQUIRE(naive.wait_for(20000ms) == 0);
        std::this_thread::sleep_for(300ms);
        selects.finish();
        naive_slowest = selects.slowest_ms;
        WARN("naive ALTER: slowest of " << selects.count << " SELECTs on orders: " << naive_slowest << " ms");
        CHECK(naive_slowest > 2000);  // the SELECTs stalled for most of the idle session's 4 s
    }
    CHECK(column_exists("naive"));

    // Guard: refused at once, naming the idle session and the table; SELECTs unaffected.
    {
        IdleInTransaction idle(4s);
        SelectLoop selects;
        std::this_thread::sleep_for(300ms);
        RunResult r = guard({"--sql", alter, "--url", url, "--apply"});
        INFO(r.out << r.err);
        CHECK(r.exit_code == 1);
        CHECK(has(r.out, "guard: refused: " + alter + " would queue for a lock behind 1 session(s); rolled back"));
        CHECK(has(r.out, "guard:   pid " + idle.pid + " idle in transaction for "));
        CHECK(has(r.out, " s holds a lock on orders"));
        CHECK_FALSE(column_exists("shipped_at"));
        std::this_thread::sleep_for(300ms);
        selects.finish();
        WARN("guard --apply refused: slowest of " << selects.count << " SELECTs on orders: " << selects.slowest_ms
                                                  << " ms (naive: " << naive_slowest << " ms)");
        CHECK(selects.count > 3);
        CHECK(selects.slowest_ms < scaled(1000ms).count());
    }

    // --wait: retried with backoff until the session commits, then applied; SELECTs still unaffected.
    {
        IdleInTransaction idle(3s);
        SelectLoop selects;
        const auto t0 = Clock::now();
        RunResult r = guard({"--sql", alter, "--url", url, "--apply", "--wait", "30s"});
        INFO(r.out << r.err);
        CHECK(r.exit_code == 0);
        CHECK(has(r.out, "guard: attempt 1: waiting for pid " + idle.pid + " idle in transaction for "));
        // The retry waits for that session to let go instead of queueing behind it again on a
        // timer: one refused attempt, then the one that applied.
        CHECK_FALSE(has(r.out, "guard: attempt 2:"));
        CHECK(has(r.out, "guard: applied " + alter));
        CHECK(ms_since(t0) > 1000);
        CHECK(column_exists("shipped_at"));
        selects.finish();
        WARN("guard --apply --wait: slowest of " << selects.count << " SELECTs on orders: " << selects.slowest_ms
                                                 << " ms");
        CHECK(selects.slowest_ms < scaled(1000ms).count());
    }

    // A long transaction on another table holds nothing the ALTER needs: not refused, however old
    // (CONTRACT: only long transactions holding locks on the tables it alters).
    {
        server().psql("CREATE TABLE IF NOT EXISTS audit (x int); GRANT ALL ON audit TO app");
        IdleInTransaction idle(6s, "audit");
        std::this_thread::sleep_for(1500ms);
        const std::string note = write_sql("note", "ALTER TABLE orders ADD COLUMN note text;\n");
        RunResult r = guard({"--sql", note, "--url", url, "--apply"});
        INFO(r.out << r.err);
        CHECK(r.exit_code == 0);
        CHECK(has(r.out, "guard: applied " + note));
        CHECK(column_exists("note"));
        CHECK(server().psql("SELECT state FROM pg_stat_activity WHERE pid = " + idle.pid) == "idle in transaction");
    }
}

TEST_CASE("guard --sql: a SQL-standard function body (BEGIN ATOMIC ... END) is part of its CREATE, not transaction "
          "control: applied", "[guard][postgres]") {
    fresh_orders();
    const std::string file = write_sql("atomic", "CREATE OR REPLACE FUNCTION order_count() RETURNS bigint LANGUAGE sql\n"
                                                 "BEGIN ATOMIC\n  SELECT count(*) FROM orders;\nEND;\n"
                                                 "ALTER TABLE orders ADD COLUMN atomic_note text;\n");
    RunResult r = guard({"--sql", file, "--url", server().url(), "--apply"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "guard: applied " + file));
    CHECK(server().psql("SELECT order_count()") == "100");
    CHECK(column_exists("atomic_note"));
    // The same body with a COMMIT after it is still refused before anything runs.
    const std::string bad = write_sql("atomic-commit", "CREATE FUNCTION two() RETURNS int LANGUAGE sql BEGIN ATOMIC "
                                                       "SELECT 2; END;\nCOMMIT;\n");
    r = guard({"--sql", bad, "--url", server().url(), "--apply"});
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "the migration has its own commit"));
    CHECK(server().psql("SELECT count(*) FROM pg_proc WHERE proname = 'two'") == "0");
}

TEST_CASE("orders-service migrate --to 4 runs the same guard: refused while a v1 lease lives, applied once it "
          "drained", "[guard][postgres][orders]") {
    server().psql("DROP SCHEMA IF EXISTS readyprobe CASCADE; DROP TABLE IF EXISTS orders, schema_migrations");
    const std::string url = server().url();
    const std::string orders = std::string(READYPROBE_BUILD_DIR) + "/examples/orders-service/orders-service";
    Env env = base_env();
    env["ORDERS_DATABASE_URL"] = url;
    auto migrate = [&](const std::vector<std::string>& extra = {}) {
        std::vector<std::string> argv{orders, "migrate", "--to", "4"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return run(argv, env, 60000ms);
    };
    REQUIRE(run({orders, "migrate", "--to", "3"}, env, 60000ms).exit_code == 0);
    server().psql("INSERT INTO orders (customer_name, customer) VALUES ('ann', 'ann')");
    Sidecar v1(announcing(url, "orders-service/v1", "orders.customer_name"));
    REQUIRE(eventually([&] { return server().psql("SELECT to_regclass('readyprobe.leases') IS NOT NULL") == "t" &&
                                    server().psql("SELECT count(*) FROM readyprobe.leases") == "1"; },
                       10000ms));

    RunResult r = migrate();
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "guard: refused: 1 live task(s) require what 4_contract_customer_name.sql removes "
                     "(orders.customer_name); rolled back"));
    CHECK(has(r.out, "orders-service/v1 task "));
    CHECK(has(r.err, "orders-service: migration 4 refused by the guard; at version 3"));
    CHECK(server().psql("SELECT version::text || ' ' || dirty::text FROM schema_migrations") == "3 false");
    CHECK(column_exists("customer_name"));

    // --wait: retried until v1 drains, then applied and recorded.
    std::thread drain([&] {
        std::this_thread::sleep_for(1500ms);
        v1.process().signal(SIGTERM);
    });
    r = migrate({"--wait", "30s"});
    drain.join();
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "guard: attempt 1: waiting for orders-service/v1 ("));
    CHECK(has(r.out, "guard: applied 4_contract_customer_name.sql"));
    CHECK(has(r.out, "migrate: at version 4"));
    CHECK(server().psql("SELECT version::text || ' ' || dirty::text FROM schema_migrations") == "4 false");
    CHECK_FALSE(column_exists("customer_name"));
    CHECK(run({orders, "migrate", "--to", "4", "--wait", "soon"}, env).exit_code == 2);
}

TEST_CASE("guard --sql through PgBouncer transaction pooling: refused, lock-queue refused, applied",
          "[guard][postgres][pooler]") {
    fresh_orders();
    // BEGIN .. COMMIT as separate Query messages stays on one server connection while the
    // transaction is open; the watcher is a second client: a pool of 3 (a sidecar's lease too).
    PgBouncer bouncer(server(), "transaction", {"default_pool_size=3"});
    const std::string url = bouncer.url();
    Sidecar v1(announcing(url, "orders/v1", "orders.customer_name"));
    REQUIRE(eventually([&] { return server().psql("SELECT to_regclass('readyprobe.leases') IS NOT NULL") == "t" &&
                                    server().psql("SELECT count(*) FROM readyprobe.leases") == "1"; },
                       10000ms));
    RunResult r = guard({"--sql", kContract, "--url", url, "--apply"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "orders/v1 task "));
    CHECK(column_exists("customer_name"));

    const std::string alter = write_sql("alter-pooled", "ALTER TABLE orders ADD COLUMN pooled int;\n");
    {
        IdleInTransaction idle(3s);
        r = guard({"--sql", alter, "--url", url, "--apply"});
        INFO(r.out << r.err);
        CHECK(r.exit_code == 1);
        CHECK(has(r.out, "guard:   pid " + idle.pid + " idle in transaction for "));
        CHECK_FALSE(column_exists("pooled"));
    }
    r = guard({"--sql", alter, "--url", url, "--apply"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(column_exists("pooled"));

    v1.process().signal(SIGTERM);
    REQUIRE(v1.process().wait_for(10000ms) == 0);
    r = guard({"--sql", kContract, "--url", url, "--apply"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK_FALSE(column_exists("customer_name"));
    // The pooler's server connections carry nothing over: no open transaction, no setting left.
    CHECK(server().psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND state LIKE 'idle in%'") ==
          "0");
}

TEST_CASE("guard --sql as a non-superuser migration role: the blocker is named, its state needs pg_read_all_stats",
          "[guard][postgres][locks]") {
    fresh_orders();
    server().psql("DROP ROLE IF EXISTS migrator; CREATE ROLE migrator LOGIN PASSWORD 'migrator-secret-pw'; "
                  "ALTER TABLE orders OWNER TO migrator");
    const std::string url = "postgres://migrator:migrator-secret-pw@127.0.0.1:" + std::to_string(server().port()) +
                            "/app";
    const std::string alter = write_sql("alter-role", "ALTER TABLE orders ADD COLUMN by_role int;\n");
    {
        IdleInTransaction idle(3s);  // a superuser's session: another role's
        RunResult r = guard({"--sql", alter, "--url", url, "--apply"});
        INFO(r.out << r.err);
        CHECK(r.exit_code == 1);
        CHECK(has(r.out, "guard:   pid " + idle.pid +
                             " (another role's session: its state and age need pg_read_all_stats) holds a lock on "
                             "orders"));
        server().psql("GRANT pg_read_all_stats TO migrator");
        r = guard({"--sql", alter, "--url", url, "--apply"});
        INFO(r.out << r.err);
        CHECK(r.exit_code == 1);
        CHECK(has(r.out, "guard:   pid " + idle.pid + " idle in transaction for "));
        CHECK_FALSE(has(r.out + r.err, "secret-pw"));
    }
    RunResult r = guard({"--sql", alter, "--url", url, "--apply"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(column_exists("by_role"));
}
