// The PostgreSQL check's driver: libpq connection parameters, one connection with the statement
// in flight on it as a small state machine (Session), and drive(), which polls a set of sessions
// against one deadline. Only libpq's ordinary keywords, one simple-protocol Query message per
// statement with its `SET LOCAL statement_timeout` prefix: why, and how that works through
// PgBouncer and RDS Proxy, is at the top of postgres.cpp (the check, which uses this). Internal;
// included by postgres.cpp and guard.cpp (its blocking connect uses ConnectParams and simplify).
#pragma once

#include "../url_text.hpp"
#include "io.hpp"
#include "migration.hpp"

#include <readyprobe/spec.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace readyprobe::detail::pg {

struct PgConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// libpq's messages are long and multi-line; operators want the gist.
inline std::string simplify(std::string message) {
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

    explicit ConnectParams(const CheckSpec& spec, const std::string& application_name = "readyprobe") {
        const Url& u = spec.url;
        std::vector<std::pair<std::string, std::string>> kv = {
            {"host", u.host_list()},
            {"port", u.port_list()},
            {"dbname", u.path.size() > 1 ? percent_decode(u.path.substr(1)) : ""},
            {"user", u.user},
            {"password", u.password.reveal()},
            {"application_name", application_name},
            // connect_timeout: per connection, from the run's deadline (Session::begin).
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
        if (std::exchange(reply_pending_, false) && reused_) {
            if (SteadyClock::now() - sent_at_ < patience_) {
                draining_ = true;  // the last run's reply first (collect), then this statement
                phase_ = Phase::waiting;
                return;
            }
            conn_.reset();  // no reply for that long: a new connection
            reused_ = false;
        }
        if (reused_) {
            send();
            return;
        }
        if (std::exchange(parked_, false) && conn_ && SteadyClock::now() - login_started_ < patience_) {
            phase_ = Phase::connecting;  // the login the last run left in progress, where it was
            return;
        }
        // libpq's connect_timeout from the time left (whole seconds, libpq's minimum is 2); the
        // real bound is our own poll on the deadline. libpq copies the values.
        const std::string connect_timeout =
            std::to_string(std::max(2LL, (detail::remaining_ms(deadline) + 999) / 1000));
        std::vector<const char*> keys = params.keys;
        std::vector<const char*> values = params.values;
        keys.insert(keys.end() - 1, "connect_timeout");
        values.insert(values.end() - 1, connect_timeout.c_str());
        conn_.reset(PQconnectStartParams(keys.data(), values.data(), 0));
        if (!conn_ || PQstatus(conn_.get()) == CONNECTION_BAD) {
            fail(conn_ ? PQerrorMessage(conn_.get()) : "out of memory");
            return;
        }
        poll_state_ = PGRES_POLLING_WRITING;
        phase_ = Phase::connecting;
        login_started_ = SteadyClock::now();
        patience_ = patience_for(deadline);
    }

    // A login the deadline interrupted, kept for the next run (see abandon_on_timeout).
    bool login_pending() const { return parked_ && conn_ != nullptr; }
    // A statement sent whose reply the deadline did not wait for, kept for the next run.
    bool reply_pending() const { return reply_pending_ && conn_ != nullptr; }

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

    // The run's deadline passed. The run reports its timeout, but what it started is kept for the
    // next run instead of being thrown away: behind PgBouncer a client that gives up makes the
    // pooler drop the server login it started for it, and a statement queued for a server
    // connection loses its place, so a fleet of checks whose logins or queued statements take
    // longer than TIMEOUT (a pooler busy with the same fleet after a PostgreSQL restart) would
    // start over forever (docs/fleet.md, the storm). So:
    //   - a login still in progress is continued by the next run; nothing is sent on it meanwhile;
    //   - a statement fully sent whose reply has not come is kept: the next run reads and
    //     discards that reply first, then sends its own statement on the same connection (its
    //     server-side bound, SET LOCAL statement_timeout, ended that statement at this run's
    //     deadline if a server was running it). Never a second statement while a reply is
    //     outstanding;
    //   - a statement half sent (flushing) closes the connection.
    // Each for at most `patience_` from its start: kPatienceRuns times the run's budget (TIMEOUT),
    // 2 to 30 s. A peer that stays silent longer (a stopped server, a failover that moved the
    // name to another address without resetting the old connection) gets a new connection then.
    void abandon_on_timeout() {
        timed_out_ = true;
        timed_out_connected_ = phase_ == Phase::flushing || phase_ == Phase::waiting;
        const TimePoint now = SteadyClock::now();
        parked_ = phase_ == Phase::connecting && now - login_started_ < patience_;
        reply_pending_ = phase_ == Phase::waiting && now - sent_at_ < patience_;
        draining_ = false;
        if (!parked_ && !reply_pending_) conn_.reset();
        phase_ = Phase::done;
    }

    void drop() {
        conn_.reset();
        parked_ = false;
        reply_pending_ = false;
        draining_ = false;
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
        sent_at_ = SteadyClock::now();
        patience_ = patience_for(deadline_);
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
            if (!r && std::exchange(draining_, false)) {
                // The last run's reply is complete (whatever it said): now this run's statement.
                error_.reset();
                sqlstate_.clear();
                result_.reset();
                commands_ = 0;
                return send();
            }
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
        sqlstate_.clear();  // not an SQL error (a stale one from a drained reply must not count)
        result_.reset();
        conn_.reset();
        draining_ = false;
        phase_ = Phase::done;
    }

    static Duration patience_for(Deadline deadline) {
        const Duration budget = std::max<Duration>(deadline - SteadyClock::now(), Duration::zero());
        return std::clamp<Duration>(budget * kPatienceRuns, std::chrono::seconds(2), std::chrono::seconds(30));
    }

    static constexpr int kPatienceRuns = 4;

    PgConn conn_;
    bool parked_ = false;
    TimePoint login_started_{};
    bool reply_pending_ = false;  // abandon_on_timeout kept a statement's outstanding reply
    bool draining_ = false;       // reading that reply before this run's statement
    TimePoint sent_at_{};
    Duration patience_{std::chrono::seconds(2)};  // how long a kept login or reply may take
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

inline std::vector<detail::Row> rows_of(PGresult* res) {
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
inline void drive(const std::vector<Session*>& sessions, Deadline deadline) {
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

}  // namespace readyprobe::detail::pg
