// The migration guard for SQL-file migrations, shared by `readyprobe guard --sql FILE [--apply]` and
// an application's own migration step (examples/orders-service `migrate`): one code path, so the
// sidecar and an embedding application refuse the same migrations for the same reasons.
//
// What it does with a migration's SQL text, on one connection, in one transaction:
//   1. BEGIN; SET LOCAL lock_timeout, statement_timeout; snapshot which REQUIRE items of the live
//      leases exist; run the SQL. While it runs, a second connection watches it every 50 ms: once
//      it has waited for a table lock (pg_blocking_pids, a relation lock) for 150 ms, the
//      sessions holding that lock (a transaction on a table the migration alters that outlasts
//      that grace: the ones an ALTER would queue behind) are recorded and the statement is
//      cancelled, so queries on the table queue behind it for a moment, never for the holder's
//      lifetime -> refused ("locks"). (A shorter wait is a request's own short transaction:
//      normal under load. A transaction that holds nothing the migration needs never refuses it,
//      however old: a report running for an hour on another table does not block a deploy.);
//   2. the tables it locked (pg_locks of its own backend, AccessExclusiveLock), which REQUIRE items
//      no longer exist, and the live leases that need any of those -> refused ("leases");
//   3. COMMIT when `apply` and nothing refused it, else ROLLBACK (always without `apply`).
// With `wait`, a refused attempt is retried with backoff (0.5 s doubling, at most 5 s apart) until
// `wait` runs out. Works through PgBouncer transaction pooling (BEGIN ..
// COMMIT as separate Query messages stays on one server connection while the transaction is open;
// the watcher needs a second server connection, so a pool of at least 2).
#pragma once

#include <readyprobe/clock.hpp>
#include <readyprobe/config.hpp>
#include <readyprobe/lease.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace readyprobe {

struct SqlGuardOptions {
    bool apply = false;                                        // COMMIT when nothing refuses it
    std::optional<Duration> wait;                              // retry refused attempts this long
    Duration lock_timeout = std::chrono::seconds(2);           // SET LOCAL lock_timeout (backstop)
    Duration statement_timeout = std::chrono::seconds(60);     // SET LOCAL statement_timeout
};

// Another session the migration would queue behind.
struct Blocker {
    int pid = 0;
    std::string state;                 // pg_stat_activity.state: "idle in transaction", "active"
    long long xact_seconds = 0;        // how long its transaction has been open; -1 hidden (another
                                       // role's session, and we lack pg_read_all_stats)
    std::vector<std::string> tables;   // the tables it holds a lock on (that the migration needs)
    // "pid 4711 idle in transaction for 41 s holds a lock on orders"
    std::string describe() const;
};

struct SqlGuardResult {
    enum class Outcome { safe, applied, refused_leases, refused_locks, failed };
    Outcome outcome = Outcome::failed;
    std::string error;                  // failed: one line, secrets masked
    bool maybe_committed = false;       // failed: the COMMIT got no answer (connection lost), or
                                        // the SQL ended the transaction itself: it may be in
    std::vector<std::string> removed;   // REQUIRE items of live leases that the SQL removes
    std::vector<std::string> tables;    // tables the SQL takes an AccessExclusiveLock on
    std::vector<Lease> leases;          // refused_leases: the live leases needing `removed`
    std::vector<Blocker> blockers;      // refused_locks
    int attempts = 0;
};

// Runs the guard for `sql` against the database of `database` (a PostgreSQL check; its URL).
// `progress` gets one line per refused attempt that will be retried.
SqlGuardResult guard_migration(const CheckSpec& database, const std::string& sql, const SqlGuardOptions& options,
                         const std::function<void(const std::string&)>& progress = {});

// 0 safe or applied, 1 refused, 2 failed (bad SQL, unreachable database).
int exit_code(const SqlGuardResult& result);

// What to print on stdout ("guard: ..." lines; `what` names the migration, e.g. the file), for
// every outcome but failed (whose `error` goes to stderr).
std::vector<std::string> report_lines(const SqlGuardResult& result, const std::string& what,
                                      const SqlGuardOptions& options);

}  // namespace readyprobe
