// `readyprobe guard`: run by the one-off migration task before it migrates
// (`readyprobe guard --drops orders.customer_name && migrate ...`). Refuses (exit 1) while a live
// lease (ANNOUNCE on a serving task's PostgreSQL check) requires something the migration drops
// (--drops), or, for a SQL file (--sql FILE [--apply]), something the file removes or a lock it
// would queue for (readyprobe/guard.hpp, shared with applications' own migration steps).
#include "commands.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/lease.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <iostream>
#include <thread>

namespace readyprobe::cli {
namespace {

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
}

// `--drops ''`: nothing is dropped, so no lease can object and none is read; the database is still
// reached once (the plain check's SELECT 1, none of its REQUIRE/MIGRATION/ANNOUNCE/POOL), so a
// wrong URL or password fails here, in the guard's log, as it would with a list.
int guard_drops_nothing(const CheckSpec& database, Duration bound) {
    CheckSpec plain = database;
    plain.pool = 0;
    plain.require.clear();
    plain.migration.clear();
    plain.migration_dir.clear();
    plain.migration_gate.reset();
    plain.announce.clear();
    const Result r = make_postgres_check(plain)->run(SteadyClock::now() + bound);
    if (!r.ok) {
        std::cerr << "readyprobe: guard: cannot reach the database at " << database.url.redacted() << ": "
                  << (r.timed_out ? Result::timeout(bound).message : r.message) << "\n";
        return kExitBadConfig;
    }
    std::cout << "guard: safe: the migration drops nothing" << std::endl;
    return 0;
}

}  // namespace

int guard(const CheckSpec& database, const std::vector<std::string>& drops, std::optional<Duration> wait) {
    const std::string what = join(drops);
    // One query's bound: the check's timeout, at least 5 s (a one-off task can afford it).
    const Duration per_query = std::max<Duration>(database.schedule.timeout, std::chrono::seconds(5));
    if (drops.empty()) return guard_drops_nothing(database, per_query);
    const TimePoint give_up = SteadyClock::now() + wait.value_or(Duration::zero());
    for (int round = 1;; ++round) {
        const LeaseQuery q = leases_requiring(database, drops, SteadyClock::now() + per_query);
        if (!q.ok) {
            std::cerr << "readyprobe: guard: cannot read the leases at " << database.url.redacted() << ": " << q.error
                      << "\n";
            return kExitBadConfig;
        }
        if (q.leases.empty()) {
            std::cout << "guard: safe: no live task requires " << what
                      << (q.no_table ? " (no task has announced here: no readyprobe.leases table)" : "") << std::endl;
            return 0;
        }
        const Duration left = give_up - SteadyClock::now();
        if (left <= Duration::zero()) {
            std::cout << "guard: refused: " << q.leases.size() << " live task(s) require what the migration drops"
                      << (wait ? " (waited " + format_duration(*wait) + ")" : "") << std::endl;
            for (const auto& l : q.leases) {
                std::cout << "guard:   " << l.service << "/" << l.version << " task " << l.task << " requires "
                          << join(l.needs) << std::endl;
            }
            return 1;
        }
        const Duration pause = std::min<Duration>(std::chrono::seconds(1), left);
        std::string who;
        for (const auto& l : q.leases) who += (who.empty() ? "" : ", ") + l.service + "/" + l.version + " (" + l.task + ")";
        std::cout << "guard: round " << round << ": waiting for " << who << " to drain or expire; "
                  << to_ms(left) / 1000 << " s left" << std::endl;
        std::this_thread::sleep_for(pause);
    }
}

int guard_file(const CheckSpec& database, const std::string& file, const SqlGuardOptions& options) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    if (!in || !(text << in.rdbuf())) {
        std::cerr << "readyprobe: --sql: cannot read " << file << "\n";
        return kExitBadConfig;
    }
    const SqlGuardResult r = guard_migration(database, text.str(), options,
                                             [](const std::string& line) { std::cout << line << std::endl; });
    if (r.outcome == SqlGuardResult::Outcome::failed) {
        std::cerr << "readyprobe: guard: " << file << ": " << r.error << "\n";
        return kExitBadConfig;
    }
    for (const auto& line : report_lines(r, file, options)) std::cout << line << std::endl;
    return exit_code(r);
}

}  // namespace readyprobe::cli
