// MIGRATION gates against what the real migration tools write (issue 15).
// - alembic, Django and ActiveRecord are the real tools from Debian (python3-alembic,
//   python3-django + python3-psycopg2, ruby-activerecord + ruby-pg), run step by step against a
//   throwaway PostgreSQL; helper files are in tests/integration/migration_tools/.
// - golang-migrate, Flyway, Liquibase and Prisma are not packaged for Debian 12: their tables and
//   rows are written here in the order and form their source writes them (cited per test).
// Each test gets its own database (the tools create their tables in its public schema).
#include "support.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

using namespace rptest;
using namespace readyprobe;
namespace fs = std::filesystem;

namespace {

const std::string kPython = "/usr/bin/python3";  // Debian's, with python3-alembic/-django/-psycopg2
const std::string kRuby = "/usr/bin/ruby";
const std::string kTools = std::string(READYPROBE_SOURCE_DIR) + "/tests/integration/migration_tools";

Postgres& server() {
    static Postgres pg({"max_connections=40"});
    return pg;
}

std::atomic<int> counter{0};


// A fresh database owned by app, dropped at the end, and a scratch directory.
struct Database {
    std::string name;
    fs::path dir;
    Database() {
        name = "rp_tools_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
        server().psql("CREATE DATABASE " + name + " OWNER app");
        dir = fs::temp_directory_path() / name;
        fs::create_directories(dir);
    }
    ~Database() {
        std::error_code ec;
        fs::remove_all(dir, ec);
        try {
            server().psql("DROP DATABASE " + name + " WITH (FORCE)");
        } catch (...) {
        }
    }
    std::string url(const std::string& query = "") const {
        return "postgres://app:app-secret-pw@127.0.0.1:" + std::to_string(server().port()) + "/" + name + query;
    }
    // SQL as app in this database (what a tool's connection would do), one transaction.
    std::string sql(const std::string& statements) const {
        RunResult r = run({"/usr/bin/psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-1", "-c", statements,
                           url()},
                          base_env(), 30000ms);
        if (r.exit_code != 0) throw std::runtime_error("psql failed: " + r.err);
        return r.out;
    }
    Env env() const {
        Env e = base_env();
        e["RP_DB_NAME"] = name;
        e["RP_DB_USER"] = "app";
        e["RP_DB_PASSWORD"] = "app-secret-pw";
        e["RP_DB_HOST"] = "127.0.0.1";
        e["RP_DB_PORT"] = std::to_string(server().port());
        e["PYTHONDONTWRITEBYTECODE"] = "1";  // nothing written into the source tree
        return e;
    }
};

// One run of a gate, as the embedded library runs it (the sidecar builds the same check).
Result gate(const std::string& url, const std::string& migration, const std::string& dir = "") {
    Environment env{{"READYPROBE_CHECK_DB", url}, {"READYPROBE_CHECK_DB_MIGRATION", migration}};
    if (!dir.empty()) env["READYPROBE_CHECK_DB_MIGRATION_DIR"] = dir;
    auto check = make_check(load_settings(env).checks.at(0));
    return check->run(SteadyClock::now() + std::chrono::seconds(3));
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// Replaces the first `pass` after `def <fn>(` with `body`.
void set_body(const fs::path& file, const std::string& fn, const std::string& body) {
    std::string text = read_file(file);
    const auto def = text.find("def " + fn + "(");
    REQUIRE(def != std::string::npos);
    const auto pass = text.find("pass", def);
    REQUIRE(pass != std::string::npos);
    text.replace(pass, 4, body);
    write_file(file, text);
}

RunResult must(const RunResult& r, const std::string& what) {
    INFO(what << "\nstdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    return r;
}

}  // namespace

TEST_CASE("alembic (real): a task gated on rev 1 stays ready through 2 and 3 - rev 3 waits - downgrade takes 3 down",
          "[migration][tools][alembic]") {
    Database db;
    const std::string project = db.dir.string();
    auto alembic = [&](const std::string& args) {
        return run({"/bin/sh", "-c", "cd '" + project + "' && " + kPython + " -m alembic " + args}, db.env(), 60000ms);
    };
    must(alembic("init alembic"), "alembic init");
    {
        std::string ini = read_file(db.dir / "alembic.ini");
        const auto url_at = ini.find("sqlalchemy.url = ");
        REQUIRE(url_at != std::string::npos);
        ini.replace(url_at, ini.find('\n', url_at) - url_at,
                    "sqlalchemy.url = postgresql://app:app-secret-pw@127.0.0.1:" + std::to_string(server().port()) +
                        "/" + db.name);
        write_file(db.dir / "alembic.ini", ini);
    }
    const std::vector<std::string> revs{"1a0000000001", "2b0000000002", "3c0000000003"};
    const std::vector<std::pair<std::string, std::string>> bodies{
        {"op.execute('CREATE TABLE orders (id serial PRIMARY KEY, customer_name text)')",
         "op.execute('DROP TABLE orders')"},
        {"op.execute('ALTER TABLE orders ADD COLUMN customer text')", "op.execute('ALTER TABLE orders DROP COLUMN customer')"},
        {"op.execute('UPDATE orders SET customer = customer_name WHERE customer IS NULL')", "pass"},
    };
    const fs::path versions = db.dir / "alembic" / "versions";
    for (std::size_t i = 0; i < revs.size(); ++i) {
        must(alembic("revision -m step" + std::to_string(i + 1) + " --rev-id " + revs[i]), "alembic revision");
        const fs::path file = versions / (revs[i] + "_step" + std::to_string(i + 1) + ".py");
        REQUIRE(fs::exists(file));
        set_body(file, "upgrade", bodies[i].first);
        set_body(file, "downgrade", bodies[i].second);
    }
    // The image of an older release holds only revision 1.
    const fs::path old_versions = db.dir / "old-image-versions";
    fs::create_directories(old_versions);
    fs::copy_file(versions / (revs[0] + "_step1.py"), old_versions / (revs[0] + "_step1.py"));

    const std::string g1 = "alembic>=" + revs[0], g3 = "alembic>=" + revs[2];
    auto r = gate(db.url(), g1, versions.string());
    CHECK_FALSE(r.ok);
    CHECK(r.message == "no alembic history table (alembic_version)");

    must(alembic("upgrade +1"), "upgrade to 1");
    r = gate(db.url(), g1, versions.string());
    CHECK(r.ok);
    CHECK(r.message == "alembic at " + revs[0]);
    r = gate(db.url(), g3, versions.string());
    CHECK_FALSE(r.ok);
    CHECK(r.message == "alembic at " + revs[0] + ", need " + revs[2] + " or a descendant of it");

    for (std::size_t step = 1; step < 3; ++step) {
        must(alembic("upgrade +1"), "upgrade to " + std::to_string(step + 1));
        CHECK(db.sql("SELECT version_num FROM alembic_version") == revs[step] + "\n");
        INFO("at " << revs[step]);
        r = gate(db.url(), g1, versions.string());
        CHECK(r.ok);
        CHECK(r.message == "alembic at " + revs[step]);
        CHECK(gate(db.url(), "alembic=" + revs[0], versions.string()).ok);  // "=": applied, same meaning
        // A task whose image predates this head stays ready too.
        r = gate(db.url(), g1, old_versions.string());
        CHECK(r.ok);
        CHECK(r.message == "alembic at " + revs[step] + " (" + revs[step] + " is newer than this task's revisions)");
        CHECK(gate(db.url(), g3, versions.string()).ok == (step == 2));
    }
    must(alembic("downgrade -1"), "downgrade");
    r = gate(db.url(), g3, versions.string());
    CHECK_FALSE(r.ok);
    CHECK(r.message == "alembic at " + revs[1] + ", need " + revs[2] + " or a descendant of it");
    CHECK(gate(db.url(), g1, versions.string()).ok);

    // The sidecar refuses an alembic gate it cannot evaluate: one line, exit 2.
    Env env = base_env();
    env["READYPROBE_CHECK_DB"] = db.url();
    env["READYPROBE_CHECK_DB_MIGRATION"] = g3;
    RunResult cfg = run({binary(), "config"}, env);
    CHECK(cfg.exit_code == 2);
    CHECK(has(cfg.err, "READYPROBE_CHECK_DB_MIGRATION: an alembic gate needs the revision history"));
    CHECK(std::count(cfg.err.begin(), cfg.err.end(), '\n') == 1);
    env["READYPROBE_CHECK_DB_MIGRATION"] = "alembic>=ffff00000000";
    env["READYPROBE_CHECK_DB_MIGRATION_DIR"] = versions.string();
    cfg = run({binary(), "config"}, env);
    CHECK(cfg.exit_code == 2);
    CHECK(has(cfg.err, "READYPROBE_CHECK_DB_MIGRATION_DIR: alembic revision \"ffff00000000\" is not in"));
    env["READYPROBE_CHECK_DB_MIGRATION"] = g3;
    CHECK(run({binary(), "config"}, env).exit_code == 0);
}

TEST_CASE("django (real): membership per app - the hint names the right app's newest migration",
          "[migration][tools][django]") {
    Database db;
    const std::string manage = kTools + "/django_project/manage.py";
    auto migrate = [&](const std::string& app, const std::string& name) {
        return must(run({kPython, manage, "migrate", "--no-input", app, name}, db.env(), 60000ms),
                    "migrate " + app + " " + name);
    };
    auto r = gate(db.url(), "django=orders.0001_initial");
    CHECK(r.message == "no django history table (django_migrations)");

    migrate("orders", "0001_initial");
    r = gate(db.url(), "django=orders.0001_initial");
    CHECK(r.ok);
    CHECK(r.message == "django orders at 0001_initial");
    r = gate(db.url(), "django=billing.0001_initial");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "django migration billing.0001_initial not applied (no billing migration applied)");

    migrate("billing", "0001_initial");  // newer than orders' latest: must not appear in orders' hint
    CHECK(gate(db.url(), "django=billing.0001_initial").ok);
    r = gate(db.url(), "django=orders.0002_customer");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "django migration orders.0002_customer not applied (orders at 0001_initial)");

    migrate("orders", "0002_customer");
    r = gate(db.url(), "django=orders.0002_customer");
    CHECK(r.ok);
    CHECK(r.message == "django orders at 0002_customer");
    CHECK(gate(db.url(), "django=orders.0001_initial").ok);

    migrate("orders", "0001_initial");  // unapply 0002
    r = gate(db.url(), "django=orders.0002_customer");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "django migration orders.0002_customer not applied (orders at 0001_initial)");
}

TEST_CASE("rails (real ActiveRecord): membership - a pending older-timestamp migration keeps its gate down",
          "[migration][tools][rails]") {
    Database db;
    const std::string ar_url = "postgresql://app:app-secret-pw@127.0.0.1:" + std::to_string(server().port()) + "/" +
                               db.name;
    auto ar = [&](const std::vector<std::string>& args) {
        std::vector<std::string> argv{kRuby, kTools + "/activerecord_migrate.rb", ar_url, kTools + "/rails_migrations"};
        argv.insert(argv.end(), args.begin(), args.end());
        return must(run(argv, db.env(), 60000ms), "activerecord " + args.front());
    };
    // Deployed before the late branch was merged: the two migrations it had.
    ar({"up", "20240101120000"});
    ar({"up", "20240301090000"});
    CHECK(gate(db.url(), "rails>=20240101120000").ok);
    auto r = gate(db.url(), "rails>=20240301090000");
    CHECK(r.ok);
    CHECK(r.message == "rails 20240301090000 applied (newest 20240301090000)");
    // 20240201000000 is older than the newest applied version and still pending: ActiveRecord says
    // the database needs migrating, and the gate on it stays down.
    CHECK(ar({"needs_migration"}).out == "true\n");
    r = gate(db.url(), "rails>=20240201000000");
    CHECK_FALSE(r.ok);
    CHECK(r.message ==
          "rails migration 20240201000000 not applied, although newer 20240301090000 is (pending out of order)");

    ar({"migrate"});
    CHECK(ar({"needs_migration"}).out == "false\n");
    CHECK(gate(db.url(), "rails>=20240201000000").ok);

    ar({"down", "20240301090000"});
    r = gate(db.url(), "rails=20240301090000");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "rails migration 20240301090000 not applied (newest: 20240201000000)");
    CHECK(gate(db.url(), "rails>=20240201000000").ok);

    // The wrong tool named for ActiveRecord's table.
    r = gate(db.url(), "golang-migrate>=1");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "public.schema_migrations has rails's layout (version character varying), not "
                       "golang-migrate's: is MIGRATION naming the right tool?");
}

// golang-migrate v4, database/postgres/postgres.go: ensureVersionTable creates
//   CREATE TABLE IF NOT EXISTS <schema>.schema_migrations (version bigint not null primary key, dirty boolean not null)
// and SetVersion(version, dirty) runs, in its own transaction, TRUNCATE then (version >= 0, or -1
// when dirty) INSERT (version, dirty). migrate.go runMigrations applies each migration as
// SetVersion(target, true); Run(body) (outside that transaction); SetVersion(target, false) - a
// failed body returns before the last step, leaving the row dirty. Down migrations set the
// target (the previous version) dirty while the down body runs.
TEST_CASE("golang-migrate (its writes): dirty at N keeps gates <= N-1 up - gates >= N wait",
          "[migration][tools][golang-migrate]") {
    Database db;
    db.sql("CREATE SCHEMA gm");
    const std::string url = db.url("?search_path=gm,public");  // found by naming the schemas
    auto set_version = [&](int version, bool dirty) {
        std::string statements = "TRUNCATE \"gm\".\"schema_migrations\";";
        if (version >= 0 || dirty) {
            statements += " INSERT INTO \"gm\".\"schema_migrations\" (version, dirty) VALUES (" + std::to_string(version) +
                          ", " + (dirty ? "true" : "false") + ");";
        }
        db.sql(statements);
    };
    auto r = gate(url, "golang-migrate>=1");
    CHECK(r.message == "no golang-migrate history table (schema_migrations in gm, public)");
    db.sql("CREATE TABLE IF NOT EXISTS \"gm\".\"schema_migrations\" (version bigint not null primary key, dirty "
           "boolean not null)");
    CHECK(gate(url, "golang-migrate>=1").message == "no golang-migrate migration applied yet, need 1");

    set_version(1, true);
    r = gate(url, "golang-migrate>=1");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "golang-migrate: migration 1 running or failed (dirty), need 1");
    db.sql("CREATE TABLE gm.orders (id bigserial PRIMARY KEY, customer_name text)");
    set_version(1, false);
    r = gate(url, "golang-migrate>=1");
    CHECK(r.ok);
    CHECK(r.message == "golang-migrate at 1");

    // Migration 2 starts: the serving tasks (gated on 1) stay up, a task needing 2 waits.
    set_version(2, true);
    r = gate(url, "golang-migrate>=1");
    CHECK(r.ok);
    CHECK(r.message == "golang-migrate before 2: migration 2 running or failed (dirty)");
    r = gate(url, "golang-migrate>=2");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "golang-migrate: migration 2 running or failed (dirty), need 2");
    // Its body fails: the row stays dirty, nothing changes for either gate.
    CHECK_THROWS(db.sql("ALTER TABLE gm.orders ADD COLUMN customer text; SELECT 1/0"));
    CHECK(gate(url, "golang-migrate>=1").ok);
    CHECK_FALSE(gate(url, "golang-migrate>=2").ok);
    // `migrate force 1`, then `migrate up` again.
    set_version(1, false);
    set_version(2, true);
    db.sql("ALTER TABLE gm.orders ADD COLUMN customer text");
    set_version(2, false);
    CHECK(gate(url, "golang-migrate>=2").ok);
    CHECK(gate(url, "golang-migrate=1").ok);  // "=": applied; a later migration never takes it out

    // The wrong tool named for golang-migrate's table.
    r = gate(url, "rails>=1");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "gm.schema_migrations has golang-migrate's layout (version bigint, dirty boolean), not "
                       "rails's: is MIGRATION naming the right tool?");
}

// Flyway, PostgreSQL: the table is created by createMetaDataTable.sql (database/postgresql) and
// rows are written by JdbcTableSchemaHistory.doAddAppliedMigration (installed_rank = max + 1).
// On PostgreSQL a migration and its row commit together, so a running migration is invisible; a
// failed one leaves a success = false row only when it ran outside a transaction (DbMigrate:
// "if (database.supportsDdlTransactions() && executeGroupInTransaction) ... else
// addAppliedMigration(..., false)"); `flyway repair` deletes those rows (DbRepair).
TEST_CASE("flyway (its writes): a failed row at N keeps gates below N up - baseline - repeatable",
          "[migration][tools][flyway]") {
    Database db;
    db.sql(R"(CREATE TABLE "public"."flyway_schema_history" (
        "installed_rank" INT NOT NULL, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL,
        "type" VARCHAR(20) NOT NULL, "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER,
        "installed_by" VARCHAR(100) NOT NULL, "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
        "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL);
        ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
        CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");)");
    auto add = [&](const std::string& version, const std::string& description, const std::string& type,
                   const std::string& script, bool success) {
        db.sql("INSERT INTO \"public\".\"flyway_schema_history\" (\"installed_rank\", \"version\", \"description\", "
               "\"type\", \"script\", \"checksum\", \"installed_by\", \"execution_time\", \"success\") "
               "SELECT COALESCE(max(installed_rank), 0) + 1, " +
               (version.empty() ? std::string("NULL") : "'" + version + "'") + ", '" + description + "', '" + type +
               "', '" + script + "', 12345, 'app', 7, " + (success ? "true" : "false") +
               " FROM \"public\".\"flyway_schema_history\"");
    };
    add("1.9", "init", "SQL", "V1_9__init.sql", true);
    add("", "views", "SQL", "R__views.sql", true);
    auto r = gate(db.url(), "flyway>=1.10");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "flyway at 1.9, need 1.10");
    add("1.10", "add customer", "SQL", "V1_10__add_customer.sql", true);
    CHECK(gate(db.url(), "flyway>=1.10").ok);
    // 1.11 ran outside a transaction (e.g. CREATE INDEX CONCURRENTLY) and failed.
    add("1.11", "index", "SQL", "V1_11__index.sql", false);
    r = gate(db.url(), "flyway>=1.10");
    CHECK(r.ok);
    CHECK(r.message == "flyway at 1.10 (migration 1.11 failed (success = false))");
    r = gate(db.url(), "flyway>=1.11");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "flyway at 1.10, need 1.11 (migration 1.11 failed (success = false))");
    // flyway repair; flyway migrate.
    db.sql("DELETE FROM \"public\".\"flyway_schema_history\" WHERE \"success\" = false");
    add("1.11", "index", "SQL", "V1_11__index.sql", true);
    CHECK(gate(db.url(), "flyway>=1.11").ok);

    Database baselined;
    baselined.sql(R"(CREATE TABLE "public"."flyway_schema_history" ("installed_rank" INT NOT NULL PRIMARY KEY,
        "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL,
        "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER, "installed_by" VARCHAR(100) NOT NULL,
        "installed_on" TIMESTAMP NOT NULL DEFAULT now(), "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL))");
    baselined.sql("INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, installed_by, "
                  "execution_time, success) VALUES (1, '5', '<< Flyway Baseline >>', 'BASELINE', "
                  "'<< Flyway Baseline >>', 'app', 0, true)");
    CHECK(gate(baselined.url(), "flyway>=3").ok);
    CHECK_FALSE(gate(baselined.url(), "flyway>=6").ok);
}

// Liquibase: DATABASECHANGELOG as StandardChangeLogHistoryService creates it (unquoted, so lower
// case on PostgreSQL); one row per changeset written by MarkChangeSetRanGenerator with EXECTYPE
// from ChangeSet.ExecType (EXECUTED, RERAN, MARK_RAN; a failed changeset's transaction is rolled
// back and leaves no row). A changeset is identified by id + author + file.
TEST_CASE("liquibase (its writes): id::author::file - MARK_RAN said so", "[migration][tools][liquibase]") {
    Database db;
    db.sql("CREATE TABLE databasechangelog (ID VARCHAR(255) NOT NULL, AUTHOR VARCHAR(255) NOT NULL, "
           "FILENAME VARCHAR(255) NOT NULL, DATEEXECUTED TIMESTAMP NOT NULL, ORDEREXECUTED INTEGER NOT NULL, "
           "EXECTYPE VARCHAR(10) NOT NULL, MD5SUM VARCHAR(35), DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), "
           "TAG VARCHAR(255), LIQUIBASE VARCHAR(20), CONTEXTS VARCHAR(255), LABELS VARCHAR(255), "
           "DEPLOYMENT_ID VARCHAR(10))");
    auto ran = [&](const std::string& id, const std::string& author, const std::string& file, const std::string& type) {
        db.sql("INSERT INTO databasechangelog (ID, AUTHOR, FILENAME, DATEEXECUTED, ORDEREXECUTED, MD5SUM, DESCRIPTION, "
               "COMMENTS, EXECTYPE, CONTEXTS, LABELS, LIQUIBASE, DEPLOYMENT_ID) SELECT '" + id + "', '" + author +
               "', '" + file + "', NOW(), COALESCE(max(ORDEREXECUTED), 0) + 1, '9:0f0e', 'sql', '', '" + type +
               "', NULL, NULL, '4.23.0', '1234567890' FROM databasechangelog");
    };
    ran("1", "alice", "db/changelog/orders.xml", "EXECUTED");
    ran("1", "bob", "db/changelog/billing.xml", "EXECUTED");  // same id, another file and author
    CHECK(gate(db.url(), "liquibase=1::alice::db/changelog/orders.xml").ok);
    CHECK(gate(db.url(), "liquibase=1::bob").ok);
    auto r = gate(db.url(), "liquibase=1::alice::db/changelog/billing.xml");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "liquibase changeset 1::alice::db/changelog/billing.xml not applied "
                       "(latest: 1::bob::db/changelog/billing.xml)");
    ran("2", "alice", "db/changelog/orders.xml", "MARK_RAN");  // precondition onFail="MARK_RAN"
    r = gate(db.url(), "liquibase=2::alice::db/changelog/orders.xml");
    CHECK(r.ok);
    CHECK(r.message == "liquibase 2::alice::db/changelog/orders.xml MARK_RAN (recorded as run without running its "
                       "changes)");
}

// Prisma (prisma-engines, sql-migration-connector, ImperativeMigrationsPersistence): the table as
// the postgres flavour creates it; `migrate deploy` writes record_migration_started (INSERT id,
// checksum, started_at, migration_name) before the script, record_successful_step
// (applied_steps_count + 1, logs) and record_migration_finished (finished_at) after it, or
// record_failed_step (logs) on failure; `migrate resolve --rolled-back` sets rolled_back_at.
TEST_CASE("prisma (its writes): an unfinished migration fails only the gate that needs it",
          "[migration][tools][prisma]") {
    Database db;
    db.sql("CREATE TABLE \"_prisma_migrations\" (\"id\" VARCHAR(36) PRIMARY KEY NOT NULL, "
           "\"checksum\" VARCHAR(64) NOT NULL, \"finished_at\" TIMESTAMPTZ, \"migration_name\" VARCHAR(255) NOT NULL, "
           "\"logs\" TEXT, \"rolled_back_at\" TIMESTAMPTZ, \"started_at\" TIMESTAMPTZ NOT NULL DEFAULT now(), "
           "\"applied_steps_count\" INTEGER NOT NULL DEFAULT 0)");
    auto started = [&](const std::string& id, const std::string& name) {
        db.sql("INSERT INTO \"_prisma_migrations\" (\"id\", \"checksum\", \"started_at\", \"migration_name\") VALUES ('" +
               id + "', 'c0ffee', now(), '" + name + "')");
    };
    auto finished = [&](const std::string& id) {
        db.sql("UPDATE \"_prisma_migrations\" SET \"applied_steps_count\" = \"applied_steps_count\" + 1, \"logs\" = "
               "NULL WHERE \"id\" = '" + id + "'");
        db.sql("UPDATE \"_prisma_migrations\" SET \"finished_at\" = now() WHERE \"id\" = '" + id + "'");
    };
    started("a1", "20240101000000_init");
    finished("a1");
    CHECK(gate(db.url(), "prisma=20240101000000_init").ok);
    started("b1", "20240201000000_customer");  // running
    auto r = gate(db.url(), "prisma=20240101000000_init");
    CHECK(r.ok);
    CHECK(r.message == "prisma 20240101000000_init applied (20240201000000_customer running or failed)");
    r = gate(db.url(), "prisma=20240201000000_customer");
    CHECK_FALSE(r.ok);
    CHECK(r.message == "prisma migration 20240201000000_customer running or failed (not finished)");
    db.sql("UPDATE \"_prisma_migrations\" SET \"logs\" = 'db error: ERROR: column exists' WHERE \"id\" = 'b1'");
    CHECK(gate(db.url(), "prisma=20240101000000_init").ok);
    CHECK_FALSE(gate(db.url(), "prisma=20240201000000_customer").ok);
    db.sql("UPDATE \"_prisma_migrations\" SET \"rolled_back_at\" = now() WHERE \"id\" = 'b1'");
    r = gate(db.url(), "prisma=20240201000000_customer");
    CHECK(r.message == "prisma migration 20240201000000_customer was rolled back");
    started("b2", "20240201000000_customer");
    finished("b2");
    CHECK(gate(db.url(), "prisma=20240201000000_customer").ok);
}
