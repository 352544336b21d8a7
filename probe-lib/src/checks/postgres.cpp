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
#include "sql.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/lease.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

namespace readyprobe {
namespace {

struct PgConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// libpq's messages are long and multi-line; operators want the gist.
std::string simplify(std::string message) {
    message = detail::first_line(std::move(message));
    // "connection to server at "127.0.0.1", port 5432 failed: Connection refused"
    const std::string failed = " failed: ";
    if (message.rfind("connection to server", 0) == 0) {
        if (auto pos = message.find(failed); pos != std::string::npos) {
            message = message.substr(pos + failed.size());
        }
    }
    for (const char* severity : {"FATAL:", "ERROR:"}) {
        if (message.rfind(severity, 0) == 0) {
            message = message.substr(std::string(severity).size());
            message.erase(0, message.find_first_not_of(' '));
        }
    }
    if (message.rfind("could not translate host name", 0) == 0) {
        auto open = message.find('"');
        auto close = message.find('"', open + 1);
        if (open != std::string::npos && close != std::string::npos) {
            return "name not resolved: " + message.substr(open + 1, close - open - 1);
        }
    }
    if (message.find("too many clients") != std::string::npos ||
        message.find("remaining connection slots are reserved") != std::string::npos) {
        return "no free connection slots on the server (" + message + ")";
    }
    // PgBouncer's own words when it cannot hand out a server connection.
    if (message.find("pgbouncer cannot connect to server") != std::string::npos ||
        message.find("query_wait_timeout") != std::string::npos ||
        message.find("no more connections allowed") != std::string::npos ||
        message.find("server login has been failing") != std::string::npos) {
        return "pooler: " + message;
    }
    return message.empty() ? "unknown error" : detail::one_sentence(detail::lower_first(message));
}

// libpq connection keywords for a check, kept alive as long as the check. Only libpq's own
// keywords: nothing a pooler would refuse (see the top of this file).
struct ConnectParams {
    std::vector<std::string> storage;
    std::vector<const char*> keys;
    std::vector<const char*> values;

    explicit ConnectParams(const CheckSpec& spec) {
        const Url& u = spec.url;
        const long long timeout_ms = to_ms(spec.schedule.timeout);
        std::vector<std::pair<std::string, std::string>> kv = {
            {"host", u.host_list()},
            {"port", u.port_list()},
            {"dbname", u.path.size() > 1 ? percent_decode(u.path.substr(1)) : ""},
            {"user", u.user},
            {"password", u.password.reveal()},
            {"application_name", "readyprobe"},
            // Whole seconds, libpq's minimum is 2; the real bound is our own poll on the deadline.
            {"connect_timeout", std::to_string(std::max(2LL, (timeout_ms + 999) / 1000))},
        };
        for (const auto& [k, v] : u.query) {
            if (k != "application_name" && k != "connect_timeout" && k != "search_path") {
                kv.emplace_back(k, v);
            }
        }
        for (const auto& [k, v] : u.secret_query) kv.emplace_back(k, v.reveal());  // sslpassword
        storage.reserve(kv.size() * 2);
        for (const auto& [k, v] : kv) {
            if (v.empty()) continue;
            storage.push_back(k);
            storage.push_back(v);
        }
        for (std::size_t i = 0; i < storage.size(); i += 2) {
            keys.push_back(storage[i].c_str());
            values.push_back(storage[i + 1].c_str());
        }
        keys.push_back(nullptr);
        values.push_back(nullptr);
    }
};

// One connection and the statement in flight on it, as a small state machine driven by poll().
class Session {
public:
    enum class Phase { idle, connecting, flushing, waiting, done };

    bool open() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }
    bool reused() const { return reused_; }
    Phase phase() const { return phase_; }
    const std::optional<std::string>& error() const { return error_; }
    bool timed_out() const { return timed_out_; }
    // The connection was up and the statement sent, but no reply came in time.
    bool timed_out_connected() const { return timed_out_ && timed_out_connected_; }
    PGresult* result() const { return result_.get(); }
    const std::string& sqlstate() const { return sqlstate_; }

    // Starts `sql` (one statement, no parameters), connecting first if needed.
    void begin(const ConnectParams& params, std::string sql, Deadline deadline) {
        sql_ = std::move(sql);
        deadline_ = deadline;
        error_.reset();
        sqlstate_.clear();
        timed_out_ = false;
        timed_out_connected_ = false;
        result_.reset();
        commands_ = 0;
        reused_ = open();
        if (reused_) {
            send();
            return;
        }
        conn_.reset(PQconnectStartParams(params.keys.data(), params.values.data(), 0));
        if (!conn_ || PQstatus(conn_.get()) == CONNECTION_BAD) {
            fail(conn_ ? PQerrorMessage(conn_.get()) : "out of memory");
            return;
        }
        poll_state_ = PGRES_POLLING_WRITING;
        phase_ = Phase::connecting;
    }

    int fd() const { return conn_ ? PQsocket(conn_.get()) : -1; }

    short events() const {
        switch (phase_) {
            case Phase::connecting: return poll_state_ == PGRES_POLLING_READING ? POLLIN : POLLOUT;
            case Phase::flushing: return POLLIN | POLLOUT;
            case Phase::waiting: return POLLIN;
            default: return 0;
        }
    }

    // The socket is ready for events(): advance as far as possible without blocking.
    void step() {
        PGconn* c = conn_.get();
        if (phase_ == Phase::connecting) {
            poll_state_ = PQconnectPoll(c);
            if (poll_state_ == PGRES_POLLING_FAILED) return fail(PQerrorMessage(c));
            if (poll_state_ != PGRES_POLLING_OK) return;
            if (PQsetnonblocking(c, 1) != 0) return fail(PQerrorMessage(c));
            return send();
        }
        if (!PQconsumeInput(c)) return fail(PQerrorMessage(c));
        if (phase_ == Phase::flushing) return flush();
        if (phase_ == Phase::waiting) collect();
    }

    void abandon_on_timeout() {
        timed_out_ = true;
        timed_out_connected_ = phase_ == Phase::flushing || phase_ == Phase::waiting;
        conn_.reset();  // never reuse a connection with a statement in flight
        phase_ = Phase::done;
    }

    void drop() {
        conn_.reset();
        phase_ = Phase::idle;
    }

private:
    // One Query message: the server-side bound for this statement, then the statement, run by
    // PostgreSQL as one implicit transaction (see the top of the file).
    void send() {
        PGconn* c = conn_.get();
        const long long left = std::max(1LL, detail::remaining_ms(deadline_));
        const std::string text = "SET LOCAL statement_timeout = " + std::to_string(left) + "; " + sql_;
        if (!PQsendQuery(c, text.c_str())) return fail(PQerrorMessage(c));
        phase_ = Phase::flushing;
        flush();
    }

    void flush() {
        const int r = PQflush(conn_.get());
        if (r < 0) return fail(PQerrorMessage(conn_.get()));
        if (r == 0) {
            phase_ = Phase::waiting;
            collect();
        }
    }

    void collect() {
        PGconn* c = conn_.get();
        while (!PQisBusy(c)) {
            PgResult r(PQgetResult(c));
            if (!r) {
                phase_ = Phase::done;
                // The SET LOCAL prefix is one command result; a second one is a statement that
                // returns no rows (CREATE ...), which succeeded too.
                if (!result_ && !error_ && commands_ < 2) error_ = "no result";
                return;
            }
            const ExecStatusType st = PQresultStatus(r.get());
            if (st == PGRES_FATAL_ERROR && !error_) {
                const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
                sqlstate_ = state ? state : "";
                error_ = simplify(PQresultErrorMessage(r.get()));
            } else if (st == PGRES_TUPLES_OK && !result_) {
                result_ = std::move(r);
            } else if (st == PGRES_COMMAND_OK) {
                ++commands_;
            }
        }
    }

    void fail(const std::string& message) {
        error_ = simplify(message);
        conn_.reset();
        phase_ = Phase::done;
    }

    PgConn conn_;
    Phase phase_ = Phase::idle;
    PostgresPollingStatusType poll_state_ = PGRES_POLLING_WRITING;
    std::string sql_;
    Deadline deadline_{};
    std::optional<std::string> error_;
    bool timed_out_ = false;
    bool timed_out_connected_ = false;
    bool reused_ = false;
    PgResult result_;
    int commands_ = 0;
    std::string sqlstate_;
};

std::vector<detail::Row> rows_of(PGresult* res) {
    std::vector<detail::Row> rows;
    for (int i = 0; res && i < PQntuples(res); ++i) {
        detail::Row row;
        for (int j = 0; j < PQnfields(res); ++j) {
            row.values.emplace_back(PQgetvalue(res, i, j));
            row.nulls.push_back(PQgetisnull(res, i, j) != 0);
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

// Drives every session until it is done or the deadline passes (then it is abandoned).
void drive(const std::vector<Session*>& sessions, Deadline deadline) {
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<Session*> active;
        for (Session* s : sessions) {
            if (s->phase() == Session::Phase::done || s->phase() == Session::Phase::idle) continue;
            fds.push_back({s->fd(), s->events(), 0});
            active.push_back(s);
        }
        if (active.empty()) return;
        const long long left = detail::remaining_ms(deadline);
        const int rc = left > 0 ? ::poll(fds.data(), fds.size(), static_cast<int>(left)) : 0;
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) {
            if (rc == 0 && detail::remaining_ms(deadline) > 0) continue;
            for (Session* s : active) s->abandon_on_timeout();
            return;
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents != 0) active[i]->step();
        }
    }
}

const char* const kNoReply =
    "connected, no reply: the server is stuck, or a pooler has no free server connection";

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
        // Throws std::invalid_argument for a gate that cannot be evaluated soundly (config.cpp
        // reports the same as a configuration error before anything starts).
        if (!spec.migration.empty()) migration_ = detail::load_migration(spec.migration, spec.migration_dir);
        if (!spec.announce.empty()) announce_ = detail::parse_announce(spec.announce);
    }

    std::string kind() const override { return "postgres"; }

    std::vector<int> idle_fds() const override {
        std::vector<int> fds;
        for (const auto& s : sessions_) {
            if (s.open() && s.fd() >= 0) fds.push_back(s.fd());
        }
        return fds;
    }

    Result run(Deadline deadline) override {
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
    Result timeout(const std::string& context = "") const {
        Result r = Result::timeout(spec_.schedule.timeout);
        if (!context.empty()) r.message += " (" + context + ")";
        return r;
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
                return timeout(first.timed_out_connected() ? pool_text + "; " + kNoReply : pool_text);
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
        std::size_t healthy = 0;
        bool any_timeout = false;
        bool connected_timeout = false;
        std::string first_error;
        for (auto& s : sessions_) {
            if (s.timed_out()) {
                any_timeout = true;
                connected_timeout = connected_timeout || s.timed_out_connected();
            } else if (s.error()) {
                if (first_error.empty()) first_error = *s.error();
                s.drop();
            } else {
                ++healthy;
            }
        }
        const std::string pool_text = std::to_string(healthy) + "/" + std::to_string(n) + " connections";
        if (healthy < n) {
            if (any_timeout && first_error.empty()) {
                // Behind PgBouncer or RDS Proxy a client is connected at once and then queued until
                // a server connection is free: name that case instead of a bare timeout.
                std::string context = n > 1 ? pool_text : "";
                if (connected_timeout) context += (context.empty() ? "" : "; ") + std::string(kNoReply);
                return timeout(context);
            }
            return Result::fail(n > 1 ? pool_text + ": " + first_error : first_error);
        }

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
        // Leave a tenth of the timeout so that a slow renewal cannot make the check's result late.
        const Deadline until = deadline - spec_.schedule.timeout / 10;
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
        out.error = "timeout after " + std::to_string(to_ms(database.schedule.timeout)) + " ms";
        if (s.timed_out_connected()) out.error += std::string(" (") + kNoReply + ")";
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
