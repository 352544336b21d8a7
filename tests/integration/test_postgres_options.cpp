// PostgreSQL deployment-safety options: POOL, REQUIRE, and MIGRATION in the sidecar (every
// tool's own tables and writes: test_migration_tools.cpp).
#include "support.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <unistd.h>

using namespace rptest;
using namespace readyprobe;

namespace {

std::atomic<int> schema_counter{0};

// A fresh schema on the given server, dropped at the end; the URL selects it via search_path.
struct Schema {
    const Postgres* pg;
    std::string name;
    std::string url;
    explicit Schema(const Postgres& server) : pg(&server) {
        name = "rp_s" + std::to_string(::getpid()) + "_" + std::to_string(schema_counter++);
        pg->psql("CREATE SCHEMA " + name + " AUTHORIZATION app");
        url = pg->url() + "?search_path=" + name;
    }
    ~Schema() {
        try {
            pg->psql("DROP SCHEMA " + name + " CASCADE");
        } catch (...) {
        }
    }
    void sql(const std::string& statement) const { pg->psql("SET search_path=" + name + "; " + statement); }
};

Postgres& server() {
    static Postgres pg({"max_connections=30"});
    return pg;
}

Result check_once(const std::string& url, const Environment& options) {
    Environment env{{"READYPROBE_CHECK_DB", url}, {"READYPROBE_TIMEOUT", "2s"}};
    for (const auto& [k, v] : options) env["READYPROBE_CHECK_DB_" + k] = v;
    auto check = make_check(load_settings(env).checks.at(0));
    return check->run(SteadyClock::now() + std::chrono::seconds(2));
}


}  // namespace

// MIGRATION against every tool's real table and writes: tests/integration/test_migration_tools.cpp.

TEST_CASE("REQUIRE names exactly what is missing", "[postgres][require]") {
    Schema s(server());
    s.sql("CREATE TABLE users (id int, name text)");
    auto r = check_once(s.url, {{"REQUIRE", "users.name, users.email, orders, users"}});
    CHECK_FALSE(r.ok);
    CHECK(r.message == "missing: users.email, orders");
    s.sql("ALTER TABLE users ADD COLUMN email text; CREATE TABLE orders (id int)");
    CHECK(check_once(s.url, {{"REQUIRE", "users.name, users.email, orders, users"}}).ok);
    s.sql("ALTER TABLE users DROP COLUMN name");
    r = check_once(s.url, {{"REQUIRE", "users.name,users.email"}});
    CHECK(r.message == "missing: users.name");
}

TEST_CASE("POOL holds N validated connections named readyprobe - too few free slots fails clearly",
          "[postgres][pool]") {
    Postgres pg({"max_connections=12", "superuser_reserved_connections=0"});
    Environment env{{"READYPROBE_CHECK_DB", pg.url()}, {"READYPROBE_CHECK_DB_POOL", "5"}};
    auto check = make_check(load_settings(env).checks.at(0));
    auto r = check->run(SteadyClock::now() + std::chrono::seconds(2));
    CHECK(r.ok);
    CHECK(r.message == "5/5 connections");
    CHECK(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'readyprobe'") == "5");
    CHECK(check->run(SteadyClock::now() + std::chrono::seconds(2)).ok);  // reused: still 5
    CHECK(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'readyprobe'") == "5");

    // Kill two of them: the next run reports it... and reopens them.
    pg.psql("SELECT pg_terminate_backend(pid) FROM (SELECT pid FROM pg_stat_activity "
            "WHERE application_name = 'readyprobe' LIMIT 2) t");
    r = check->run(SteadyClock::now() + std::chrono::seconds(2));
    CHECK(r.ok);  // broken kept connections are reopened within the same run
    CHECK(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'readyprobe'") == "5");

    Environment big{{"READYPROBE_CHECK_DB", pg.url()}, {"READYPROBE_CHECK_DB_POOL", "20"}};
    auto greedy = make_check(load_settings(big).checks.at(0));
    r = greedy->run(SteadyClock::now() + std::chrono::seconds(3));
    INFO(r.message);
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "/20 connections: no free connection slots on the server"));
}

TEST_CASE("migration gate in the sidecar: 503 below the version - 200 once the migration lands",
          "[postgres][migration][serve]") {
    Schema s(server());
    s.sql("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)");
    s.sql("INSERT INTO schema_migrations VALUES (1, false)");
    Sidecar rp({{"READYPROBE_CHECK_DB", s.url},
                {"READYPROBE_CHECK_DB_MIGRATION", "golang-migrate>=2"},
                {"READYPROBE_CHECK_DB_REQUIRE", "orders.customer"},
                {"READYPROBE_INTERVAL", "200ms"},
                {"READYPROBE_DETAILS", "full"}});
    std::this_thread::sleep_for(500ms);
    CHECK(rp.status("/health") == 503);
    CHECK(rp.status("/startupz") == 503);
    CHECK(has(rp.get("/health?verbose").body, "golang-migrate at 1, need 2"));
    s.sql("CREATE TABLE orders (id int, customer text); UPDATE schema_migrations SET version = 2");
    CHECK(eventually([&] { return rp.status("/health") == 200; }, 3000ms));
    // A contract migration that ran too early is named.
    s.sql("ALTER TABLE orders RENAME COLUMN id TO order_id; ALTER TABLE orders ADD COLUMN customer_name text");
    CHECK(rp.status("/health") == 200);
    s.sql("DROP TABLE orders");
    CHECK(eventually([&] { return rp.status("/health") == 503; }, 3000ms));
    CHECK(has(rp.get("/health?verbose").body, "missing: orders.customer"));
}
