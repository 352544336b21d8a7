// The values that flow between the stages of the library:
//
//   configuration --CheckSpec--> checks --Result--> Prober --Snapshot--> render --> HTTP
//                  (Schedule)                (Deadline)                  (Details)
//
// Every stage includes this header; it includes none of theirs (only url.hpp, the parsed URL a
// CheckSpec holds), so include arrows point one way, downstream. Plain values, no behaviour beyond
// trivial accessors: no I/O, no parsing (config.hpp parses, checks.hpp builds checks from these).
#pragma once

#include <readyprobe/url.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace readyprobe {

// ---- time: the Prober owns it (prober.hpp); everything else is handed a Deadline
using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Duration = SteadyClock::duration;
// A check must return by this time point; the Prober enforces it if the check does not.
using Deadline = TimePoint;

inline long long to_ms(Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// ---- how the Prober runs one check (configuration -> Prober -> snapshot)
struct Schedule {
    Duration interval = std::chrono::seconds(2);
    // While a check is changing (a result disagrees with its status, before RISE/FALL) it runs
    // this often, so the thresholds are crossed in well under a second; while it is down it
    // retries from this, backing off (see snapshot.hpp's next_run_delay).
    Duration fast_interval = std::chrono::milliseconds(300);
    // The hard deadline of one run: the Prober turns it into the run's Deadline.
    Duration timeout = std::chrono::seconds(1);
    int rise = 1;  // consecutive passes to turn up
    int fall = 2;  // consecutive failures to turn down
    std::vector<std::string> groups{"ready", "startup"};
    bool critical = true;

    bool in_group(const std::string& group) const {
        return std::find(groups.begin(), groups.end(), group) != groups.end();
    }
};

// ---- what responses reveal (READYPROBE_DETAILS; configuration -> render)
enum class Details {
    none,    // status code and word only
    status,  // check names and up/down
    full,    // also latency and error text (secrets are never in it)
};

// ---- one configured check (configuration -> checks)
struct StatusRange {
    int lo;
    int hi;
};

namespace detail {
struct MigrationRequirement;  // a parsed MIGRATION gate (internal: src/checks/migration.hpp)
}

// The kind's options are filled in by the kind itself (src/checks/<kind>.cpp, listed in
// src/checks/registry.cpp); they are plain fields here so an application can set them in code.
struct CheckSpec {
    std::string name;  // lower-case
    std::string kind;  // postgres, redis, http, tcp, file
    Url url;           // password already overridden by PASSWORD
    Schedule schedule;
    // http:
    std::vector<StatusRange> expect{{200, 399}};  // EXPECT: the statuses that pass
    // redis:
    std::string ca_file;  // CA_FILE (rediss:// only): trusted instead of the system trust store
    // postgres:
    int pool = 0;                      // POOL: keep this many connections open and validated
    std::string migration;             // MIGRATION: "<tool>>=<version>" or "<tool>=<version>"
    std::string migration_dir;         // MIGRATION_DIR: the alembic versions directory (alembic gates)
    std::vector<std::string> require;  // REQUIRE: "table" or "table.column" that must exist
    std::string announce;              // ANNOUNCE: "<service>/<version>": keep a lease (lease.hpp)
    // MIGRATION as the configuration parsed and loaded it (alembic: with its revision graph), so
    // the check does not read it again. Used only while `migration` and `migration_dir` still say
    // what it was loaded from; an application that sets `migration` in code leaves it empty and
    // the check loads the gate itself.
    std::shared_ptr<const detail::MigrationRequirement> migration_gate;
};

}  // namespace readyprobe
