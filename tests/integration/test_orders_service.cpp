// examples/orders-service: the embedded probe, the expand/contract migrations, the drain.
#include "support.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <thread>

using namespace rptest;

namespace {

std::string orders_binary() { return std::string(READYPROBE_BUILD_DIR) + "/examples/orders-service/orders-service"; }

RunResult migrate(const Postgres& pg, const std::string& to) {
    Env env = base_env();
    env["ORDERS_DATABASE_URL"] = pg.url();
    return run({orders_binary(), "migrate", "--to", to}, env);
}

struct Service {
    int port = free_port();
    std::unique_ptr<Process> proc;
    Service(const Postgres& pg, const std::string& version, Env extra = {}) {
        Env env = base_env();
        env["ORDERS_DATABASE_URL"] = pg.url();
        env["ORDERS_VERSION"] = version;
        env["ORDERS_LISTEN"] = "127.0.0.1:" + std::to_string(port);
        env["READYPROBE_INTERVAL"] = "200ms";
        env["READYPROBE_DRAIN"] = "1500ms";
        env["READYPROBE_DETAILS"] = "full";
        for (auto& [k, v] : extra) env[k] = v;
        proc = std::make_unique<Process>(std::vector<std::string>{orders_binary(), "serve"}, env);
        REQUIRE(eventually([&] { return !proc->running() || get("/livez").status == 200; }, 10000ms));
        REQUIRE(proc->running());
    }
    Reply get(const std::string& path) const { return rptest::get(port, path); }
    int post(const std::string& customer, long long* id = nullptr) const {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(3, 0);
        auto res = c.Post("/orders", nlohmann::json{{"customer", customer}}.dump(), "application/json");
        if (!res) return -1;
        if (id && res->status == 201) *id = nlohmann::json::parse(res->body)["id"];
        return res->status;
    }
    std::string customer(long long id) const {
        auto r = get("/orders/" + std::to_string(id));
        return r.status == 200 ? nlohmann::json::parse(r.body)["customer"].get<std::string>() : "<" + std::to_string(r.status) + ">";
    }
};

}  // namespace

TEST_CASE("orders-service: migrate exit codes - idempotent - bad usage", "[orders]") {
    Postgres pg;
    auto r = migrate(pg, "2");
    CHECK(r.exit_code == 0);
    CHECK(pg.psql("SELECT version::text || ' ' || dirty::text FROM schema_migrations") == "2 false");
    CHECK(migrate(pg, "2").exit_code == 0);  // already there
    CHECK(migrate(pg, "9").exit_code == 2);
    CHECK(migrate(pg, "x").exit_code == 2);
    Env env = base_env();
    CHECK(run({orders_binary(), "migrate", "--to", "1"}, env).exit_code == 2);  // no ORDERS_DATABASE_URL
    // A failing migration leaves the version where it was (CONTRACT), nothing of it committed: with
    // `orders` turned into a view, 3 (an UPDATE) still applies but 4 (ALTER TABLE ... DROP COLUMN)
    // fails: back to "3 false", and the same run fails the same way again.
    pg.psql("ALTER TABLE orders RENAME TO orders_old; CREATE VIEW orders AS SELECT * FROM orders_old");
    r = migrate(pg, "4");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("orders-service: migration 4 failed: the migration failed: ") != std::string::npos);
    CHECK(r.err.find("; at version 3") != std::string::npos);
    CHECK(pg.psql("SELECT version::text || ' ' || dirty::text FROM schema_migrations") == "3 false");
    CHECK(pg.psql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders_old' AND "
                  "column_name = 'customer_name'") == "1");
    r = migrate(pg, "4");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("migration 4 failed") != std::string::npos);
    // A row left dirty (a run killed in the middle) is refused until fixed by hand, as golang-migrate does.
    pg.psql("UPDATE schema_migrations SET version = 4, dirty = true");
    r = migrate(pg, "4");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("dirty at version 4") != std::string::npos);
    Env bad = base_env();
    bad["ORDERS_DATABASE_URL"] = pg.url();
    bad["ORDERS_MIGRATE_BATCH_PAUSE"] = "soon";
    r = run({orders_binary(), "migrate", "--to", "3"}, bad);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("ORDERS_MIGRATE_BATCH_PAUSE") != std::string::npos);
}

TEST_CASE("orders-service: migrate writes golang-migrate's dirty-first protocol - a slow backfill keeps v2 serving "
          "and v3 waiting",
          "[orders][migration]") {
    Postgres pg;
    REQUIRE(migrate(pg, "2").exit_code == 0);
    pg.psql("INSERT INTO orders (customer_name) SELECT 'c' || g FROM generate_series(1, 40) g");
    Service v2(pg, "v2", {{"READYPROBE_CHECK_DB", pg.url()}, {"READYPROBE_CHECK_DB_MIGRATION", "golang-migrate>=2"}});
    Service v3(pg, "v3", {{"READYPROBE_CHECK_DB", pg.url()}, {"READYPROBE_CHECK_DB_MIGRATION", "golang-migrate>=3"}});
    REQUIRE(eventually([&] { return v2.get("/health").status == 200; }, 5000ms));
    CHECK(v3.get("/health").status == 503);

    Env env = base_env();
    env["ORDERS_DATABASE_URL"] = pg.url();
    env["ORDERS_MIGRATE_BATCH_SIZE"] = "5";
    env["ORDERS_MIGRATE_BATCH_PAUSE"] = "400ms";  // 8 batches: about 3 s of backfill
    const auto t0 = Clock::now();
    Process m({orders_binary(), "migrate", "--to", "3"}, env);
    int dirty_polls = 0, v2_not_ready = 0, v3_ready_while_dirty = 0;
    while (m.running()) {
        const int v3_status = v3.get("/health").status;  // before the state: dirty now => dirty then
        const std::string state = pg.psql("SELECT version::text || ' ' || dirty::text FROM schema_migrations");
        if (state == "3 true") {
            ++dirty_polls;
            if (v3_status == 200) ++v3_ready_while_dirty;
        }
        if (v2.get("/health").status != 200) ++v2_not_ready;
        std::this_thread::sleep_for(100ms);
    }
    CHECK(m.wait_for(5000ms) == 0);
    INFO(m.out() << m.err());
    CHECK(ms_since(t0) >= 3000);
    CHECK(dirty_polls >= 5);  // the dirty row was visible while 3's body ran
    CHECK(v2_not_ready == 0);
    CHECK(v3_ready_while_dirty == 0);
    CHECK(pg.psql("SELECT version::text || ' ' || dirty::text FROM schema_migrations") == "3 false");
    CHECK(pg.psql("SELECT count(*) FROM orders WHERE customer IS NULL") == "0");
    CHECK(eventually([&] { return v3.get("/health").status == 200; }, 3000ms));
}

TEST_CASE("orders-service v1: orders work and the probe endpoints obey the contract", "[orders]") {
    Postgres pg;
    REQUIRE(migrate(pg, "1").exit_code == 0);
    Service v1(pg, "v1");
    REQUIRE(eventually([&] { return v1.get("/health").status == 200; }, 5000ms));
    long long id = 0;
    CHECK(v1.post("ann", &id) == 201);
    CHECK(v1.customer(id) == "ann");
    CHECK(v1.get("/orders/999999").status == 404);
    auto list = nlohmann::json::parse(v1.get("/orders?limit=5").body);
    CHECK(list.size() == 1);
    CHECK(v1.post("") == 400);
    CHECK(v1.get("/startupz").status == 200);
    CHECK(v1.get("/metrics").body.find("readyprobe_check_up{check=\"schema\"") != std::string::npos);
    CHECK(rptest::get(v1.port, "/health", {}, "POST").status == 405);
}

TEST_CASE("orders-service: an announcing db check leases what the version itself requires - migrate --to 4 is "
          "refused by it", "[orders][guard]") {
    Postgres pg;
    REQUIRE(migrate(pg, "3").exit_code == 0);
    // The operator names only the check and its ANNOUNCE; the columns come from the app (v1 reads
    // and writes customer_name), added to the operator's own REQUIRE (orders.id here).
    Service v1(pg, "v1", {{"READYPROBE_CHECK_DB", pg.url()}, {"READYPROBE_CHECK_DB_ANNOUNCE", "orders-service/v1"},
                          {"READYPROBE_CHECK_DB_REQUIRE", "orders.id"}});
    REQUIRE(eventually([&] { return v1.get("/health").status == 200; }, 5000ms));
    REQUIRE(eventually([&] { return pg.psql("SELECT to_regclass('readyprobe.leases') IS NOT NULL") == "t" &&
                                    pg.psql("SELECT count(*) FROM readyprobe.leases") == "1"; }, 5000ms));
    CHECK(pg.psql("SELECT service || '/' || version || ' ' || array_to_string(require, ',') FROM readyprobe.leases") ==
          "orders-service/v1 orders.id,orders.customer_name");
    RunResult r = migrate(pg, "4");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("orders-service/v1 task ") != std::string::npos);
    CHECK(pg.psql("SELECT version::text || ' ' || dirty::text FROM schema_migrations") == "3 false");
}

TEST_CASE("orders-service: a version whose schema is not there yet is never ready - names the column", "[orders]") {
    Postgres pg;
    REQUIRE(migrate(pg, "1").exit_code == 0);
    Service v2(pg, "v2");
    std::this_thread::sleep_for(600ms);
    CHECK(v2.get("/health").status == 503);
    CHECK(v2.get("/health?verbose").body.find("missing: orders.customer") != std::string::npos);
    REQUIRE(migrate(pg, "2").exit_code == 0);
    CHECK(eventually([&] { return v2.get("/health").status == 200; }, 3000ms));
}

TEST_CASE("orders-service: expand - v1 and v2 side by side - backfill - v3 - contract", "[orders]") {
    Postgres pg;
    REQUIRE(migrate(pg, "1").exit_code == 0);
    Service v1(pg, "v1");
    long long old_id = 0;
    REQUIRE(v1.post("old-customer", &old_id) == 201);
    REQUIRE(migrate(pg, "2").exit_code == 0);
    Service v2(pg, "v2");
    REQUIRE(eventually([&] { return v2.get("/health").status == 200 && v1.get("/health").status == 200; }, 5000ms));
    long long from_v1 = 0;
    long long from_v2 = 0;
    CHECK(v1.post("written-by-v1", &from_v1) == 201);
    CHECK(v2.post("written-by-v2", &from_v2) == 201);
    CHECK(v1.customer(from_v2) == "written-by-v2");
    CHECK(v2.customer(from_v1) == "written-by-v1");
    CHECK(v2.customer(old_id) == "old-customer");

    // Backfill, then v3 beside v2 (and v1, still running here only to show the contract step
    // below turning it unready: the real rollout stops v1 first).
    REQUIRE(migrate(pg, "3").exit_code == 0);
    Service v3(pg, "v3");
    REQUIRE(eventually([&] { return v3.get("/health").status == 200; }, 5000ms));
    long long from_v3 = 0;
    CHECK(v3.post("written-by-v3", &from_v3) == 201);
    CHECK(v2.customer(from_v3) == "written-by-v3");
    CHECK(v3.customer(from_v1) == "written-by-v1");
    CHECK(v3.customer(old_id) == "old-customer");

    REQUIRE(migrate(pg, "4").exit_code == 0);
    CHECK(eventually([&] { return v1.get("/health").status == 503; }, 3000ms));
    CHECK(v1.get("/health?verbose").body.find("missing: orders.customer_name") != std::string::npos);
    CHECK(eventually([&] { return v2.get("/health").status == 503; }, 3000ms));
    CHECK(v3.get("/health").status == 200);
    CHECK(v3.customer(old_id) == "old-customer");
}

TEST_CASE("orders-service: SIGTERM - readiness 503 at once - requests keep succeeding through the drain - exit 0",
          "[orders][drain]") {
    Postgres pg;
    REQUIRE(migrate(pg, "1").exit_code == 0);
    Service svc(pg, "v1");
    REQUIRE(eventually([&] { return svc.get("/health").status == 200; }, 5000ms));

    std::atomic<bool> stop{false};
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    std::thread load([&] {
        httplib::Client c("127.0.0.1", svc.port);
        c.set_keep_alive(true);
        c.set_read_timeout(3, 0);
        while (!stop) {
            auto res = c.Post("/orders", R"({"customer": "during-drain"})", "application/json");
            (res && res->status == 201 ? ok : failed)++;
        }
    });
    std::this_thread::sleep_for(200ms);
    svc.proc->signal(SIGTERM);
    CHECK(eventually([&] { return svc.get("/health").status == 503; }, 500ms, 5ms));
    std::this_thread::sleep_for(1000ms);  // inside the 1.5 s drain: the load balancer is still noticing
    stop = true;
    load.join();
    CHECK(ok > 20);
    CHECK(failed == 0);
    auto code = svc.proc->wait_for(5000ms);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
}
