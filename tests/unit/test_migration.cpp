// Migration gates, tool by tool, in every state the tool records: applied, running, failed,
// undone, and the wrong tool's table. Pure functions (probe-lib/src/checks/migration.hpp); the same
// states against real servers and real tools are in tests/integration/test_migration_tools.cpp.
#include "checks/migration.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace readyprobe;
using namespace readyprobe::detail;

namespace {

Row row(std::vector<std::string> values) {
    Row r;
    for (auto& v : values) {
        r.nulls.push_back(v == "\\N");
        r.values.push_back(v == "\\N" ? "" : v);
    }
    return r;
}

MigrationVerdict gate(const std::string& spec, const std::vector<std::vector<std::string>>& rows,
                      const std::string& dir = "") {
    const auto req = load_migration(spec, dir);
    std::vector<Row> rs;
    for (const auto& r : rows) rs.push_back(row(r));
    return evaluate_migration(req, rs);
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A throwaway alembic versions directory, removed at the end.
struct VersionsDir {
    std::filesystem::path path;
    VersionsDir() {
        path = std::filesystem::temp_directory_path() / ("rp-alembic-" + std::to_string(::getpid()) + "-" +
                                                         std::to_string(std::rand()));
        std::filesystem::create_directories(path);
    }
    ~VersionsDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    void write(const std::string& file, const std::string& text) const {
        std::filesystem::create_directories((path / file).parent_path());
        std::ofstream(path / file) << text;
    }
    std::string str() const { return path.string(); }
};

// The file `alembic revision` writes with alembic 1.8's script.py.mako (Debian 12), and the
// annotated form of later templates.
std::string revision_file(const std::string& rev, const std::string& down, bool annotated = false) {
    std::string t = "\"\"\"add things\n\nRevision ID: " + rev + "\nRevises: \nCreate Date: 2024-01-01\n\n\"\"\"\n"
                    "from alembic import op\nimport sqlalchemy as sa\n\n\n# revision identifiers, used by Alembic.\n";
    if (annotated) {
        t += "revision: str = '" + rev + "'\ndown_revision: Union[str, None] = " + down +
             "\nbranch_labels: Union[str, Sequence[str], None] = None\ndepends_on: Union[str, Sequence[str], None] = None\n";
    } else {
        t += "revision = '" + rev + "'\ndown_revision = " + down + "\nbranch_labels = None\ndepends_on = None\n";
    }
    return t + "\n\ndef upgrade() -> None:\n    revision = 'not-this-one'\n    pass\n";
}

}  // namespace

TEST_CASE("migration: >= and = both mean applied - no upper bound", "[migration]") {
    CHECK(gate("golang-migrate=2", {{"3", "false"}}).ok);
    CHECK(gate("golang-migrate>=2", {{"3", "false"}}).ok);
    CHECK(gate("flyway=1.1", {{"1.1", "true", "SQL", "V1_1__a.sql"}, {"2", "true", "SQL", "V2__b.sql"}}).ok);
}

TEST_CASE("migration golang-migrate: clean, running (dirty), failed, down, empty", "[migration]") {
    // Clean at 2: 2 and everything before it applied.
    auto v = gate("golang-migrate>=2", {{"2", "false"}});
    CHECK(v.ok);
    CHECK(v.message == "golang-migrate at 2");
    v = gate("golang-migrate>=3", {{"2", "false"}});
    CHECK_FALSE(v.ok);
    CHECK(v.message == "golang-migrate at 2, need 3");
    // runMigrations wrote SetVersion(3, true) and is running 3's body (or it failed there):
    // serving tasks gated on 2 or 1 stay up; a task needing 3 or later waits.
    for (const char* need : {"1", "2"}) {
        v = gate(std::string("golang-migrate>=") + need, {{"3", "true"}});
        CHECK(v.ok);
        CHECK(v.message == "golang-migrate before 3: migration 3 running or failed (dirty)");
    }
    for (const char* need : {"3", "4"}) {
        v = gate(std::string("golang-migrate>=") + need, {{"3", "true"}});
        CHECK_FALSE(v.ok);
        CHECK(v.message == std::string("golang-migrate: migration 3 running or failed (dirty), need ") + need);
    }
    // Timestamps: dirty at 20240301 means everything before it is applied.
    CHECK(gate("golang-migrate>=20240101", {{"20240301", "true"}}).ok);
    CHECK_FALSE(gate("golang-migrate>=20240301", {{"20240301", "true"}}).ok);
    // A failed down migration to nothing: SetVersion(-1, dirty=true) keeps a row.
    v = gate("golang-migrate>=1", {{"-1", "true"}});
    CHECK_FALSE(v.ok);
    CHECK(has(v.message, "dirty at -1"));
    v = gate("golang-migrate>=1", {});
    CHECK_FALSE(v.ok);
    CHECK(v.message == "no golang-migrate migration applied yet, need 1");
}

TEST_CASE("migration flyway: success, failed row, baseline, repeatable, undo, dotted versions", "[migration]") {
    const std::vector<std::string> schema{"\\N", "true", "SCHEMA", "\"public\""};
    const std::vector<std::string> v1{"1", "true", "SQL", "V1__create.sql"};
    const std::vector<std::string> v1_9{"1.9", "true", "SQL", "V1_9__a.sql"};
    const std::vector<std::string> v1_10{"1.10", "true", "SQL", "V1_10__b.sql"};
    CHECK(gate("flyway>=1.10", {schema, v1, v1_9, v1_10}).ok);
    auto v = gate("flyway>=1.10", {v1, v1_9});
    CHECK_FALSE(v.ok);
    CHECK(v.message == "flyway at 1.9, need 1.10");
    // A non-transactional migration that failed (DbMigrate records success = false): 2 failed, 1 applied.
    const std::vector<std::string> v2_failed{"2", "false", "SQL", "V2__backfill.sql"};
    v = gate("flyway>=1", {v1, v2_failed});
    CHECK(v.ok);
    CHECK(v.message == "flyway at 1 (migration 2 failed (success = false))");
    v = gate("flyway>=2", {v1, v2_failed});
    CHECK_FALSE(v.ok);
    CHECK(v.message == "flyway at 1, need 2 (migration 2 failed (success = false))");
    CHECK_FALSE(gate("flyway>=3", {v1, v2_failed}).ok);
    // Repaired and re-run: the failed row is gone and a successful one follows.
    CHECK(gate("flyway>=2", {v1, {"2", "true", "SQL", "V2__backfill.sql"}}).ok);
    // Baseline at 5: every version up to 5 counts as applied.
    const std::vector<std::string> baseline{"5", "true", "BASELINE", "<< Flyway Baseline >>"};
    CHECK(gate("flyway>=3", {baseline}).ok);
    CHECK(gate("flyway>=5", {baseline}).ok);
    CHECK_FALSE(gate("flyway>=6", {baseline}).ok);
    // Repeatable migrations have no version: they gate nothing, a failed one is mentioned.
    v = gate("flyway>=1", {v1, {"\\N", "false", "SQL", "R__views.sql"}});
    CHECK(v.ok);
    CHECK(has(v.message, "repeatable R__views.sql failed"));
    // An undo (Teams) takes the version back out.
    CHECK_FALSE(gate("flyway>=1.10", {v1, v1_9, v1_10, {"1.10", "true", "UNDO_SQL", "U1_10__b.sql"}}).ok);
    CHECK(gate("flyway>=1.9", {v1, v1_9, v1_10, {"1.10", "true", "UNDO_SQL", "U1_10__b.sql"}}).ok);
    CHECK_FALSE(gate("flyway>=1", {}).ok);
}

TEST_CASE("migration rails: membership - a pending older-timestamp migration keeps its own gate down",
          "[migration]") {
    const std::vector<std::vector<std::string>> rows{{"20240101120000"}, {"20240301090000"}};
    CHECK(gate("rails>=20240101120000", rows).ok);
    CHECK(gate("rails=20240301090000", rows).ok);
    // 20240201000000 was merged late and is still pending: its own gate stays down...
    auto v = gate("rails>=20240201000000", rows);
    CHECK_FALSE(v.ok);
    CHECK(v.message == "rails migration 20240201000000 not applied, although newer 20240301090000 is "
                       "(pending out of order)");
    v = gate("rails>=20240401000000", rows);
    CHECK_FALSE(v.ok);
    CHECK(v.message == "rails migration 20240401000000 not applied (newest: 20240301090000)");
    CHECK(gate("rails>=20240101120000", {}).message == "rails migration 20240101120000 not applied (none applied)");
}

TEST_CASE("migration alembic: the head is the revision or a descendant - ancestry from the versions directory",
          "[migration]") {
    VersionsDir dir;
    dir.write("1111_create.py", revision_file("1111", "None"));
    dir.write("2222_expand.py", revision_file("2222", "'1111'", true));
    dir.write("sub/3333_backfill.py", revision_file("3333", "'2222'"));
    dir.write("__init__.py", "");
    dir.write("__pycache__/junk.py", revision_file("1111", "None"));  // ignored
    const auto graph = load_alembic_versions(dir.str());
    REQUIRE(graph.size() == 3);
    CHECK(graph.at("3333") == std::vector<std::string>{"2222"});
    CHECK(graph.at("1111").empty());

    for (const char* op : {">=", "="}) {
        const std::string g1 = std::string("alembic") + op + "1111";
        CHECK(gate(g1, {{"1111"}}, dir.str()).ok);
        CHECK(gate(g1, {{"2222"}}, dir.str()).ok);  // a descendant
        CHECK(gate(g1, {{"3333"}}, dir.str()).ok);
    }
    auto v = gate("alembic>=3333", {{"2222"}}, dir.str());
    CHECK_FALSE(v.ok);
    CHECK(v.message == "alembic at 2222, need 3333 or a descendant of it");
    // A head this task's directory does not hold came from a newer release.
    v = gate("alembic>=2222", {{"9999"}}, dir.str());
    CHECK(v.ok);
    CHECK(v.message == "alembic at 9999 (9999 is newer than this task's revisions)");
    CHECK_FALSE(gate("alembic>=1111", {}, dir.str()).ok);

    // Merges (a tuple down_revision, over lines) and depends_on.
    dir.write("4444_branch.py", revision_file("4444", "'1111'"));
    dir.write("5555_merge.py", revision_file("5555", "('3333',\n    '4444')"));
    dir.write("6666_dep.py", "revision = \"6666\"\ndown_revision = '1111'\ndepends_on = ['4444']\n");
    CHECK(gate("alembic>=3333", {{"5555"}}, dir.str()).ok);
    CHECK(gate("alembic>=4444", {{"5555"}}, dir.str()).ok);
    CHECK(gate("alembic>=4444", {{"6666"}}, dir.str()).ok);
    CHECK_FALSE(gate("alembic>=3333", {{"6666"}}, dir.str()).ok);
    // Two heads: either may carry the revision.
    CHECK(gate("alembic>=3333", {{"4444"}, {"3333"}}, dir.str()).ok);
}

TEST_CASE("migration alembic: a gate that cannot be evaluated soundly is refused", "[migration][errors]") {
    VersionsDir dir;
    dir.write("1111_create.py", revision_file("1111", "None"));
    CHECK_THROWS_WITH(load_migration("alembic>=1111", ""), Catch::Contains("set MIGRATION_DIR"));
    CHECK_THROWS_WITH(load_migration("alembic=7777", dir.str()), Catch::Contains("\"7777\" is not in"));
    CHECK_THROWS_WITH(load_migration("alembic>=1111", dir.str() + "/nope"), Catch::Contains("not a readable directory"));
    CHECK_THROWS_WITH(load_migration("golang-migrate>=1", dir.str()), Catch::Contains("for alembic gates only"));
    dir.write("2222_orphan.py", revision_file("2222", "'0000'"));
    CHECK_THROWS_WITH(load_migration("alembic>=1111", dir.str()), Catch::Contains("builds on \"0000\""));
    VersionsDir twice;
    twice.write("a.py", revision_file("1111", "None"));
    twice.write("b.py", revision_file("1111", "None"));
    CHECK_THROWS_WITH(load_migration("alembic>=1111", twice.str()), Catch::Contains("defined twice"));
    VersionsDir empty;
    CHECK_THROWS_WITH(load_migration("alembic>=1111", empty.str()), Catch::Contains("no alembic revision files"));

    // Through the configuration: one line naming the variable.
    Environment env{{"READYPROBE_CHECK_DB", "postgres://app@db/app"}, {"READYPROBE_CHECK_DB_MIGRATION", "alembic>=1111"}};
    CHECK_THROWS_WITH(load_settings(env), Catch::StartsWith("READYPROBE_CHECK_DB_MIGRATION: an alembic gate needs"));
    env["READYPROBE_CHECK_DB_MIGRATION_DIR"] = dir.str() + "/nope";
    CHECK_THROWS_WITH(load_settings(env), Catch::StartsWith("READYPROBE_CHECK_DB_MIGRATION_DIR: "));
    VersionsDir good;
    good.write("1111_create.py", revision_file("1111", "None"));
    env["READYPROBE_CHECK_DB_MIGRATION_DIR"] = good.str();
    const auto settings = load_settings(env);
    CHECK(settings.checks.at(0).migration_dir == good.str());
    CHECK(has(settings.to_json(), "\"migration_dir\""));
    Environment orphan{{"READYPROBE_CHECK_DB", "postgres://app@db/app"}, {"READYPROBE_CHECK_DB_MIGRATION_DIR", good.str()}};
    CHECK_THROWS_WITH(load_settings(orphan), Catch::StartsWith("READYPROBE_CHECK_DB_MIGRATION_DIR: is for alembic gates"));
}

TEST_CASE("migration django: membership per app - the hint names that app's newest migration", "[migration]") {
    // Rows: the app's names, oldest first (ORDER BY applied, id).
    const std::vector<std::vector<std::string>> orders{{"0001_initial"}, {"0002_customer"}};
    auto v = gate("django=orders.0002_customer", orders);
    CHECK(v.ok);
    CHECK(v.message == "django orders at 0002_customer");
    CHECK(gate("django=orders.0001_initial", orders).ok);
    v = gate("django=orders.0003_backfill", orders);
    CHECK_FALSE(v.ok);
    CHECK(v.message == "django migration orders.0003_backfill not applied (orders at 0002_customer)");
    v = gate("django=billing.0001_initial", {});
    CHECK(v.message == "django migration billing.0001_initial not applied (no billing migration applied)");
    CHECK(has(history_sql(load_migration("django=orders.0003_x", ""), "t"), "WHERE app = 'orders' ORDER BY applied, id"));
}

TEST_CASE("migration prisma: an unfinished row fails only the gate that needs it", "[migration]") {
    const std::vector<std::string> init{"20240101_init", "true", "false"};
    const std::vector<std::string> more_running{"20240201_more", "false", "false"};
    auto v = gate("prisma=20240101_init", {init, more_running});
    CHECK(v.ok);
    CHECK(v.message == "prisma 20240101_init applied (20240201_more running or failed)");
    v = gate("prisma=20240201_more", {init, more_running});
    CHECK_FALSE(v.ok);
    CHECK(v.message == "prisma migration 20240201_more running or failed (not finished)");
    // `prisma migrate resolve --rolled-back`, then deployed again.
    const std::vector<std::string> more_back{"20240201_more", "false", "true"};
    v = gate("prisma=20240201_more", {init, more_back});
    CHECK_FALSE(v.ok);
    CHECK(v.message == "prisma migration 20240201_more was rolled back");
    CHECK(gate("prisma=20240201_more", {init, more_back, {"20240201_more", "true", "false"}}).ok);
    v = gate("prisma=20240301_later", {init});
    CHECK(v.message == "prisma migration 20240301_later not applied (latest: 20240101_init)");
}

TEST_CASE("migration liquibase: id::author::file - MARK_RAN and FAILED said as they are", "[migration]") {
    const std::vector<std::string> a{"1", "alice", "db/orders.xml", "EXECUTED"};
    const std::vector<std::string> b{"1", "bob", "db/billing.xml", "EXECUTED"};
    CHECK(gate("liquibase=1::alice::db/orders.xml", {a, b}).ok);
    CHECK(gate("liquibase=1::alice", {a, b}).ok);
    // Same id, another author or file: not this changeset.
    auto v = gate("liquibase=1::alice::db/billing.xml", {a, b});
    CHECK_FALSE(v.ok);
    CHECK(v.message == "liquibase changeset 1::alice::db/billing.xml not applied (latest: 1::bob::db/billing.xml)");
    v = gate("liquibase=2::carol", {{"2", "carol", "db/x.xml", "MARK_RAN"}});
    CHECK(v.ok);
    CHECK(v.message == "liquibase 2::carol::db/x.xml MARK_RAN (recorded as run without running its changes)");
    v = gate("liquibase=3::carol", {{"3", "carol", "db/x.xml", "FAILED"}});
    CHECK_FALSE(v.ok);
    CHECK(v.message == "liquibase changeset 3::carol::db/x.xml is recorded as FAILED, not applied");
    CHECK(gate("liquibase=3::carol", {{"3", "carol", "db/x.xml", "RERAN"}}).ok);
    CHECK_THROWS_WITH(parse_migration("liquibase=create-orders"), Catch::Contains("id::author::file"));
    CHECK_THROWS_WITH(parse_migration("liquibase=a::b::c::d"), Catch::Contains("id::author::file"));
    CHECK_THROWS_WITH(parse_migration("liquibase=a::"), Catch::Contains("id::author::file"));
}

TEST_CASE("migration: the table's layout names the tool that wrote it", "[migration]") {
    const std::string gm = "version bigint, dirty boolean";
    const std::string ar = "version character varying";
    CHECK(layout_problem("golang-migrate", "public.schema_migrations", gm).empty());
    CHECK(layout_problem("rails", "public.schema_migrations", ar).empty());
    CHECK(layout_problem("rails", "s.schema_migrations", gm) ==
          "s.schema_migrations has golang-migrate's layout (version bigint, dirty boolean), not rails's: "
          "is MIGRATION naming the right tool?");
    CHECK(layout_problem("golang-migrate", "s.schema_migrations", ar) ==
          "s.schema_migrations has rails's layout (version character varying), not golang-migrate's: "
          "is MIGRATION naming the right tool?");
    CHECK(layout_problem("flyway", "t.flyway_schema_history", "id integer, note text") ==
          "t.flyway_schema_history does not have flyway's layout (columns: id integer, note text)");
    CHECK(layout_problem("alembic", "public.alembic_version", "version_num character varying(32)").empty());
    CHECK(layout_problem("django", "d", "id bigint, app character varying(255), name character varying(255), "
                                        "applied timestamp with time zone").empty());
    CHECK(layout_problem("prisma", "p", "id character varying(36), checksum character varying(64), finished_at "
                                        "timestamp with time zone, migration_name character varying(255), logs text, "
                                        "rolled_back_at timestamp with time zone, started_at timestamp with time zone, "
                                        "applied_steps_count integer").empty());
}

TEST_CASE("migration: SQL names the URL's schemas explicitly - no parameters", "[migration]") {
    const auto none = locate_history_sql("golang-migrate", {});
    CHECK(has(none, "to_regclass('\"schema_migrations\"')"));
    const auto two = locate_history_sql("rails", {"app", "we\"ird"});
    CHECK(has(two, "COALESCE(to_regclass('\"app\".\"schema_migrations\"'), "
                   "to_regclass('\"we\"\"ird\".\"schema_migrations\"'))"));
    for (const char* spec : {"golang-migrate>=1", "flyway>=1", "rails>=1", "django=a.b", "prisma=x", "liquibase=i::a"}) {
        const auto sql = history_sql(parse_migration(spec), "\"s\".\"t\"");
        CHECK(has(sql, "\"s\".\"t\""));
        CHECK_FALSE(has(sql, "$1"));
    }
    CHECK(has(history_sql(parse_migration("liquibase=it's::a"), "t"), "id = 'it''s'"));
    CHECK(has(history_sql(parse_migration("rails>=0042"), "t"), "= '42'"));
}

TEST_CASE("migration: parse errors", "[migration][errors]") {
    CHECK_THROWS_WITH(parse_migration("django>=orders.0001"), Catch::Contains("not ordered"));
    CHECK_THROWS_WITH(parse_migration("prisma>=x"), Catch::Contains("not ordered"));
    CHECK_THROWS_WITH(parse_migration("django=orders."), Catch::Contains("app.name"));
    CHECK_THROWS_WITH(parse_migration("rails>=2024a"), Catch::Contains("whole numbers"));
    CHECK_THROWS_WITH(parse_migration("alembic>=a b"), Catch::Contains("no spaces"));
    CHECK(parse_migration("alembic>=ae1027a6acf").at_least);
}

TEST_CASE("migration alembic: MIGRATION_DIR from the JSON file - the library refuses an unsound gate too",
          "[migration][errors]") {
    VersionsDir dir;
    dir.write("1111_create.py", revision_file("1111", "None"));
    dir.write("2222_more.py", revision_file("2222", "'1111'"));
    const std::string json = (dir.path / "readyprobe.json").string();
    std::ofstream(json) << R"({"checks": {"db": {"url": "postgres://app@db/app", "migration": "alembic>=1111", )"
                        << R"("migration_dir": ")" << dir.str() << R"("}}})";
    const auto settings = load_settings({{"READYPROBE_CONFIG", json}});
    REQUIRE(settings.checks.size() == 1);
    CHECK(settings.checks.at(0).migration_dir == dir.str());
    CHECK(make_check(settings.checks.at(0)) != nullptr);

    // Embedding without the configuration loader: make_check throws for a gate it cannot evaluate.
    CheckSpec spec = check_spec("db", "postgres://app@db/app");
    spec.migration = "alembic>=2222";
    CHECK_THROWS_AS(make_check(spec), std::invalid_argument);
    spec.migration_dir = dir.str();
    CHECK(make_check(spec) != nullptr);
}
