// Leases: what each serving task needs from the schema (ANNOUNCE on a PostgreSQL check), read
// before a migration by `readyprobe guard` or an application's own migration step.
#pragma once

#include <readyprobe/check.hpp>
#include <readyprobe/spec.hpp>

#include <string>
#include <vector>

namespace readyprobe {

// One live lease that needs something a migration would drop.
struct Lease {
    std::string service;
    std::string version;
    std::string task;               // ECS task ARN, or host:pid
    std::vector<std::string> needs;  // the dropped items in its REQUIRE list
};

struct LeaseQuery {
    bool ok = false;     // false: the database could not be asked (error says why, secrets masked)
    std::string error;
    bool no_table = false;  // no lease table: no task has ever announced here
    std::vector<Lease> leases;
};

// "table.column,table,...": what a migration drops. Throws std::invalid_argument.
std::vector<std::string> parse_drops(const std::string& text);

// The unexpired leases in the database of `database` (a PostgreSQL check) whose REQUIRE list holds
// any of `drops` (a table covers its columns), ordered by service, version, task. One statement,
// bounded by `deadline`; works through PgBouncer and RDS Proxy like the check itself.
LeaseQuery leases_requiring(const CheckSpec& database, const std::vector<std::string>& drops, Deadline deadline);

}  // namespace readyprobe
