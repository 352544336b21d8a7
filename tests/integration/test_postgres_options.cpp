// PostgreSQL deployment-safety options against real tables shaped exactly as each migration
// tool creates them: POOL, MIGRATION, REQUIRE.
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

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("MIGRATION golang-migrate: below fails - at passes - dirty fails - missing table is named",
          "[postgres][migration]") {
    Schema s(server());
    auto r = check_once(s.url, {{"MIGRATION", "golang-migrate>=3"}});
    CHECK_FALSE(r.ok);
    CHECK(r.message == "no golang-migrate history table (schema_migrations)");

    s.sql("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)");
    s.sql("INSERT INTO schema_migrations VALUES (2, false)");
    r = check_once(s.url, {{"MIGRATION", "golang-migrate>=3"}});
    CHECK_FALSE(r.ok);
    CHECK(r.message == "golang-migrate at 2, need >= 3");

    s.sql("UPDATE schema_migrations SET version = 3, dirty = true");
    r = check_once(s.url, {{"MIGRATION", "golang-migrate>=3"}});
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "dirty at version 3"));

    s.sql("UPDATE schema_migrations SET dirty = false");
    r = check_once(s.url, {{"MIGRATION", "golang-migrate>=3"}});
    CHECK(r.ok);
    CHECK(has(r.message, "golang-migrate at 3"));
    CHECK(check_once(s.url, {{"MIGRATION", "golang-migrate=3"}}).ok);
    CHECK_FALSE(check_once(s.url, {{"MIGRATION", "golang-migrate=2"}}).ok);
    s.sql("UPDATE schema_migrations SET version = 10");
    CHECK(check_once(s.url, {{"MIGRATION", "golang-migrate>=3"}}).ok);
}

TEST_CASE("MIGRATION flyway: dotted versions compare numerically - a failed row fails", "[postgres][migration]") {
    Schema s(server());
    s.sql(R"(CREATE TABLE flyway_schema_history (
        installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL,
        type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT,
        installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(),
        execution_time INT NOT NULL, success BOOLEAN NOT NULL))");
    s.sql("INSERT INTO flyway_schema_history VALUES "
          "(1, '1', '<< Flyway Schema Creation >>', 'SCHEMA', '\"public\"', NULL, 'app', now(), 0, true),"
          "(2, '1.9', 'init', 'SQL', 'V1_9__init.sql', 1, 'app', now(), 5, true),"
          "(3, NULL, 'views', 'SQL', 'R__views.sql', 2, 'app', now(), 5, true)");
    auto r = check_once(s.url, {{"MIGRATION", "flyway>=1.10"}});
    CHECK_FALSE(r.ok);
    CHECK(r.message == "flyway at 1.9, need >= 1.10");
    s.sql("INSERT INTO flyway_schema_history VALUES (4, '1.10', 'add', 'SQL', 'V1_10__add.sql', 3, 'app', now(), 5, true)");
    CHECK(check_once(s.url, {{"MIGRATION", "flyway>=1.10"}}).ok);
    CHECK(check_once(s.url, {{"MIGRATION", "flyway=1.10"}}).ok);
    s.sql("INSERT INTO flyway_schema_history VALUES (5, '1.11', 'bad', 'SQL', 'V1_11__bad.sql', 4, 'app', now(), 5, false)");
    r = check_once(s.url, {{"MIGRATION", "flyway>=1.10"}});
    CHECK_FALSE(r.ok);
    CHECK(r.message == "flyway migration 1.11 failed");
}

TEST_CASE("MIGRATION alembic - django - rails - prisma - liquibase tables", "[postgres][migration]") {
    SECTION("alembic: the named revision is the current head") {
        Schema s(server());
        s.sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
              "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))");
        s.sql("INSERT INTO alembic_version VALUES ('1975ea83b712')");
        CHECK_FALSE(check_once(s.url, {{"MIGRATION", "alembic=ae1027a6acf"}}).ok);
        s.sql("UPDATE alembic_version SET version_num = 'ae1027a6acf'");
        CHECK(check_once(s.url, {{"MIGRATION", "alembic=ae1027a6acf"}}).ok);
    }
    SECTION("django: app.name applied") {
        Schema s(server());
        s.sql("CREATE TABLE django_migrations (id bigserial PRIMARY KEY, app varchar(255) NOT NULL, "
              "name varchar(255) NOT NULL, applied timestamp with time zone NOT NULL)");
        s.sql("INSERT INTO django_migrations (app, name, applied) VALUES ('orders', '0001_initial', now())");
        auto r = check_once(s.url, {{"MIGRATION", "django=orders.0002_customer"}});
        CHECK_FALSE(r.ok);
        CHECK(has(r.message, "orders.0002_customer not applied"));
        s.sql("INSERT INTO django_migrations (app, name, applied) VALUES ('orders', '0002_customer', now())");
        CHECK(check_once(s.url, {{"MIGRATION", "django=orders.0002_customer"}}).ok);
    }
    SECTION("rails: timestamps") {
        Schema s(server());
        s.sql("CREATE TABLE schema_migrations (version character varying NOT NULL PRIMARY KEY)");
        s.sql("INSERT INTO schema_migrations VALUES ('20240101120000'), ('20240301090000')");
        CHECK_FALSE(check_once(s.url, {{"MIGRATION", "rails>=20240401000000"}}).ok);
        CHECK(check_once(s.url, {{"MIGRATION", "rails>=20240301090000"}}).ok);
    }
    SECTION("prisma: finished and not rolled back - an unfinished one fails") {
        Schema s(server());
        s.sql("CREATE TABLE _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, "
              "finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ, "
              "started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)");
        s.sql("INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) "
              "VALUES ('a', 'x', now(), '20240101_init', 1)");
        CHECK(check_once(s.url, {{"MIGRATION", "prisma=20240101_init"}}).ok);
        CHECK_FALSE(check_once(s.url, {{"MIGRATION", "prisma=20240201_more"}}).ok);
        s.sql("INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at) "
              "VALUES ('b', 'y', NULL, '20240201_more', now() + interval '1 second')");
        auto r = check_once(s.url, {{"MIGRATION", "prisma=20240101_init"}});
        CHECK_FALSE(r.ok);
        CHECK(has(r.message, "20240201_more failed or is still running"));
    }
    SECTION("liquibase: changeset id applied") {
        Schema s(server());
        s.sql("CREATE TABLE databasechangelog (id VARCHAR(255) NOT NULL, author VARCHAR(255) NOT NULL, "
              "filename VARCHAR(255) NOT NULL, dateexecuted TIMESTAMP NOT NULL, orderexecuted INTEGER NOT NULL, "
              "exectype VARCHAR(10) NOT NULL, md5sum VARCHAR(35), description VARCHAR(255), comments VARCHAR(255), "
              "tag VARCHAR(255), liquibase VARCHAR(20), contexts VARCHAR(255), labels VARCHAR(255), "
              "deployment_id VARCHAR(10))");
        s.sql("INSERT INTO databasechangelog (id, author, filename, dateexecuted, orderexecuted, exectype) "
              "VALUES ('create-orders', 'app', 'changelog.xml', now(), 1, 'EXECUTED')");
        CHECK(check_once(s.url, {{"MIGRATION", "liquibase=create-orders"}}).ok);
        CHECK_FALSE(check_once(s.url, {{"MIGRATION", "liquibase=add-customer"}}).ok);
    }
}

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
    CHECK(has(rp.get("/health?verbose").body, "golang-migrate at 1, need >= 2"));
    s.sql("CREATE TABLE orders (id int, customer text); UPDATE schema_migrations SET version = 2");
    CHECK(eventually([&] { return rp.status("/health") == 200; }, 3000ms));
    // A contract migration that ran too early is named.
    s.sql("ALTER TABLE orders RENAME COLUMN id TO order_id; ALTER TABLE orders ADD COLUMN customer_name text");
    CHECK(rp.status("/health") == 200);
    s.sql("DROP TABLE orders");
    CHECK(eventually([&] { return rp.status("/health") == 503; }, 3000ms));
    CHECK(has(rp.get("/health?verbose").body, "missing: orders.customer"));
}
