// PostgreSQL: SELECT 1 over libpq's non-blocking API on one connection, or on a pool of N kept
// connections (POOL), then optionally the migration gate (MIGRATION) and the required schema
// (REQUIRE). Every socket wait is bounded by the run's deadline, so a hung server is a timeout,
// never a hang. Connections are reused between runs; any failure drops the connection it hit.
//
// Works unchanged through PgBouncer (session and transaction pooling, default settings) and RDS
// Proxy, whose documented restrictions rule out three habits of direct clients:
//   - no startup `options` (PgBouncer: "unsupported startup parameter: options"; RDS Proxy:
//     "doesn't support command-line options"): only libpq's ordinary keywords are sent;
//   - no session state that would leak to the next client of a pooled server connection: no SET,
//     no search_path; `?search_path=` is honoured by naming its schemas in the reads (sql.hpp);
//   - no named prepared statements: each statement is one simple-protocol Query message.
// The server-side bound that `options=-c statement_timeout` used to give is kept, transaction-
// scoped: each Query message is `SET LOCAL statement_timeout = <time left>; <statement>`, which
// PostgreSQL runs as one implicit transaction, so the setting ends with it (nothing leaks through
// a pooler) and a statement still running at our deadline is cancelled by the server itself.
// PQcancel was the alternative, but it blocks until the server closes the cancel connection,
// which against a SIGSTOPped server is forever; the client side bound is our own poll() anyway.
#include "io.hpp"
#include "lease.hpp"
#include "migration.hpp"
#include "pg_session.hpp"
#include "sql.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/lease.hpp>

#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

namespace readyprobe {
namespace {

using namespace detail::pg;

const char* const kNoReply =
    "connected, no reply: the server is stuck, or a pooler has no free server connection";
// A login the deadline interrupted is continued by the next run (pg_session.hpp,
// Session::abandon_on_timeout says why).
const char* const kLoginPending = "login in progress: the next run continues it";

// REQUIRE's one query: the items ("table" or "table.column") that do not exist, in order.
// A table is looked up in the schemas of `?search_path=` in order (`$user` is the role's own),
// or through the server's search_path when none is given: never by setting search_path.
std::string require_sql(const std::vector<std::string>& items, const std::vector<std::string>& schemas) {
    auto array = [](const std::vector<std::string>& v) {
        std::string out = "ARRAY[";
        for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + detail::sql_literal(v[i]);
        return out + "]::text[]";
    };
    const std::string table = "split_part(r.item, '.', 1)";
    std::string rel = "to_regclass(quote_ident(" + table + "))";
    if (!schemas.empty()) {
        const std::string qualified =
            "to_regclass(quote_ident(CASE WHEN s.name = '$user' THEN current_user::text ELSE s.name END) || '.' || "
            "quote_ident(" + table + "))";
        rel = "(SELECT " + qualified + " FROM unnest(" + array(schemas) + ") WITH ORDINALITY AS s(name, k) WHERE " +
              qualified + " IS NOT NULL ORDER BY s.k LIMIT 1)";
    }
    return "SELECT r.item FROM unnest(" + array(items) + ") WITH ORDINALITY AS r(item, n) WHERE CASE WHEN "
           "position('.' in r.item) = 0 THEN " + rel + " IS NULL ELSE NOT EXISTS (SELECT 1 FROM pg_attribute a "
           "WHERE a.attrelid = " + rel + " AND a.attname = split_part(r.item, '.', 2) AND a.attnum > 0 AND NOT "
           "a.attisdropped) END ORDER BY r.n";
}

class PostgresCheck final : public Check {
public:
    explicit PostgresCheck(const CheckSpec& spec)
        : spec_(spec), params_(spec), sessions_(static_cast<std::size_t>(std::max(1, spec.pool))) {
        // The gate the configuration loaded (postgres_kind.cpp), unless the spec was changed since
        // or built in code: then it is loaded here, and throws std::invalid_argument for a gate
        // that cannot be evaluated soundly (the configuration reports that as a ConfigError).
        const auto& gate = spec.migration_gate;
        if (gate && gate->loaded_text == spec.migration && gate->loaded_dir == spec.migration_dir) {
            migration_ = *gate;
        } else if (!spec.migration.empty()) {
            migration_ = detail::load_migration(spec.migration, spec.migration_dir);
        }
        if (!spec.announce.empty()) announce_ = detail::parse_announce(spec.announce);
    }

    std::string kind() const override { return "postgres"; }

    std::vector<int> idle_fds() const override {
        std::vector<int> fds;
        for (const auto& s : sessions_) {
            // Not one with a reply outstanding: its reply arriving is no peer closing (the
            // Prober's retries while down come soon enough to read it).
            if (s.open() && !s.reply_pending() && s.fd() >= 0) fds.push_back(s.fd());
        }
        return fds;
    }

    Result run(Deadline deadline) override {
        budget_ = deadline - SteadyClock::now();
        Result r = run_unmasked(deadline);
        r.message = mask(r.message, spec_.url.secrets());
        return r;
    }

    // The drain is complete (Prober::stop after drain): this task no longer needs anything, so
    // `guard` need not wait for its lease to expire. A failure here only means the row expires.
    void on_drained(Deadline deadline) override {
        if (!announce_ || !announced_) return;
        Result failure;
        std::string state;
        query(detail::lease_delete_sql(task_), deadline, failure, "lease", &state);
    }

private:
    static Result timeout(const std::string& context = "") {
        return Result::deadline_passed(context.empty() ? "" : "(" + context + ")");
    }

    // Reopens `closed` (never opened, or found broken): all at once when another connection of
    // the pool is healthy, else gradually (POOL > 1): one first, the others only once it
    // succeeded, so that while the server is down or refusing each run makes one connection
    // attempt, not POOL, and a fleet whose database comes back first reconnects one per task
    // (the runs themselves are spread by the Prober's jittered backoff). Returns the failure to
    // report when that first one failed.
    std::optional<Result> reopen(const std::vector<Session*>& closed, bool any_healthy, Deadline deadline) {
        if (closed.empty()) return std::nullopt;
        std::vector<Session*> rest = closed;
        if (!any_healthy && sessions_.size() > 1) {
            Session& first = *closed.front();
            first.begin(params_, "SELECT 1", deadline);
            drive({&first}, deadline);
            const std::string pool_text = "0/" + std::to_string(sessions_.size()) + " connections";
            if (first.timed_out()) {
                if (first.timed_out_connected()) return timeout(pool_text + "; " + kNoReply);
                return timeout(first.login_pending() ? pool_text + "; " + kLoginPending : pool_text);
            }
            if (first.error()) {
                const std::string error = *first.error();
                first.drop();
                return Result::fail(pool_text + ": " + error);
            }
            rest.erase(rest.begin());
        }
        for (Session* s : rest) s->begin(params_, "SELECT 1", deadline);
        drive(rest, deadline);
        return std::nullopt;
    }

    std::string pool_count_text() const {
        std::size_t healthy = 0;
        for (const auto& s : sessions_) healthy += (!s.timed_out() && !s.error()) ? 1 : 0;
        return std::to_string(healthy) + "/" + std::to_string(sessions_.size()) + " connections";
    }

    // After SELECT 1 on every connection: the failure to report when not all of them answered
    // (dropping the ones that failed), or nullopt.
    std::optional<Result> pool_failure(const std::string& pool_text) {
        const std::size_t n = sessions_.size();
        std::size_t healthy = 0;
        bool any_timeout = false;
        bool connected_timeout = false;
        bool login_pending = false;
        std::string first_error;
        for (auto& s : sessions_) {
            if (s.timed_out()) {
                any_timeout = true;
                connected_timeout = connected_timeout || s.timed_out_connected();
                login_pending = login_pending || s.login_pending();
            } else if (s.error()) {
                if (first_error.empty()) first_error = *s.error();
                s.drop();
            } else {
                ++healthy;
            }
        }
        if (healthy == n) return std::nullopt;
        if (any_timeout && first_error.empty()) {
            // Behind PgBouncer or RDS Proxy a client is connected at once and then queued until
            // a server connection is free: name that case instead of a bare timeout.
            std::string context = n > 1 ? pool_text : "";
            if (connected_timeout) {
                context += (context.empty() ? "" : "; ") + std::string(kNoReply);
            } else if (login_pending) {
                context += (context.empty() ? "" : "; ") + std::string(kLoginPending);
            }
            return timeout(context);
        }
        return Result::fail(n > 1 ? pool_text + ": " + first_error : first_error);
    }

    Result run_unmasked(Deadline deadline) {
        // The kept connections first; a broken one (restart, failover) is reopened within the
        // same deadline with the ones that were not open, before reporting a failure.
        std::vector<Session*> kept;
        std::vector<Session*> closed;
        for (auto& s : sessions_) (s.open() ? kept : closed).push_back(&s);
        for (Session* s : kept) s->begin(params_, "SELECT 1", deadline);
        drive(kept, deadline);
        bool any_healthy = false;
        for (Session* s : kept) {
            if (s->timed_out()) continue;
            if (!s->error()) {
                any_healthy = true;
            } else {
                s->drop();
                closed.push_back(s);
            }
        }
        if (auto failed = reopen(closed, any_healthy, deadline)) return *failed;

        const std::size_t n = sessions_.size();
        const std::string pool_text = pool_count_text();
        if (auto failed = pool_failure(pool_text)) return *failed;

        std::vector<std::string> details;
        if (n > 1) details.push_back(pool_text);
        if (migration_) {
            Result r = check_migration(deadline, details);
            if (!r.ok) return r;
        }
        if (!spec_.require.empty()) {
            Result r = check_require(deadline);
            if (!r.ok) return r;
        }
        if (announce_) {
            const std::string problem = renew_lease(deadline);
            if (!problem.empty()) details.push_back("degraded: lease not kept: " + problem);
        }
        std::string message;
        for (const auto& d : details) message += (message.empty() ? "" : ", ") + d;
        return Result::pass(message.empty() ? "ok" : message);
    }

    // Runs one statement on the first connection; nullopt and `out` set on failure. With
    // `sqlstate`, an SQL error (the server answered) is reported with its SQLSTATE there and keeps
    // the connection, which is fine.
    std::optional<std::vector<detail::Row>> query(const std::string& sql, Deadline deadline, Result& out,
                                                  const std::string& what, std::string* sqlstate = nullptr) {
        Session& s = sessions_.front();
        s.begin(params_, sql, deadline);
        drive({&s}, deadline);
        if (s.timed_out()) {
            out = timeout(what);
            return std::nullopt;
        }
        if (s.error()) {
            if (sqlstate) {
                *sqlstate = s.sqlstate();
                out = Result::fail(*s.error());
                if (s.sqlstate().empty()) s.drop();
            } else if (s.sqlstate() == "42P01") {
                out = Result::fail("undefined table");  // the connection itself is fine
            } else {
                out = Result::fail(*s.error());
                s.drop();
            }
            return std::nullopt;
        }
        return rows_of(s.result());
    }

    // One renewal of this task's lease, after SELECT 1 (and REQUIRE) passed: an upsert, and only
    // when the table is missing its creation and the upsert again. Returns what went wrong (empty
    // when renewed): never a failure of the check, whose dependency is fine; a task that may not
    // write here (no grant, read-only replica) is told so in its message and stays ready.
    std::string renew_lease(Deadline deadline) {
        // Leave a tenth of the run's time so that a slow renewal cannot make the check's result late.
        const Deadline until = deadline - budget_ / 10;
        if (SteadyClock::now() >= until) return "no time left in this run";
        if (task_.empty()) {
            const char* uri = std::getenv("ECS_CONTAINER_METADATA_URI_V4");
            task_ = detail::task_identity(uri ? uri : "", until);
        }
        // A few intervals: a task that dies without draining is forgotten this long after its
        // last renewal (jitter stretches an interval by at most 10 %).
        const long long ttl = 3 * to_ms(spec_.schedule.interval) + to_ms(spec_.schedule.timeout);
        const std::string upsert = detail::lease_upsert_sql(task_, *announce_, spec_.require, ttl);
        Result failure;
        std::string state;
        bool renewed = query(upsert, until, failure, "lease", &state).has_value();
        if (!renewed && detail::no_lease_table(state)) {
            for (const auto& sql : detail::lease_schema_sql()) {
                // A concurrent creation by another task (unique_violation) is fine: upsert again.
                if (!query(sql, until, failure, "lease table", &state) && state != "23505") {
                    return failure.message;
                }
            }
            renewed = query(upsert, until, failure, "lease", &state).has_value();
        }
        if (!renewed) return failure.message;
        announced_ = true;
        return "";
    }

    // Two statements: find the tool's table in the URL's schemas and check its layout, then read
    // its history. Plain SQL text (no parameters, no session settings), so it works unchanged
    // through PgBouncer and RDS Proxy.
    Result check_migration(Deadline deadline, std::vector<std::string>& details) {
        const std::string& tool = migration_->tool;
        Result failure;
        auto located = query(detail::locate_history_sql(tool, schemas_), deadline, failure, "migration query");
        if (!located) return failure;
        if (located->empty() || located->front().nulls.at(0)) {
            std::string where;
            for (const auto& s : schemas_) where += (where.empty() ? " in " : ", ") + s;
            return Result::fail("no " + tool + " history table (" + detail::migration_table(tool) + where + ")");
        }
        const std::string table = located->front().values.at(0);
        if (auto problem = detail::layout_problem(tool, table, located->front().values.at(1)); !problem.empty()) {
            return Result::fail(problem);
        }
        auto rows = query(detail::history_sql(*migration_, table), deadline, failure, "migration query");
        if (!rows) {
            if (failure.message == "undefined table") {  // dropped between the two statements
                return Result::fail("no " + tool + " history table (" + table + ")");
            }
            return failure;
        }
        const auto verdict = detail::evaluate_migration(*migration_, *rows);
        if (!verdict.ok) return Result::fail(verdict.message);
        details.push_back(verdict.message);
        return Result::pass();
    }

    Result check_require(Deadline deadline) {
        Result failure;
        auto rows = query(require_sql(spec_.require, schemas_), deadline, failure, "schema query");
        if (!rows) return failure;
        if (rows->empty()) return Result::pass();
        std::string missing;
        for (const auto& r : *rows) missing += (missing.empty() ? "" : ", ") + r.values.at(0);
        return Result::fail("missing: " + missing);
    }

    CheckSpec spec_;
    ConnectParams params_;
    std::vector<std::string> schemas_ = detail::split_schemas(spec_.url.param("search_path"));
    std::vector<Session> sessions_;
    std::optional<detail::MigrationRequirement> migration_;
    std::optional<detail::Announce> announce_;
    Duration budget_{};         // the time the current run was given (until its deadline)
    std::string task_;          // the lease's task identity, found on the first renewal
    bool announced_ = false;    // a renewal has succeeded: there may be a row to delete
};

}  // namespace

std::vector<std::string> parse_drops(const std::string& text) { return detail::parse_require(text); }

LeaseQuery leases_requiring(const CheckSpec& database, const std::vector<std::string>& drops, Deadline deadline) {
    LeaseQuery out;
    if (database.kind != "postgres") {
        out.error = "not a PostgreSQL check";
        return out;
    }
    const ConnectParams params(database);
    Session s;
    s.begin(params, detail::guard_sql(drops), deadline);
    drive({&s}, deadline);
    if (s.timed_out()) {
        out.error = Result::timeout(database.schedule.timeout,
                                    s.timed_out_connected() ? std::string("(") + kNoReply + ")" : "")
                        .message;
    } else if (s.error() && detail::no_lease_table(s.sqlstate())) {
        out.ok = true;
        out.no_table = true;
    } else if (s.error()) {
        out.error = *s.error();
    } else {
        out.ok = true;
        for (const auto& row : rows_of(s.result())) {
            Lease l{row.values.at(0), row.values.at(1), row.values.at(2), detail::split_schemas(row.values.at(3))};
            out.leases.push_back(std::move(l));
        }
    }
    out.error = mask(out.error, database.url.secrets());
    return out;
}

std::unique_ptr<Check> make_postgres_check(const CheckSpec& spec) {
    return std::make_unique<PostgresCheck>(spec);
}

}  // namespace readyprobe
