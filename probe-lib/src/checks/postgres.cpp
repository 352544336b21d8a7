// PostgreSQL: SELECT 1 over libpq's non-blocking API, so a hung server cannot hold a run past
// its deadline. The connection is reused between runs and dropped after any failure.
#include "io.hpp"

#include <readyprobe/checks.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <memory>
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
        return "too many connections: " + message;
    }
    return message.empty() ? "unknown error" : detail::lower_first(message);
}

class PostgresCheck final : public Check {
public:
    explicit PostgresCheck(const CheckSpec& spec) : spec_(spec) {}

    std::string kind() const override { return "postgres"; }

    Result run(Deadline deadline) override {
        const bool reused = static_cast<bool>(conn_);
        Result r = attempt(deadline);
        // A reused connection may have been broken by a server restart or failover: one fresh
        // attempt within the same deadline before reporting a failure.
        if (!r.ok && !r.timed_out && reused && detail::remaining_ms(deadline) > 0) {
            r = attempt(deadline);
        }
        if (!r.ok) r.message = mask(r.message, {spec_.url.password});
        return r;
    }

private:
    Result attempt(Deadline deadline) {
        if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
            conn_.reset();
            if (Result r = connect(deadline); !r.ok) {
                conn_.reset();
                return r;
            }
        }
        Result r = query(deadline);
        if (!r.ok) conn_.reset();  // never reuse a connection after a failure
        return r;
    }

    Result timeout() const { return Result::timeout(spec_.schedule.timeout); }

    Result connect(Deadline deadline) {
        const Url& u = spec_.url;
        const std::string port = u.port ? std::to_string(u.port) : "";
        const std::string dbname = u.path.size() > 1 ? percent_decode(u.path.substr(1)) : "";
        const long long timeout_ms = to_ms(spec_.schedule.timeout);
        // connect_timeout is in whole seconds (libpq's minimum is 2); the real bound is our poll.
        const std::string connect_timeout = std::to_string(std::max(2LL, (timeout_ms + 999) / 1000));
        // The server cancels a stuck statement by itself, so a timed-out run leaves no work behind.
        const std::string options = "-c statement_timeout=" + std::to_string(timeout_ms);

        std::vector<const char*> keys;
        std::vector<const char*> values;
        auto add = [&](const char* k, const std::string& v) {
            if (v.empty()) return;
            keys.push_back(k);
            values.push_back(v.c_str());
        };
        add("host", u.host);
        add("port", port);
        add("dbname", dbname);
        add("user", u.user);
        add("password", u.password.reveal());
        add("application_name", "readyprobe");
        add("connect_timeout", connect_timeout);
        add("options", options);
        for (const auto& [k, v] : u.query) {
            if (k == "application_name" || k == "options" || k == "connect_timeout") continue;
            keys.push_back(k.c_str());
            values.push_back(v.c_str());
        }
        keys.push_back(nullptr);
        values.push_back(nullptr);

        conn_.reset(PQconnectStartParams(keys.data(), values.data(), 0));
        if (!conn_) return Result::fail("out of memory");
        if (PQstatus(conn_.get()) == CONNECTION_BAD) return Result::fail(simplify(PQerrorMessage(conn_.get())));

        PostgresPollingStatusType state = PGRES_POLLING_WRITING;
        for (;;) {
            if (state == PGRES_POLLING_OK) break;
            if (state == PGRES_POLLING_FAILED) return Result::fail(simplify(PQerrorMessage(conn_.get())));
            const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
            const detail::Wait w = detail::wait_fd(PQsocket(conn_.get()), events, deadline);
            if (w == detail::Wait::timeout) return timeout();
            if (w == detail::Wait::error) return Result::fail("poll failed");
            state = PQconnectPoll(conn_.get());
        }
        if (PQsetnonblocking(conn_.get(), 1) != 0) return Result::fail(simplify(PQerrorMessage(conn_.get())));
        return Result::pass();
    }

    Result query(Deadline deadline) {
        PGconn* c = conn_.get();
        if (!PQsendQuery(c, "SELECT 1")) return Result::fail(simplify(PQerrorMessage(c)));
        for (;;) {
            const int flushed = PQflush(c);
            if (flushed == 0) break;
            if (flushed < 0) return Result::fail(simplify(PQerrorMessage(c)));
            const detail::Wait w = detail::wait_fd(PQsocket(c), POLLOUT | POLLIN, deadline);
            if (w == detail::Wait::timeout) return timeout();
            if (w == detail::Wait::error) return Result::fail("poll failed");
            if (!PQconsumeInput(c)) return Result::fail(simplify(PQerrorMessage(c)));
        }
        Result outcome = Result::fail("no result");
        for (;;) {
            while (PQisBusy(c)) {
                const detail::Wait w = detail::wait_fd(PQsocket(c), POLLIN, deadline);
                if (w == detail::Wait::timeout) return timeout();
                if (w == detail::Wait::error) return Result::fail("poll failed");
                if (!PQconsumeInput(c)) return Result::fail(simplify(PQerrorMessage(c)));
            }
            PgResult res(PQgetResult(c));
            if (!res) break;
            const ExecStatusType st = PQresultStatus(res.get());
            if (st == PGRES_TUPLES_OK && PQntuples(res.get()) == 1 &&
                std::string(PQgetvalue(res.get(), 0, 0)) == "1") {
                outcome = Result::pass();
            } else if (st == PGRES_FATAL_ERROR) {
                const char* msg = PQresultErrorMessage(res.get());
                outcome = Result::fail(simplify(msg ? msg : "query failed"));
            } else if (outcome.message == "no result") {
                outcome = Result::fail(std::string("unexpected result: ") + PQresStatus(st));
            }
        }
        return outcome;
    }

    CheckSpec spec_;
    PgConn conn_;
};

}  // namespace

std::unique_ptr<Check> make_postgres_check(const CheckSpec& spec) {
    return std::make_unique<PostgresCheck>(spec);
}

}  // namespace readyprobe
