// The Check interface: one object per dependency, run on its own schedule by the Prober.
#pragma once

#include <readyprobe/spec.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace readyprobe {

struct Result {
    bool ok = false;
    bool timed_out = false;
    std::string message;  // short, for operators; never a secret

    static Result pass(std::string message = "ok") { return {true, false, std::move(message)}; }
    static Result fail(std::string message) { return {false, false, std::move(message)}; }
    // What a check returns when its deadline passed: `where` names the step it was at ("during
    // the TLS handshake", "(lease)") or is empty. A check does not know its configured timeout:
    // the Prober (run_check in prober.hpp) words this "timeout after <the run's budget> ms"
    // through timeout() below; read without it, the message is "timeout[ <where>]".
    static Result deadline_passed(const std::string& where = {}) {
        return {false, true, where.empty() ? "timeout" : "timeout " + where};
    }
    // "timeout after 500 ms" (then " " and `where`, if any): the one place a timeout is worded.
    static Result timeout(Duration budget, const std::string& where = {}) {
        return {false, true,
                "timeout after " + std::to_string(to_ms(budget)) + " ms" + (where.empty() ? "" : " " + where)};
    }
};

class Check {
public:
    virtual ~Check() = default;
    // Runs the check once. Must not throw for a failing dependency (return Result::fail);
    // an escaping exception is turned into a failure by the Prober.
    virtual Result run(Deadline deadline) = 0;
    // Short name of the kind of check: "postgres", "redis", "http", "tcp", "file", "function".
    virtual std::string kind() const = 0;
    // The sockets of the connections this check keeps open between runs (none by default).
    // Called by the Prober on the check's own thread right after run(); until the next run the
    // Prober watches them, and when a peer closes or resets one (server stopped, backend
    // terminated, failover) it runs the check at once instead of waiting for the interval.
    virtual std::vector<int> idle_fds() const { return {}; }
    // The drain is complete: called once by Prober::stop() (after every run has returned, on the
    // stopping thread) when the Prober was draining, bounded by `deadline`. A PostgreSQL check with
    // ANNOUNCE deletes its lease here. Must not throw; nothing by default.
    virtual void on_drained(Deadline /*deadline*/) {}
};

// Wraps an application's own function as a check ("cache primed", "config loaded").
std::unique_ptr<Check> make_function_check(std::function<Result(Deadline)> fn,
                                           std::string kind = "function");

}  // namespace readyprobe
