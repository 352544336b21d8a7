// The migration guard for SQL text (readyprobe/guard.hpp). Its own libpq connections, not the
// check's Session: it needs a transaction across several messages and a second connection that
// watches the first, which the check never does. Each message is still one simple-protocol Query
// (no prepared statements, no session SET: only SET LOCAL inside its own transaction), so it runs
// through PgBouncer transaction pooling and RDS Proxy like the check.
#include <readyprobe/guard.hpp>

#include "checks/io.hpp"
#include "checks/pg_session.hpp"
#include "checks/lease.hpp"
#include "checks/sql.hpp"
#include "guard_text.hpp"

#include <readyprobe/secret.hpp>
#include <readyprobe/url.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <thread>

namespace readyprobe {
namespace {

using Conn = detail::pg::PgConn;
using Res = detail::pg::PgResult;

constexpr auto kTick = std::chrono::milliseconds(50);
constexpr auto kLockGrace = std::chrono::milliseconds(150);

std::string join(const std::vector<std::string>& items, const char* sep = ",") {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
    return out;
}

std::string ms_literal(Duration d) { return "'" + std::to_string(std::max(1LL, to_ms(d))) + "ms'"; }

// libpq's keywords for the URL, as the check sends them (nothing a pooler refuses), and a
// blocking connect bounded by libpq's connect_timeout (whole seconds, at least 2).
Conn connect(const CheckSpec& spec, Duration timeout, std::string& error) {
    detail::pg::ConnectParams params(spec, "readyprobe guard");
    const std::string connect_timeout = std::to_string(std::max(2LL, (to_ms(timeout) + 999) / 1000));
    std::vector<const char*> keys = params.keys;
    std::vector<const char*> values = params.values;
    keys.insert(keys.end() - 1, "connect_timeout");
    values.insert(values.end() - 1, connect_timeout.c_str());
    Conn c(PQconnectdbParams(keys.data(), values.data(), 0));
    if (!c || PQstatus(c.get()) != CONNECTION_OK) {
        error = detail::pg::simplify(c ? PQerrorMessage(c.get()) : "out of memory");
        return nullptr;
    }
    return c;
}

struct Reply {
    bool ok = false;
    bool timed_out = false;
    std::string sqlstate;
    std::string error;
    std::vector<std::vector<std::string>> rows;  // of the last result that had rows
};

// Sends `sql` (one Query message, maybe several statements) and reads every result, polling the
// socket until `deadline`; `tick` runs every kTick while the reply is outstanding.
Reply exec(PGconn* c, const std::string& sql, TimePoint deadline, const std::function<void()>& tick = {}) {
    Reply out;
    if (!PQsendQuery(c, sql.c_str())) {
        out.error = detail::first_line(PQerrorMessage(c));
        return out;
    }
    const int fd = PQsocket(c);
    TimePoint next_tick = SteadyClock::now() + kTick;
    for (;;) {
        const int flush = PQflush(c);  // 1: more to send, 0: all sent, -1: failed
        if (flush < 0 || (flush == 0 && !PQisBusy(c))) break;
        TimePoint now = SteadyClock::now();
        if (now >= deadline) {
            out.timed_out = true;
            out.error = "no reply in time";
            return out;
        }
        if (tick && now >= next_tick) {
            tick();
            now = SteadyClock::now();
            next_tick = now + kTick;
        }
        // Writable only matters while there is something left to send: a connected socket is
        // almost always writable, and asking for it would turn this wait into a busy loop.
        pollfd p{fd, static_cast<short>(flush == 1 ? (POLLIN | POLLOUT) : POLLIN), 0};
        const TimePoint wake = tick ? std::min(deadline, next_tick) : deadline;
        const int wait_ms = static_cast<int>(std::max<long long>(1, to_ms(wake - now)));
        if (::poll(&p, 1, wait_ms) < 0 && errno != EINTR) break;
        if (!PQconsumeInput(c)) break;
    }
    out.ok = true;
    while (PGresult* raw = PQgetResult(c)) {
        Res r(raw);
        const auto st = PQresultStatus(r.get());
        if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR) {
            if (out.ok) {
                out.ok = false;
                const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
                out.sqlstate = state ? state : "";
                const char* primary = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY);
                out.error = primary ? primary : detail::first_line(PQresultErrorMessage(r.get()));
            }
        } else if (st == PGRES_TUPLES_OK) {
            out.rows.clear();
            for (int i = 0; i < PQntuples(r.get()); ++i) {
                std::vector<std::string> row;
                for (int j = 0; j < PQnfields(r.get()); ++j) row.emplace_back(PQgetvalue(r.get(), i, j));
                out.rows.push_back(std::move(row));
            }
        } else if (st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY) {
            if (out.ok) {
                out.ok = false;
                out.error = "unexpected reply (" + std::string(PQresStatus(st)) + ")";
            }
        }
    }
    if (out.ok && PQstatus(c) != CONNECTION_OK) {
        out.ok = false;
        out.error = detail::first_line(PQerrorMessage(c));
    }
    if (!out.ok && out.error.empty()) out.error = detail::first_line(PQerrorMessage(c));
    if (out.error.empty() && !out.ok) out.error = "connection lost";
    return out;
}

// Which of the live leases' REQUIRE items exist now (table: to_regclass; column: pg_attribute).
const char* kExistingItems =
    "SELECT r.item FROM (SELECT DISTINCT unnest(require) AS item FROM readyprobe.leases WHERE expires_at > now()) r "
    "WHERE CASE WHEN position('.' in r.item) = 0 THEN to_regclass(quote_ident(r.item)) IS NOT NULL ELSE EXISTS "
    "(SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(quote_ident(split_part(r.item, '.', 1))) AND "
    "a.attname = split_part(r.item, '.', 2) AND a.attnum > 0 AND NOT a.attisdropped) END ORDER BY r.item";

// What the SQL locked exclusively: the tables it alters, drops or rewrites.
const char* kLockedTables =
    "SELECT DISTINCT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = "
    "pg_backend_pid() AND l.locktype = 'relation' AND l.granted AND l.mode = 'AccessExclusiveLock' AND c.relkind IN "
    "('r', 'p') ORDER BY 1";

std::string blocker_columns(const std::string& relations) {
    // Another role's state and xact_start read NULL without pg_read_all_stats: age -1, state ''.
    return "a.pid, coalesce(a.state, ''), coalesce(floor(extract(epoch FROM now() - a.xact_start))::bigint, -1), "
           "coalesce((SELECT string_agg(DISTINCT c.relname, ',') FROM pg_locks l JOIN pg_class c ON c.oid = "
           "l.relation WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation' AND c.relkind IN ('r', 'p') AND "
           "c.relnamespace <> 'pg_catalog'::regnamespace" + relations + "), '')";
}

// Sessions holding the lock that backend `pid` waits for.
std::string blockers_sql(int pid) {
    const std::string p = std::to_string(pid);
    return "SELECT " +
           blocker_columns(" AND l.relation IN (SELECT w.relation FROM pg_locks w WHERE w.pid = " + p +
                           " AND NOT w.granted AND w.locktype = 'relation')") +
           " FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids(" + p + ")) AND EXISTS (SELECT 1 FROM "
           "pg_locks w WHERE w.pid = " + p + " AND NOT w.granted AND w.locktype = 'relation') ORDER BY a.pid";
}

std::vector<Blocker> blockers_of(const Reply& r) {
    std::vector<Blocker> out;
    for (const auto& row : r.rows) {
        Blocker b;
        b.pid = std::atoi(row.at(0).c_str());
        b.state = row.at(1);
        b.xact_seconds = std::atoll(row.at(2).c_str());
        b.tables = detail::split_schemas(row.at(3));
        out.push_back(std::move(b));
    }
    return out;
}

// The migration itself, watched from `watch`: on the first sign of a lock wait, name the holders
// (`seen`) and cancel (`cancelled`). A wait behind a request's millisecond transaction is normal
// under load: only one that lasts kLockGrace (seen at consecutive ticks) means a long holder.
Reply run_watched(const CheckSpec& spec, PGconn* work, Conn& watch, int pid, const std::string& sql,
                  TimePoint deadline, std::vector<Blocker>& seen, bool& cancelled) {
    std::optional<TimePoint> waiting_since;
    const TimePoint started = SteadyClock::now();
    auto tick = [&] {
        if (cancelled || SteadyClock::now() - started < kTick) return;
        Reply b = exec(watch.get(), blockers_sql(pid), SteadyClock::now() + std::chrono::seconds(5));
        if (b.timed_out || PQstatus(watch.get()) != CONNECTION_OK) {
            // A watch query left outstanding (or a broken connection) would refuse every later
            // one: watch on a new connection from the next tick (lock_timeout bounds the wait
            // meanwhile).
            std::string ignored;
            if (Conn fresh = connect(spec, std::chrono::seconds(5), ignored)) watch = std::move(fresh);
        }
        if (!b.ok || b.rows.empty()) {
            waiting_since.reset();
            return;
        }
        if (!waiting_since) waiting_since = SteadyClock::now();
        seen = blockers_of(b);
        if (SteadyClock::now() - *waiting_since < kLockGrace) return;
        if (std::unique_ptr<PGcancel, void (*)(PGcancel*)> cancel{PQgetCancel(work), PQfreeCancel}) {
            char buf[256];
            PQcancel(cancel.get(), buf, sizeof buf);
        }
        cancelled = true;
    };
    return exec(work, sql, deadline, tick);
}

// Polls (every 250 ms, from one connection) until none of `blockers` holds a lock on the tables
// it was named for, or `give_up`. Any error ends the wait early (the next attempt finds out).
void wait_for_blockers(const CheckSpec& spec, const std::vector<Blocker>& blockers, TimePoint give_up) {
    std::string pids;
    std::string tables;
    for (const auto& b : blockers) {
        pids += (pids.empty() ? "" : ",") + std::to_string(b.pid);
        for (const auto& t : b.tables) tables += (tables.empty() ? "" : ",") + detail::sql_literal(t);
    }
    const std::string sql = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.granted AND "
                            "l.locktype = 'relation' AND l.pid IN (" + pids + ")" +
                            (tables.empty() ? "" : " AND c.relname IN (" + tables + ")");
    std::string error;
    Conn c = connect(spec, std::chrono::seconds(10), error);
    if (!c) return;
    for (;;) {
        const TimePoint now = SteadyClock::now();
        if (now >= give_up) return;
        std::this_thread::sleep_for(std::min<Duration>(std::chrono::milliseconds(250), give_up - now));
        const Reply r = exec(c.get(), sql, SteadyClock::now() + std::chrono::seconds(5));
        if (!r.ok || r.rows.empty() || r.rows[0].at(0) == "0") return;
    }
}

// One attempt. Fills `out` and returns true when it is final (safe, applied, failed, or refused
// with no point in retrying); a refused attempt that may pass later returns false.
// (Longer than most functions here on purpose: it is the one transaction's life, BEGIN to
// COMMIT/ROLLBACK, as numbered steps; every failure path must end that transaction.)
bool attempt(const CheckSpec& spec, const std::string& sql, const SqlGuardOptions& o, SqlGuardResult& out) {
    const int number = out.attempts + 1;
    out = SqlGuardResult{};
    out.attempts = number;
    const Duration bound = o.statement_timeout + std::chrono::seconds(5);
    std::string error;
    Conn work = connect(spec, std::chrono::seconds(10), error);
    if (!work) {
        out.outcome = SqlGuardResult::Outcome::failed;
        out.error = "cannot connect to " + spec.url.redacted() + ": " + error;
        return true;
    }
    Conn watch = connect(spec, std::chrono::seconds(10), error);
    if (!watch) {
        out.outcome = SqlGuardResult::Outcome::failed;
        out.error = "cannot open a second connection to " + spec.url.redacted() + ": " + error;
        return true;
    }
    auto fail = [&](const std::string& what, const Reply& r) {
        out.outcome = SqlGuardResult::Outcome::failed;
        out.error = what + ": " + r.error;
        exec(work.get(), "ROLLBACK", SteadyClock::now() + std::chrono::seconds(5));
        return true;
    };
    auto deadline = [&] { return SteadyClock::now() + bound; };

    // 1. The transaction.
    Reply has_leases = exec(work.get(), "SELECT to_regclass('readyprobe.leases') IS NOT NULL", deadline());
    if (!has_leases.ok) return fail("reading the leases", has_leases);
    const bool leases_table = !has_leases.rows.empty() && has_leases.rows[0].at(0) == "t";
    Reply begin = exec(work.get(),
                       "BEGIN; SET LOCAL lock_timeout = " + ms_literal(o.lock_timeout) +
                           "; SET LOCAL statement_timeout = " + ms_literal(o.statement_timeout) +
                           "; SELECT pg_backend_pid()",
                       deadline());
    if (!begin.ok || begin.rows.empty()) return fail("starting the transaction", begin);
    const int pid = std::atoi(begin.rows[0].at(0).c_str());
    std::vector<std::string> before;
    if (leases_table) {
        Reply r = exec(work.get(), kExistingItems, deadline());
        if (!r.ok) return fail("reading the leases", r);
        for (const auto& row : r.rows) before.push_back(row.at(0));
    }

    std::vector<Blocker> seen;
    bool cancelled = false;
    Reply run = run_watched(spec, work.get(), watch, pid, sql, deadline(), seen, cancelled);
    if (!run.ok) {
        // 55P03 lock_not_available (lock_timeout); 57014 query_canceled (ours, or statement_timeout).
        const bool lock_wait = run.sqlstate == "55P03" || (cancelled && run.sqlstate == "57014");
        if (lock_wait) {
            exec(work.get(), "ROLLBACK", SteadyClock::now() + std::chrono::seconds(5));
            out.outcome = SqlGuardResult::Outcome::refused_locks;
            out.blockers = seen;
            return false;
        }
        if (run.timed_out) run.error = "no reply within " + format_duration(bound);
        return fail("the migration failed", run);
    }
    if (PQtransactionStatus(work.get()) != PQTRANS_INTRANS) {
        // Cannot happen after the transaction_control() check, unless the server disagrees with it.
        out.outcome = SqlGuardResult::Outcome::failed;
        out.maybe_committed = true;
        out.error = "the migration ended the guard's transaction itself (it may have committed)";
        return true;
    }
    Reply locked = exec(work.get(), kLockedTables, deadline());
    if (!locked.ok) return fail("reading pg_locks", locked);
    for (const auto& row : locked.rows) out.tables.push_back(row.at(0));

    // 2. What it removed that a live lease requires.
    if (leases_table && !before.empty()) {
        Reply r = exec(work.get(), kExistingItems, deadline());
        if (!r.ok) return fail("reading the leases after the migration", r);
        std::set<std::string> after;
        for (const auto& row : r.rows) after.insert(row.at(0));
        for (const auto& item : before) {
            if (!after.count(item)) out.removed.push_back(item);
        }
    }
    if (!out.removed.empty()) {
        Reply r = exec(work.get(), detail::guard_sql(out.removed), deadline());
        if (!r.ok) return fail("reading the leases", r);
        for (const auto& row : r.rows) {
            out.leases.push_back(Lease{row.at(0), row.at(1), row.at(2), detail::split_schemas(row.at(3))});
        }
    }
    const bool refused = !out.leases.empty();
    const bool commit = o.apply && !refused;
    Reply end = exec(work.get(), commit ? "COMMIT" : "ROLLBACK", deadline());
    if (!end.ok && commit && end.sqlstate.empty()) {
        // No answer to the COMMIT (connection lost, no reply in time): it may have happened.
        out.maybe_committed = true;
        return fail("COMMIT (whether it was committed is unknown)", end);
    }
    if (!end.ok) return fail(commit ? "COMMIT" : "ROLLBACK", end);
    if (refused) {
        out.outcome = SqlGuardResult::Outcome::refused_leases;
        return false;
    }
    out.outcome = commit ? SqlGuardResult::Outcome::applied : SqlGuardResult::Outcome::safe;
    return true;
}

}  // namespace


std::string Blocker::describe() const {
    std::string out = "pid " + std::to_string(pid);
    if (state.empty() && xact_seconds < 0) {
        out += " (another role's session: its state and age need pg_read_all_stats)";
    } else {
        out += " " + (state.empty() ? std::string("in a transaction") : state) + " for " +
               std::to_string(std::max(0LL, xact_seconds)) + " s";
    }
    if (!tables.empty()) out += " holds a lock on " + join(tables, ", ");
    else out += " (holds no lock on a table)";
    return out;
}

SqlGuardResult guard_migration(const CheckSpec& database, const std::string& sql, const SqlGuardOptions& options,
                               const std::function<void(const std::string&)>& progress) {
    SqlGuardResult out;
    if (database.kind != "postgres") {
        out.error = "not a PostgreSQL database";
        return out;
    }
    if (const std::string word = detail::transaction_control(sql); word == detail::kUnclosedAtomic) {
        out.error = "the migration has a BEGIN ATOMIC body without its END";
        return out;
    } else if (!word.empty()) {
        out.error = "the migration has its own " + word +
                    ": give the statements alone (the guard runs them in its own transaction)";
        return out;
    }
    const TimePoint give_up = SteadyClock::now() + options.wait.value_or(Duration::zero());
    Duration pause = std::chrono::milliseconds(500);
    for (;;) {
        const bool final = attempt(database, sql, options, out);
        out.error = mask(out.error, database.url.secrets());
        if (final) return out;
        const Duration left = give_up - SteadyClock::now();
        if (!options.wait || left <= Duration::zero()) return out;
        if (progress) {
            std::string why;
            if (out.outcome == SqlGuardResult::Outcome::refused_leases) {
                for (const auto& l : out.leases) {
                    why += (why.empty() ? "" : ", ") + l.service + "/" + l.version + " (" + l.task + ")";
                }
                why = "waiting for " + why + " to drain or expire";
            } else {
                for (const auto& b : out.blockers) why += (why.empty() ? "" : "; ") + b.describe();
                why = "waiting for " + (why.empty() ? std::string("a lock") : why);
            }
            progress("guard: attempt " + std::to_string(out.attempts) + ": " + why + "; " +
                     std::to_string(to_ms(left) / 1000) + " s left");
        }
        if (out.outcome == SqlGuardResult::Outcome::refused_locks && !out.blockers.empty()) {
            // Try again only once those sessions let go: each attempt queues the migration's lock
            // (and the table's traffic behind it) for the watcher's grace, so retrying on a timer
            // would stall the table again and again while the same session holds on.
            wait_for_blockers(database, out.blockers, give_up);
        } else {
            std::this_thread::sleep_for(std::min(pause, left));
            pause = std::min<Duration>(pause * 2, std::chrono::seconds(5));
        }
    }
}

int exit_code(const SqlGuardResult& result) {
    switch (result.outcome) {
        case SqlGuardResult::Outcome::safe:
        case SqlGuardResult::Outcome::applied:
            return 0;
        case SqlGuardResult::Outcome::refused_leases:
        case SqlGuardResult::Outcome::refused_locks:
            return 1;
        case SqlGuardResult::Outcome::failed:
            break;
    }
    return 2;
}

std::vector<std::string> report_lines(const SqlGuardResult& r, const std::string& what, const SqlGuardOptions& o) {
    std::vector<std::string> out;
    const std::string waited = o.wait ? " (waited " + format_duration(*o.wait) + ")" : "";
    const std::string removes = r.removed.empty() ? "nothing a live task requires" : join(r.removed);
    const std::string locks = r.tables.empty() ? "" : "; locks " + join(r.tables);
    switch (r.outcome) {
        case SqlGuardResult::Outcome::safe:
            out.push_back("guard: safe: no live task requires what " + what + " removes (" + removes + locks +
                          "); rolled back" + (o.apply ? "" : ", run with --apply to commit it"));
            break;
        case SqlGuardResult::Outcome::applied:
            out.push_back("guard: applied " + what + " (removes " + removes + locks + ")");
            break;
        case SqlGuardResult::Outcome::refused_leases:
            out.push_back("guard: refused: " + std::to_string(r.leases.size()) + " live task(s) require what " +
                          what + " removes (" + join(r.removed) + ")" + waited + "; rolled back");
            for (const auto& l : r.leases) {
                out.push_back("guard:   " + l.service + "/" + l.version + " task " + l.task + " requires " +
                              join(l.needs));
            }
            break;
        case SqlGuardResult::Outcome::refused_locks:
            out.push_back("guard: refused: " + what + " would queue for a lock behind " +
                          (r.blockers.empty() ? std::string("another session (lock_timeout " +
                                                            format_duration(o.lock_timeout) + ")")
                                              : std::to_string(r.blockers.size()) + " session(s)") +
                          waited + "; rolled back");
            for (const auto& b : r.blockers) out.push_back("guard:   " + b.describe());
            break;
        case SqlGuardResult::Outcome::failed:
            break;
    }
    return out;
}

}  // namespace readyprobe
