// Migration-version requirements (MIGRATION=<tool><op><version>) and required schema
// (REQUIRE=table.column,...): parsing, and the SQL each needs. Internal.
#pragma once

#include <string>
#include <vector>

namespace readyprobe::detail {

struct MigrationRequirement {
    std::string tool;     // flyway, golang-migrate, alembic, django, rails, prisma, liquibase
    bool at_least = true; // ">=" (true) or "=" (false)
    std::string version;
};

// Throws std::invalid_argument with a message for the operator.
MigrationRequirement parse_migration(const std::string& text);

// Compares dotted version strings numerically ("1.10" > "1.9"; "2" == "2.0"); non-numeric
// parts compare as text. Returns <0, 0, >0.
int compare_versions(const std::string& a, const std::string& b);

// The query for a tool (no parameters), and the table it reads.
struct MigrationQuery {
    std::string table;
    std::string sql;
};
MigrationQuery migration_query(const MigrationRequirement& req);

// Rows of the query above -> empty when satisfied, otherwise why not ("at 3, need >= 4").
// Each row is the query's columns as text ("" for NULL, with `nulls` marking them).
struct Row {
    std::vector<std::string> values;
    std::vector<bool> nulls;
};
std::string evaluate_migration(const MigrationRequirement& req, const std::vector<Row>& rows,
                               std::string& current);

// REQUIRE items: "table" or "table.column" (letters, digits, _). Throws std::invalid_argument.
std::vector<std::string> parse_require(const std::string& text);
// One query, parameter $1 the items as a text[] literal; returns the missing ones in order.
extern const char* const kRequireSql;
std::string require_array_literal(const std::vector<std::string>& items);

}  // namespace readyprobe::detail
