// Test support: real processes, real servers (via scripts/servers.sh), HTTP with timing.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace rptest {

// Whether `part` occurs in `text` (assertions on messages and bodies read better with it).
inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Sanitizer builds run the same scenarios. Latency bounds are stretched by kSlowdown; memory
// bounds do not apply (shadow memory and ASan's quarantine grow RSS by design; LeakSanitizer
// checks leaks instead, in every process that exits).
#if defined(__SANITIZE_THREAD__)
inline constexpr double kSlowdown = 5;
inline constexpr bool kSanitized = true;
#elif defined(__SANITIZE_ADDRESS__)
inline constexpr double kSlowdown = 2;
inline constexpr bool kSanitized = true;
#else
inline constexpr double kSlowdown = 1;
inline constexpr bool kSanitized = false;
#endif

inline std::chrono::milliseconds scaled(std::chrono::milliseconds ms) {
    return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(ms.count()) * kSlowdown));
}

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Env = std::map<std::string, std::string>;

// A free TCP port on 127.0.0.1 (bound to 0 then released).
int free_port();

// Polls `pred` every `step` until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = 20ms);

double ms_since(Clock::time_point t0);


// The number of open file descriptors of a process (/proc/<pid>/fd), -1 if unreadable.
int open_fds(pid_t pid);

// A child process with stdout and stderr captured to files; killed in the destructor.
class Process {
public:
    Process(const std::vector<std::string>& argv, const Env& env);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int sig) const;
    // The exit code (128+signal when killed), or nothing if still running after `timeout`.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    bool running();
    std::string out() const;
    std::string err() const;

private:
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    std::string out_path_;
    std::string err_path_;
};

// Runs a command to completion (bounded by `timeout`), capturing its output.
struct RunResult {
    int exit_code;
    std::string out;
    std::string err;
};
RunResult run(const std::vector<std::string>& argv, const Env& env,
              std::chrono::milliseconds timeout = 20000ms);

// The readyprobe binary's path (the front users run), and a minimal environment (PATH only) to build on.
std::string binary();
// readyprobe-core, which the front execs for everything but a plain http:// `check`.
std::string core_binary();
Env base_env();

struct Reply {
    int status = -1;  // -1: no response
    std::string body;
    std::string content_type;
    double ms = 0;
};
Reply get(int port, const std::string& path, const std::vector<std::pair<std::string, std::string>>& headers = {},
          const std::string& method = "GET");

// One `servers.sh certs` directory for this test process (ca.crt, other-ca.crt, server.crt/key
// for localhost, 127.0.0.1 and ::1), made on first use and removed at exit.
std::string tls_certs();

// A throwaway Redis on a free port in its own directory; stopped in the destructor.
// With `tls`: TLS only (`--port 0 --tls-port P`), serving tls_certs()'s server certificate.
class Redis {
public:
    explicit Redis(std::vector<std::string> extra_args = {}, bool tls = false);
    ~Redis();
    Redis(const Redis&) = delete;
    Redis& operator=(const Redis&) = delete;
    int port() const { return port_; }
    std::string url() const;  // redis://127.0.0.1:P/0 (rediss:// with TLS)
    void start();
    void stop();
    void pause() const;   // SIGSTOP: accepts (backlog) but never answers
    void resume() const;  // SIGCONT
    void kill() const;    // SIGKILL: a crash

private:
    std::string dir_;
    int port_ = 0;
    std::vector<std::string> extra_;
    bool tls_ = false;
};

// A throwaway PostgreSQL (role/database app, password app-secret-pw) in its own directory.
class Postgres {
public:
    explicit Postgres(std::vector<std::string> settings = {});
    // A server that takes TCP connections over TLS only (hostssl), with the certificates made by
    // `servers.sh certs certdir` (ca.crt, server.crt for 127.0.0.1/localhost, other-ca.crt).
    Postgres(std::vector<std::string> settings, std::string tls_certdir);
    ~Postgres();
    Postgres(const Postgres&) = delete;
    Postgres& operator=(const Postgres&) = delete;
    int port() const { return port_; }
    std::string url(const std::string& password = "app-secret-pw") const;
    // The directory of its unix socket (trust authentication there).
    std::string socket_dir() const { return dir_ + "/d"; }
    void stop();
    void start();
    void restart();
    void pause() const;   // SIGSTOP the postmaster and every backend
    void resume() const;
    // Runs SQL as the superuser over the unix socket; returns psql's output.
    std::string psql(const std::string& sql) const;

private:
    std::vector<pid_t> pids() const;
    std::string dir_;
    int port_ = 0;
    std::vector<std::string> settings_;
    std::string tls_certdir_;
};

// Debian's PgBouncer in front of `server` (database app, user app, SCRAM), in `mode` (session or
// transaction) with its default settings plus `settings` (NAME=VALUE, e.g. default_pool_size=1).
class PgBouncer {
public:
    PgBouncer(const Postgres& server, std::string mode, std::vector<std::string> settings = {});
    ~PgBouncer();
    PgBouncer(const PgBouncer&) = delete;
    PgBouncer& operator=(const PgBouncer&) = delete;
    int port() const { return port_; }
    std::string url(const std::string& password = "app-secret-pw") const;
    std::string log() const;

private:
    std::string dir_;
    int port_ = 0;
};


// The shared servers started by scripts/with-services.sh (RPTEST_PG_URL, RPTEST_REDIS_URL);
// started on demand when the suite runs without it.
std::string shared_pg_url();
std::string shared_redis_url();

// A running `readyprobe serve` on a free port; waits until /livez answers.
class Sidecar {
public:
    explicit Sidecar(Env env, bool wait_until_serving = true);
    int port() const { return port_; }
    Process& process() { return *proc_; }
    Reply get(const std::string& path, const std::vector<std::pair<std::string, std::string>>& headers = {}) const {
        return rptest::get(port_, path, headers);
    }
    int status(const std::string& path) const { return get(path).status; }

private:
    int port_;
    std::unique_ptr<Process> proc_;
};

// A tiny HTTP server on a free port answering every GET with `status` after `delay`.
class FakeHttp {
public:
    FakeHttp(int status, std::chrono::milliseconds delay = 0ms);
    ~FakeHttp();
    int port() const { return port_; }
    void set_status(int status);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int port_;
};

// A TCP listener that accepts connections and never says anything (a hung peer).
class SilentServer {
public:
    SilentServer();
    ~SilentServer();
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

}  // namespace rptest
