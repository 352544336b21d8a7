// Migration gates (MIGRATION=<tool><op><version>) and required schema (REQUIRE=table.column,...):
// parsing, the SQL each needs and the verdict from what each tool really records. Internal; pure
// functions, so every tool's states are unit-tested without a server.
//
// A gate means "the migration this version needs has been applied, and nothing it needs is being
// undone". `>=` and `=` mean the same (there is no upper bound: a serving task is never taken out by
// a later migration starting, running, failing or finishing; what a contract migration removes is
// REQUIRE's job). Per tool:
//   golang-migrate  schema_migrations(version bigint, dirty boolean), one row. Clean at V: every
//                   version <= V is applied. Dirty at V: V is running or failed (an up migration)
//                   or V+1 is being undone (a down one): every version < V is applied, V is not.
//   flyway          flyway_schema_history: version N is applied when a successful row records N, or
//                   N is not a recorded migration and a successful (or BASELINE) version >= N is. A
//                   failed row (success = false) at N: N is not applied. Repeatable rows (no
//                   version) gate nothing.
//   rails           schema_migrations(version varchar): the named version itself is listed.
//   alembic         alembic_version(version_num): a head is the named revision or a descendant of
//                   it; the ancestry comes from the alembic versions directory (MIGRATION_DIR). A
//                   head this task's directory does not know was written by a newer release: it
//                   counts as a descendant of every revision the task knows.
//   django          django_migrations(app, name): app.name is listed.
//   prisma          _prisma_migrations: a row for the name, finished and not rolled back.
//   liquibase       databasechangelog: a changeset `id::author::file` (or `id::author`, any file)
//                   with exectype EXECUTED, RERAN or MARK_RAN (said in the detail).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace readyprobe::detail {

struct MigrationRequirement {
    std::string tool;     // flyway, golang-migrate, alembic, django, rails, prisma, liquibase
    bool at_least = true; // ">=" (true) or "=" (false): the same meaning, kept for messages
    std::string version;  // liquibase: id::author[::file]; django: app.name
    // alembic only: revision -> the revisions it builds on (down_revision and depends_on).
    std::map<std::string, std::vector<std::string>> alembic_parents;
    std::string alembic_dir;  // where the ancestry was read, for messages
    // What load_migration() read: the MIGRATION text and MIGRATION_DIR (CheckSpec::migration_gate).
    std::string loaded_text;
    std::string loaded_dir;
};

// Syntax only. Throws std::invalid_argument with a message for the operator.
MigrationRequirement parse_migration(const std::string& text);

// Parses and completes a requirement with what evaluating it soundly needs: for alembic, the
// revision graph read from `dir` (the alembic versions directory), in which the named revision
// must appear. `dir` for any other tool is an error. Throws std::invalid_argument.
MigrationRequirement load_migration(const std::string& text, const std::string& dir);

// One alembic revision file: its revision and the revisions it builds on (down_revision, a tuple
// for a merge, plus depends_on). Empty revision when the text has none.
struct AlembicRevision {
    std::string revision;
    std::vector<std::string> parents;
};
AlembicRevision parse_alembic_revision(const std::string& python_source);
// Every *.py file under `dir` (recursively, as alembic's recursive_version_locations allows).
// Throws std::invalid_argument (unreadable directory, duplicate revision, a parent not found).
std::map<std::string, std::vector<std::string>> load_alembic_versions(const std::string& dir);

// Compares dotted version strings numerically ("1.10" > "1.9"; "2" == "2.0"); non-numeric
// parts compare as text. Returns <0, 0, >0.
int compare_versions(const std::string& a, const std::string& b);

// The table a tool records its history in.
std::string migration_table(const std::string& tool);

// Step 1: finds the history table in the given schemas (in order; none: the server's default
// search_path) and lists its columns. One row: the schema-qualified, quoted table name (NULL when
// there is none) and its columns as "name type, name type".
std::string locate_history_sql(const std::string& tool, const std::vector<std::string>& schemas);
// Empty when `columns` (as above) is the tool's layout; otherwise one line saying which layout was
// found ("schema_migrations has golang-migrate's layout (version bigint, dirty boolean), not rails'").
std::string layout_problem(const std::string& tool, const std::string& table, const std::string& columns);

// Step 2: the rows of the history (no parameters), reading the table found in step 1.
std::string history_sql(const MigrationRequirement& req, const std::string& qualified_table);

// Rows of history_sql -> the verdict. Each row is the query's columns as text ("" for NULL, with
// `nulls` marking them).
struct Row {
    std::vector<std::string> values;
    std::vector<bool> nulls;
};
struct MigrationVerdict {
    bool ok = false;
    std::string message;  // ok: the detail ("golang-migrate at 3"); otherwise why not
};
MigrationVerdict evaluate_migration(const MigrationRequirement& req, const std::vector<Row>& rows);

// REQUIRE items: "table" or "table.column" (letters, digits, _). Throws std::invalid_argument.
std::vector<std::string> parse_require(const std::string& text);

}  // namespace readyprobe::detail
