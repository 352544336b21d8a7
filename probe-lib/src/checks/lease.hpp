// Leases (ANNOUNCE): what a serving task needs, kept in readyprobe.leases for `readyprobe guard`.
// The SQL text for the lease table; each statement is one simple-protocol Query message sent by
// the PostgreSQL check with its `SET LOCAL statement_timeout` prefix (postgres.cpp), so it works
// through PgBouncer transaction pooling and RDS Proxy: no session state, values quoted inline
// with sql_literal (no $n parameters). Internal.
#pragma once

#include "sql.hpp"

#include <readyprobe/check.hpp>

#include <string>
#include <vector>

namespace readyprobe::detail {

struct Announce {
    std::string service;
    std::string version;
};

// "<service>/<version>", each letters, digits, '-', '_' or '.'. Throws std::invalid_argument.
Announce parse_announce(const std::string& text);

// The statements that create the table when it is missing, in order (run only when an upsert
// found no table: CREATE SCHEMA needs the CREATE privilege even when the schema exists).
std::vector<std::string> lease_schema_sql();

// One renewal: insert or refresh this task's row; expires `ttl_ms` after the server's now().
std::string lease_upsert_sql(const std::string& task, const Announce& announce,
                             const std::vector<std::string>& require, long long ttl_ms);

// The drain is complete: the row goes.
std::string lease_delete_sql(const std::string& task);

// Live (unexpired) leases whose require list holds any of `drops` ("table.column" or "table";
// a table covers its columns): service, version, task, and the dropped items it needs (comma list).
std::string guard_sql(const std::vector<std::string>& drops);

// SQLSTATEs meaning "no lease table yet": undefined_table, invalid_schema_name.
inline bool no_lease_table(const std::string& sqlstate) { return sqlstate == "42P01" || sqlstate == "3F000"; }

// This task's identity: the ECS task ARN from $ECS_CONTAINER_METADATA_URI_V4/task when that is
// set and answers by `deadline`, else "<hostname>:<pid>". `metadata_uri` is the variable's value.
std::string task_identity(const std::string& metadata_uri, Deadline deadline);

}  // namespace readyprobe::detail
