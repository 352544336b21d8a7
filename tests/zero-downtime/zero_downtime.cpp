// The zero-downtime proof: an expand -> backfill -> contract rollout of orders-service
// (v1 -> migrate 2 -> v2 -> migrate 3 -> v3 -> migrate 4) behind HAProxy, under continuous load,
// the way ECS rolls a service (minimumHealthyPercent 100, maximumPercent 200). Every request the
// load generator sends is counted; none is retried, neither by the client nor by HAProxy.
//
// Variants (each with its own throwaway PostgreSQL and HAProxy):
//   embedded  HAProxy health-checks each orders-service task's own /health (the library).
//   sidecar   per task a `readyprobe serve` sidecar; HAProxy checks the sidecar's port while
//             traffic goes to the app's port (a target group with a health-check port override).
//   naive     ORDERS_NAIVE_HEALTH=1: /health is 200 once the port listens, SIGTERM kills at once.
//
// Scenarios:
//   rolling         the safe rollout, plus a v2 task started before the expand migration.
//   contract-early  the contract migration run (wrongly) while a v1 task still serves.
//   guard           the tasks announce what they need (ANNOUNCE): `readyprobe guard --drops` and
//                   `orders-service migrate --to 4` refuse the contract while v1 serves, a drained
//                   v1 stops blocking at once, a SIGKILLed one when its lease expires; then the
//                   contract runs. 0 failed requests throughout (embedded and sidecar only).
//
// Exit: 0 all assertions held, 1 an assertion failed, 2 bad usage or harness error, 77 skipped
// (haproxy not installed).
#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace zd {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Env = std::map<std::string, std::string>;

// ------------------------------------------------------------------------------------ basics

// Set by SIGINT/SIGTERM: every wait gives up, everything started is stopped.
std::atomic<bool> g_abort{false};
// A harness problem (not a failed request): the run is invalid.
struct HarnessError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

Clock::time_point g_deadline = Clock::time_point::max();

void check_abort() {
    if (g_abort) throw HarnessError("interrupted");
    if (Clock::now() > g_deadline) throw HarnessError("the run exceeded its time budget (--budget)");
}

void nap(std::chrono::milliseconds d) {
    const auto until = Clock::now() + d;
    while (Clock::now() < until) {
        check_abort();
        std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), 20ms));
    }
}

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
}

std::string tail_lines(const std::string& text, size_t n) {
    std::string t = text;
    while (!t.empty() && t.back() == '\n') t.pop_back();
    size_t pos = t.size();
    for (size_t i = 0; i < n; ++i) {
        pos = pos == 0 ? std::string::npos : t.rfind('\n', pos - 1);
        if (pos == std::string::npos) return t;
    }
    return t.substr(pos + 1);
}

std::string with_commas(long long n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
    return s;
}

std::string fmt_s(double s) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(1) << s << " s";
    return o.str();
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// A free port on 127.0.0.1 below the ephemeral range (so no outgoing connection takes it
// meanwhile), never the same twice in one run.
int free_port() {
    static std::mutex mu;
    static std::set<int> handed_out;
    static std::mt19937 rng(std::random_device{}());
    std::lock_guard<std::mutex> lock(mu);
    std::uniform_int_distribution<int> pick(20000, 32000);
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const int port = pick(rng);
        if (handed_out.count(port)) continue;
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) continue;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        if (ok) {
            handed_out.insert(port);
            return port;
        }
    }
    throw HarnessError("no free port found");
}

// Not an excuse, a diagnosis: a thread that sleeps 50 ms at a time and records how late it wakes.
// On a shared two-core machine other jobs can freeze every process here for seconds; a failed
// request that coincides with such a stall is shown next to it.
class StallDetector {
public:
    StallDetector() {
        thread_ = std::thread([this] {
            auto last = Clock::now();
            while (!stop_) {
                std::this_thread::sleep_for(50ms);
                const auto now = Clock::now();
                const double late = secs(now - last) - 0.05;
                last = now;
                if (late > 0.5) {
                    std::lock_guard<std::mutex> lock(mu_);
                    ++count_;
                    longest_ = std::max(longest_, late);
                }
            }
        });
    }
    ~StallDetector() {
        stop_ = true;
        thread_.join();
    }
    void reset() {
        std::lock_guard<std::mutex> lock(mu_);
        count_ = 0;
        longest_ = 0;
    }
    std::string summary() {
        std::lock_guard<std::mutex> lock(mu_);
        if (count_ == 0) return "none";
        std::ostringstream o;
        o << count_ << ", longest " << std::fixed << std::setprecision(1) << longest_ << " s";
        return o.str();
    }

private:
    std::mutex mu_;
    int count_ = 0;
    double longest_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

StallDetector* g_stalls = nullptr;

// ------------------------------------------------------------------------------- processes

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// Child side of fork: clean signal state, logs to files, dies with the driver.
[[noreturn]] void exec_child(std::vector<std::string> argv, const std::optional<Env>& env, const std::string& out_path,
                             const std::string& err_path, pid_t parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP}) ::signal(sig, SIG_DFL);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    auto args = c_strings(argv);
    if (env) {
        std::vector<std::string> flat;
        for (const auto& [k, v] : *env) flat.push_back(k + "=" + v);
        auto envp = c_strings(flat);
        ::execve(args[0], args.data(), envp.data());
    } else {
        ::execv(args[0], args.data());
    }
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
}

// A long-running child (a task's process, HAProxy). SIGKILLed and reaped in the destructor.
class Child {
public:
    Child(std::string name, std::vector<std::string> argv, Env env, const std::string& log_base)
        : name_(std::move(name)), out_path_(log_base + ".out"), err_path_(log_base + ".err") {
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw HarnessError("fork failed");
        if (pid_ == 0) exec_child(std::move(argv), std::move(env), out_path_, err_path_, parent);
    }
    ~Child() {
        if (!code_) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    const std::string& name() const { return name_; }
    void signal(int sig) const {
        if (!code_) ::kill(pid_, sig);
    }
    // The exit code (128 + signal when killed), or nothing if it still runs.
    std::optional<int> poll() {
        if (code_) return code_;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            exited_at_ = Clock::now();
        }
        return code_;
    }
    std::optional<int> wait_for(std::chrono::milliseconds timeout) {
        const auto until = Clock::now() + timeout;
        while (!poll() && Clock::now() < until) std::this_thread::sleep_for(10ms);
        return code_;
    }
    bool running() { return !poll(); }
    Clock::time_point exited_at() const { return exited_at_; }
    std::string out() const { return read_file(out_path_); }
    std::string err() const { return read_file(err_path_); }

private:
    std::string name_;
    std::string out_path_;
    std::string err_path_;
    pid_t pid_ = -1;
    std::optional<int> code_;
    Clock::time_point exited_at_{};
};

struct RunResult {
    int code = -1;
    std::string out;
    std::string err;
};

// Runs a command to completion (SIGKILL after `timeout`); env nullopt inherits ours.
RunResult run(const std::vector<std::string>& argv, const std::optional<Env>& env, const std::string& log_base,
              std::chrono::milliseconds timeout) {
    const std::string out_path = log_base + ".out", err_path = log_base + ".err";
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw HarnessError("fork failed");
    if (pid == 0) exec_child(argv, env, out_path, err_path, parent);
    const auto until = Clock::now() + timeout;
    int status = 0;
    RunResult r;
    while (true) {
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (Clock::now() > until) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            r.code = -1;
            break;
        }
        std::this_thread::sleep_for(5ms);
    }
    r.out = read_file(out_path);
    r.err = read_file(err_path);
    return r;
}

Env base_env() {
    Env env;
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    return env;
}

// --------------------------------------------------------------------------- PostgreSQL

class Postgres {
public:
    Postgres(std::string servers_sh, std::string dir) : servers_sh_(std::move(servers_sh)), dir_(std::move(dir)) {
        RunResult r = run({"/bin/bash", servers_sh_, "pg-start", dir_}, std::nullopt, dir_ + "-start", 90s);
        if (r.code != 0) throw HarnessError("servers.sh pg-start failed: " + r.err);
        port_ = std::stoi(trim(r.out));
        started_ = true;
    }
    ~Postgres() {
        if (started_) run({"/bin/bash", servers_sh_, "pg-stop", dir_}, std::nullopt, dir_ + "-stop", 60s);
    }
    Postgres(const Postgres&) = delete;
    Postgres& operator=(const Postgres&) = delete;
    std::string url() const { return "postgres://app:app-secret-pw@127.0.0.1:" + std::to_string(port_) + "/app"; }

private:
    std::string servers_sh_;
    std::string dir_;
    int port_ = 0;
    bool started_ = false;
};

// ------------------------------------------------------------------------------- HAProxy

struct ServerStat {
    std::string status;        // UP, DOWN, "DOWN 1/2" (rising), "UP 1/2" (falling), MAINT ...
    long long sessions = 0;    // stot: requests HAProxy sent to this server
    std::string check_status;  // L7OK, L7STS, L4CON ...
    bool up() const { return starts_with(status, "UP"); }
};

// HAProxy standing in for the ALB and its target group. Server slots s1..sN are declared up front
// pointing at 127.0.0.1:1 (nothing listens: their checks fail, they stay DOWN); registering a task
// sets a slot's address (and check port) over the runtime API, the way ECS registers a target.
// A registered server stays DOWN until `rise` consecutive checks pass (HAProxy keeps the state
// across an address change), like an ALB target in its "initial" state: no traffic before then.
class Haproxy {
public:
    static constexpr int kSlots = 8;

    Haproxy(const std::string& binary, const std::string& dir) : dir_(dir), socket_(dir + "/admin.sock") {
        port_ = free_port();
        std::ofstream cfg(dir + "/haproxy.cfg");
        cfg << "# generated by tests/zero-downtime: HAProxy as the ALB (scaled-down timings)\n"
               "global\n"
               "    stats socket "
            << socket_
            << " mode 600 level admin\n"
               "    maxconn 2000\n"
               "    log stderr format raw local0 info\n"
               "defaults\n"
               "    mode http\n"
               "    log global\n"
               "    option httplog\n"
               "    option dontlog-normal          # log only errors and non-2xx/3xx\n"
               "    timeout connect 500ms          # a stopped task is refused at once anyway\n"
               "    timeout server 10s             # requests take milliseconds; an ALB's idle timeout is 60 s\n"
               "    timeout client 30s\n"
               "    timeout check 2s               # the target group's HealthCheckTimeoutSeconds\n"
               "    retries 0                      # a failed request is a failed request\n"
               "    # no 'option redispatch': an ALB does not resend a request to another target\n"
               "frontend fe\n"
               "    bind 127.0.0.1:"
            << port_
            << "\n"
               "    default_backend tg\n"
               "backend tg\n"
               "    balance roundrobin\n"
               "    option httpchk GET /health\n"
               "    http-check expect status 200\n"
               "    http-response set-header X-Served-By %s\n"
               "    # target-group.json: interval 5 s, healthy 2, unhealthy 2 -> scaled to 500 ms\n"
               "    default-server inter 500ms fall 2 rise 2\n";
        for (int i = 1; i <= kSlots; ++i) cfg << "    server s" << i << " 127.0.0.1:1 check\n";
        cfg.close();
        RunResult check =
            run({binary, "-c", "-f", dir + "/haproxy.cfg"}, base_env(), dir + "/haproxy-check", 20s);
        if (check.code != 0) throw HarnessError("haproxy -c failed: " + check.out + check.err);
        proc_ = std::make_unique<Child>("haproxy", std::vector<std::string>{binary, "-db", "-f", dir + "/haproxy.cfg"},
                                        base_env(), dir + "/haproxy");
        const auto until = Clock::now() + 10s;
        while (true) {
            check_abort();
            if (!proc_->running()) throw HarnessError("haproxy exited: " + proc_->err());
            try {
                if (command("show info").find("Name: HAProxy") != std::string::npos) break;
            } catch (const HarnessError&) {
            }
            if (Clock::now() > until) throw HarnessError("haproxy's stats socket never answered");
            std::this_thread::sleep_for(20ms);
        }
    }

    int port() const { return port_; }
    Child& process() { return *proc_; }

    // One command over the stats socket (a connection per command, as socat would).
    std::string command(const std::string& cmd) const {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) throw HarnessError("socket failed");
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_.c_str());
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd);
            throw HarnessError("cannot connect to haproxy's stats socket");
        }
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        const std::string line = cmd + "\n";
        if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
            ::close(fd);
            throw HarnessError("cannot write to haproxy's stats socket");
        }
        std::string out;
        char buf[8192];
        ssize_t n;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
        ::close(fd);
        return out;
    }

    // `show stat` for the servers of backend tg, by name (s1..sN). On a busy machine the CLI can
    // answer late or with nothing: retried a few times before it counts as a harness error.
    std::map<std::string, ServerStat> stats() const {
        for (int attempt = 1;; ++attempt) {
            try {
                return stats_once();
            } catch (const HarnessError&) {
                if (attempt >= 5) throw;
                std::this_thread::sleep_for(100ms);
            }
        }
    }

    std::map<std::string, ServerStat> stats_once() const {
        const std::string csv = command("show stat");
        std::map<std::string, ServerStat> out;
        std::istringstream in(csv);
        std::string line;
        std::vector<std::string> header;
        auto split = [](const std::string& l) {
            std::vector<std::string> f;
            std::string cur;
            for (char c : l) {
                if (c == ',') {
                    f.push_back(cur);
                    cur.clear();
                } else {
                    cur += c;
                }
            }
            f.push_back(cur);
            return f;
        };
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            if (starts_with(line, "# ")) {
                header = split(line.substr(2));
                continue;
            }
            const auto f = split(line);
            if (header.empty() || f.size() < header.size() || f[0] != "tg" || !starts_with(f[1], "s")) continue;
            ServerStat s;
            for (size_t i = 0; i < header.size(); ++i) {
                if (header[i] == "status") s.status = f[i];
                if (header[i] == "stot") s.sessions = f[i].empty() ? 0 : std::stoll(f[i]);
                if (header[i] == "check_status") s.check_status = f[i];
            }
            out[f[1]] = s;
        }
        if (out.size() != static_cast<size_t>(kSlots)) throw HarnessError("unexpected `show stat` output: " + csv);
        return out;
    }

    // ECS registering a target: traffic to app_port, health checks to check_port.
    void register_target(int slot, int app_port, int check_port) const {
        const std::string s = "tg/s" + std::to_string(slot);
        expect_ok(command("set server " + s + " check-port " + std::to_string(check_port)), "check-port");
        expect_ok(command("set server " + s + " addr 127.0.0.1 port " + std::to_string(app_port)), "addr");
    }

    std::string error_log() const { return proc_->err(); }

private:
    static void expect_ok(const std::string& reply, const std::string& what) {
        // HAProxy answers an empty line or an informative sentence; errors say so.
        const std::string r = trim(reply);
        if (r.find("No such") != std::string::npos || r.find("require") != std::string::npos ||
            r.find("Unknown") != std::string::npos || r.find("invalid") != std::string::npos) {
            throw HarnessError("haproxy set server " + what + ": " + r);
        }
    }

    std::string dir_;
    std::string socket_;
    int port_ = 0;
    std::unique_ptr<Child> proc_;
};

// ----------------------------------------------------------------------------------- load

struct Failure {
    double t = 0;  // seconds since the run started, when the failure was seen
    double started = 0;  // when the request was sent
    int phase = 0;
    std::string op;
    int status = 0;      // 0: no response (connection error)
    std::string detail;  // httplib error or body excerpt
    std::string server;  // X-Served-By (HAProxy's server name), if any
};

// Keep-alive client threads sending /orders reads and writes through HAProxy at a fixed total rate.
// Every non-2xx response and every connection error is a failure; nothing is retried.
class Load {
public:
    static constexpr int kMaxPhases = 12;

    Load(int port, int threads, double rate, Clock::time_point t0) : port_(port), threads_(threads), t0_(t0) {
        period_ = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(threads / rate));
    }
    ~Load() { stop(); }

    void set_phase(int p) { phase_ = p; }
    void start() {
        for (int i = 0; i < threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
    }
    void stop() {
        stop_ = true;
        for (auto& w : workers_) w.join();
        workers_.clear();
    }

    long long requests(int phase) const { return phases_[static_cast<size_t>(phase)].requests; }
    long long failed(int phase) const { return phases_[static_cast<size_t>(phase)].failed; }
    long long conn_errors(int phase) const { return phases_[static_cast<size_t>(phase)].conn_errors; }
    long long total_requests() const {
        long long n = 0;
        for (const auto& p : phases_) n += p.requests;
        return n;
    }
    long long total_failed() const {
        long long n = 0;
        for (const auto& p : phases_) n += p.failed;
        return n;
    }
    long long total_conn_errors() const {
        long long n = 0;
        for (const auto& p : phases_) n += p.conn_errors;
        return n;
    }
    std::vector<Failure> failures() const {
        std::lock_guard<std::mutex> lock(mu_);
        return failures_;
    }

private:
    struct Counts {
        std::atomic<long long> requests{0}, failed{0}, conn_errors{0};
    };

    void worker(int index) {
        std::mt19937 rng(static_cast<unsigned>(index * 7919 + 17));
        httplib::Client cli("127.0.0.1", port_);
        cli.set_keep_alive(true);
        cli.set_connection_timeout(2, 0);
        cli.set_read_timeout(30, 0);
        cli.set_write_timeout(5, 0);
        auto next = Clock::now() + period_ * index / threads_;
        long long n = 0;
        while (!stop_) {
            const auto now = Clock::now();
            if (next > now) {
                std::this_thread::sleep_for(std::min<Clock::duration>(next - now, 50ms));
                continue;
            }
            next += period_;
            if (Clock::now() - next > 1s) next = Clock::now();  // fell behind: do not burst

            const int phase = phase_;
            const double sent = secs(Clock::now() - t0_);
            const int dice = static_cast<int>(rng() % 100);
            std::string op;
            long long id = 0;
            {
                std::lock_guard<std::mutex> lock(mu_);
                if (dice < 45 && !ids_.empty()) id = ids_[rng() % ids_.size()];
            }
            httplib::Result res{nullptr, httplib::Error::Unknown};
            if (id > 0) {
                op = "GET /orders/" + std::to_string(id);
                res = cli.Get(op.substr(4));
            } else if (dice < 70) {
                op = "GET /orders?limit=5";
                res = cli.Get("/orders?limit=5");
            } else {
                op = "POST /orders";
                const std::string body =
                    nlohmann::json{{"customer", "c" + std::to_string(index) + "-" + std::to_string(++n)}}.dump();
                res = cli.Post("/orders", body, "application/json");
            }
            auto& counts = phases_[static_cast<size_t>(phase)];
            ++counts.requests;
            if (!res) {
                ++counts.failed;
                ++counts.conn_errors;
                record({secs(Clock::now() - t0_), sent, phase, op, 0, httplib::to_string(res.error()), ""});
                continue;
            }
            if (res->status < 200 || res->status > 299) {
                ++counts.failed;
                std::string body = res->body.substr(0, 120);
                body.erase(std::remove(body.begin(), body.end(), '\n'), body.end());
                record({secs(Clock::now() - t0_), sent, phase, op, res->status, body,
                        res->get_header_value("X-Served-By")});
                continue;
            }
            if (op == "POST /orders") {
                const auto j = nlohmann::json::parse(res->body, nullptr, false);
                if (j.is_object() && j.contains("id") && j["id"].is_number_integer()) {
                    std::lock_guard<std::mutex> lock(mu_);
                    ids_.push_back(j["id"].get<long long>());
                }
            }
        }
    }

    void record(Failure f) {
        std::lock_guard<std::mutex> lock(mu_);
        failures_.push_back(std::move(f));
    }

    int port_;
    int threads_;
    Clock::time_point t0_;
    Clock::duration period_{};
    std::atomic<int> phase_{0};
    std::atomic<bool> stop_{false};
    std::array<Counts, kMaxPhases> phases_;
    mutable std::mutex mu_;
    std::vector<long long> ids_;
    std::vector<Failure> failures_;
    std::vector<std::thread> workers_;
};

// -------------------------------------------------------------------------- server watcher

// Polls HAProxy's `show stat` every 50 ms for the whole run. For each registered task it records
// when HAProxy first saw it UP, how many requests HAProxy had sent it before that (must be 0), and
// when HAProxy marked it DOWN after it was told to stop.
class Watcher {
public:
    struct Slot {
        bool registered = false;
        long long base_sessions = 0;  // stot when the task was registered
        bool ever_up = false;
        long long sessions_before_up = 0;
        double up_at = -1;
        double stop_at = -1;
        std::vector<double> downs;  // each time it went from UP to not UP
        // The first time it left UP at or after `since`, or -1.
        double down_after(double since) const {
            for (double d : downs) {
                if (d >= since) return d;
            }
            return -1;
        }
        // Times it left UP before `until` (a serving task failing health checks).
        int flaps_before(double until) const {
            int n = 0;
            for (double d : downs) n += d < until ? 1 : 0;
            return n;
        }
        bool was_up = false;
        ServerStat last;
    };

    Watcher(const Haproxy& hap, Clock::time_point t0) : hap_(hap), t0_(t0) {
        thread_ = std::thread([this] {
            while (!stop_) {
                try {
                    poll();
                } catch (const std::exception& e) {
                    // Only a lasting failure counts: stats() already retried.
                    std::lock_guard<std::mutex> lock(mu_);
                    error_ = e.what();
                }
                std::this_thread::sleep_for(50ms);
            }
        });
    }
    ~Watcher() {
        stop_ = true;
        thread_.join();
    }

    void poll() {
        const auto stats = hap_.stats();
        const double t = secs(Clock::now() - t0_);
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [name, st] : stats) {
            Slot& s = slots_[name];
            s.last = st;
            if (!s.registered) continue;
            if (!s.ever_up) {
                if (st.up()) {
                    s.ever_up = true;
                    s.up_at = t;
                } else {
                    s.sessions_before_up = st.sessions - s.base_sessions;
                }
            }
            if (s.was_up && !st.up()) s.downs.push_back(t);
            s.was_up = st.up();
        }
    }

    void registered(int slot) {
        poll();
        std::lock_guard<std::mutex> lock(mu_);
        Slot& s = slots_["s" + std::to_string(slot)];
        s.registered = true;
        s.base_sessions = s.last.sessions;
    }
    void stopping(int slot) {
        std::lock_guard<std::mutex> lock(mu_);
        slots_["s" + std::to_string(slot)].stop_at = secs(Clock::now() - t0_);
    }
    Slot slot(int slot) {
        std::lock_guard<std::mutex> lock(mu_);
        return slots_["s" + std::to_string(slot)];
    }
    std::string error() {
        std::lock_guard<std::mutex> lock(mu_);
        return error_;
    }

private:
    const Haproxy& hap_;
    Clock::time_point t0_;
    std::mutex mu_;
    std::map<std::string, Slot> slots_;
    std::string error_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// ----------------------------------------------------------------------------------- tasks

enum class Variant { embedded, sidecar, naive };

std::string variant_name(Variant v) {
    switch (v) {
        case Variant::embedded: return "embedded";
        case Variant::sidecar: return "sidecar";
        case Variant::naive: return "naive";
    }
    return "?";
}

struct Config {
    std::string orders;
    std::string readyprobe;
    std::string servers_sh;
    std::string haproxy;
    int threads = 6;
    double rate = 450;
    int min_requests = 10000;
};

// Scaled-down ECS timings (task-definitions/README.md): the ALB notices a 503 within
// unhealthy 2 x interval 5 s = 10 s and READYPROBE_DRAIN is 15 s; here HAProxy notices within
// fall 2 x inter 500 ms = 1 s (plus up to one interval until the first failing check) and the
// drain is 5 s. The wider margin is for the test machine, not for readyprobe: on a shared
// two-core runner other jobs can starve HAProxy's checks for seconds (the stall row shows it),
// while the drain's clock keeps running. Checks run every 500 ms.
constexpr const char* kDrain = "5s";
constexpr const char* kInterval = "500ms";

// The schema each version needs: the oldest migration it works with and the columns it reads.
int version_migration(const std::string& v) { return v == "v1" ? 1 : v == "v2" ? 2 : 3; }
std::string version_require(const std::string& v) {
    if (v == "v1") return "orders.customer_name";
    if (v == "v2") return "orders.customer_name,orders.customer";
    return "orders.customer";
}

// One ECS task: orders-service, plus a readyprobe sidecar in the sidecar variant.
struct Task {
    std::string name;  // "v1-a" ...
    std::string version;
    int slot = 0;
    int app_port = 0;
    int probe_port = 0;  // where HAProxy health-checks it (the app's port unless sidecar)
    std::unique_ptr<Child> app;
    std::unique_ptr<Child> sidecar;
    bool stopped = false;
    std::optional<int> app_exit;
    std::optional<int> sidecar_exit;
    double stop_at = -1;
    double exit_at = -1;  // when the last of its processes exited (s since t0)

    bool running() {
        const bool a = app && app->running();
        const bool s = sidecar && sidecar->running();
        return a || s;
    }
};

class Deployment {
public:
    Deployment(const Config& cfg, Variant variant, const std::string& dir, const std::string& db_url, Haproxy& hap,
               Watcher& watcher, Clock::time_point t0)
        : cfg_(cfg), variant_(variant), dir_(dir), db_url_(db_url), hap_(hap), watcher_(watcher), t0_(t0) {}

    Task& start(const std::string& version, const std::string& name) {
        auto task = std::make_unique<Task>();
        task->name = name;
        task->version = version;
        task->slot = next_slot_++;
        if (task->slot > Haproxy::kSlots) throw HarnessError("out of HAProxy server slots");
        task->app_port = free_port();
        Env app = base_env();
        app["ORDERS_DATABASE_URL"] = db_url_;
        app["ORDERS_VERSION"] = version;
        app["ORDERS_LISTEN"] = "127.0.0.1:" + std::to_string(task->app_port);
        app["READYPROBE_INTERVAL"] = kInterval;
        app["READYPROBE_DRAIN"] = kDrain;
        app["READYPROBE_DETAILS"] = "full";
        const std::string db_gate = "golang-migrate>=" + std::to_string(version_migration(version));
        if (variant_ == Variant::embedded) {
            // The app declares its columns itself (REQUIRE); the operator adds the migration gate.
            app["READYPROBE_CHECK_DB"] = db_url_;
            app["READYPROBE_CHECK_DB_MIGRATION"] = db_gate;
        }
        if (variant_ == Variant::naive) app["ORDERS_NAIVE_HEALTH"] = "1";
        if (announce && variant_ == Variant::embedded) {
            // The operator's db check keeps the lease; the app adds what this version reads and
            // writes to its REQUIRE.
            app["READYPROBE_CHECK_DB_ANNOUNCE"] = "orders-service/" + version;
        }
        // A lease expires 3 x interval + timeout after its last renewal: 3.5 s with a 2 s timeout,
        // so a SIGKILLed task's lease is still there when the guard looks right after the kill.
        if (announce) app["READYPROBE_TIMEOUT"] = "2s";
        task->probe_port = task->app_port;
        if (variant_ == Variant::sidecar) {
            task->probe_port = free_port();
            Env sc = base_env();
            sc["READYPROBE_LISTEN"] = "127.0.0.1:" + std::to_string(task->probe_port);
            sc["READYPROBE_INTERVAL"] = kInterval;
            sc["READYPROBE_DRAIN"] = kDrain;
            sc["READYPROBE_DETAILS"] = "full";
            sc["READYPROBE_CHECK_DB"] = db_url_;
            sc["READYPROBE_CHECK_DB_MIGRATION"] = db_gate;
            sc["READYPROBE_CHECK_DB_REQUIRE"] = version_require(version);
            sc["READYPROBE_CHECK_APP"] = "http://127.0.0.1:" + std::to_string(task->app_port) + "/livez";
            sc["READYPROBE_CHECK_APP_GROUPS"] = "ready";
            if (announce) {
                sc["READYPROBE_CHECK_DB_ANNOUNCE"] = "orders-service/" + version;
                sc["READYPROBE_TIMEOUT"] = "2s";
            }
            task->sidecar = std::make_unique<Child>(name + "/readyprobe",
                                                    std::vector<std::string>{cfg_.readyprobe, "serve"}, sc,
                                                    dir_ + "/" + name + "-readyprobe");
        }
        task->app = std::make_unique<Child>(name + "/orders-service",
                                            std::vector<std::string>{cfg_.orders, "serve"}, app,
                                            dir_ + "/" + name + "-orders");
        hap_.register_target(task->slot, task->app_port, task->probe_port);
        watcher_.registered(task->slot);
        say("start " + name + " (" + version + ") -> s" + std::to_string(task->slot) + ", app :" +
            std::to_string(task->app_port) +
            (variant_ == Variant::sidecar ? ", sidecar :" + std::to_string(task->probe_port) : std::string()));
        tasks_.push_back(std::move(task));
        return *tasks_.back();
    }

    // Waits until HAProxy has the task UP (it passed `rise` health checks).
    void wait_up(Task& t, std::chrono::seconds timeout = 30s) {
        const auto until = Clock::now() + timeout;
        while (!watcher_.slot(t.slot).ever_up) {
            check_abort();
            if (!t.running()) throw HarnessError(t.name + " exited before it turned UP:\n" + logs(t));
            if (Clock::now() > until) {
                throw HarnessError(t.name + " never turned UP in HAProxy (status " + watcher_.slot(t.slot).last.status +
                                   ", check " + watcher_.slot(t.slot).last.check_status + "):\n" + logs(t));
            }
            std::this_thread::sleep_for(20ms);
        }
        say(t.name + " is UP in HAProxy");
    }

    // Like ECS stopping a task: SIGTERM to every container at once (no deregistration first:
    // the drain is what protects requests when the load balancer still routes to the task).
    void stop(Task& t) {
        watcher_.stopping(t.slot);
        t.stop_at = now();
        t.app->signal(SIGTERM);
        if (t.sidecar) t.sidecar->signal(SIGTERM);
        t.stopped = true;
        say("SIGTERM " + t.name);
    }

    void wait_exit(Task& t) {
        const auto until = Clock::now() + 20s;
        while (t.running()) {
            check_abort();
            if (Clock::now() > until) throw HarnessError(t.name + " did not exit within 20 s of SIGTERM");
            std::this_thread::sleep_for(10ms);
        }
        t.app_exit = t.app->poll();
        if (t.sidecar) t.sidecar_exit = t.sidecar->poll();
        Clock::time_point last = t.app->exited_at();
        if (t.sidecar) last = std::max(last, t.sidecar->exited_at());
        t.exit_at = secs(last - t0_);
        say(t.name + " exited (" + std::to_string(*t.app_exit) +
            (t.sidecar ? ", sidecar " + std::to_string(*t.sidecar_exit) : std::string()) + ")");
    }

    // Like ECS when a task is stopped hard after its deregistration: HAProxy stops sending it
    // requests (maint), in-flight ones finish, then every container gets SIGKILL: no drain, so
    // its lease stays until it expires.
    void kill_deregistered(Task& t) {
        const std::string reply = trim(hap_.command("set server tg/s" + std::to_string(t.slot) + " state maint"));
        if (!reply.empty()) throw HarnessError("haproxy set server state maint: " + reply);
        watcher_.stopping(t.slot);
        nap(1000ms);
        t.stop_at = now();
        t.app->signal(SIGKILL);
        if (t.sidecar) t.sidecar->signal(SIGKILL);
        t.stopped = true;
        say("deregistered, then SIGKILL " + t.name);
    }

    // A one-off command against the database (readyprobe guard, orders-service migrate): its
    // result, whatever the exit code.
    RunResult one_off(const std::string& label, const std::vector<std::string>& argv) {
        Env env = base_env();
        env["ORDERS_DATABASE_URL"] = db_url_;
        RunResult r = run(argv, env, dir_ + "/" + label, 60s);
        say(label + ": exit " + std::to_string(r.code) + "\n" + trim(r.out) + (r.err.empty() ? "" : "\n" + trim(r.err)));
        return r;
    }
    const std::string& db_url() const { return db_url_; }

    bool announce = false;  // tasks keep a lease (ANNOUNCE orders-service/<version>)

    // Runs `orders-service migrate --to N` as a one-off task; its exit code must be 0.
    void migrate(int to, const Env& extra = {}) {
        Env env = base_env();
        env["ORDERS_DATABASE_URL"] = db_url_;
        for (const auto& [k, v] : extra) env[k] = v;
        RunResult r = run({cfg_.orders, "migrate", "--to", std::to_string(to)}, env,
                          dir_ + "/migrate-" + std::to_string(to), 60s);
        if (r.code != 0) {
            throw HarnessError("orders-service migrate --to " + std::to_string(to) + " exited " +
                               std::to_string(r.code) + ": " + r.err);
        }
        say("migrate --to " + std::to_string(to) + ": exit 0 (" + tail_lines(trim(r.out), 1) + ")");
    }

    // The task's /health?verbose as HAProxy would see it (the sidecar's in the sidecar variant).
    std::string verbose_health(const Task& t) const {
        httplib::Client cli("127.0.0.1", t.probe_port);
        cli.set_connection_timeout(2, 0);
        cli.set_read_timeout(2, 0);
        auto res = cli.Get("/health?verbose");
        if (!res) return "(no answer: " + httplib::to_string(res.error()) + ")";
        return std::to_string(res->status) + " " + res->body;
    }

    std::string logs(Task& t) const {
        std::string out = "  " + t.name + " orders-service stderr:\n" + tail_lines(t.app->err(), 15);
        if (t.sidecar) out += "\n  " + t.name + " readyprobe stderr:\n" + tail_lines(t.sidecar->err(), 15);
        return out;
    }

    std::vector<std::unique_ptr<Task>>& tasks() { return tasks_; }

    void say(const std::string& msg) const {
        std::cout << "  [" << variant_name(variant_) << " " << std::fixed << std::setprecision(2) << std::setw(6)
                  << now() << "s] " << msg << std::endl;
    }
    double now() const { return secs(Clock::now() - t0_); }

private:
    const Config& cfg_;
    Variant variant_;
    std::string dir_;
    std::string db_url_;
    Haproxy& hap_;
    Watcher& watcher_;
    Clock::time_point t0_;
    int next_slot_ = 1;
    std::vector<std::unique_ptr<Task>> tasks_;
};

// --------------------------------------------------------------------------------- results

struct StopRecord {
    std::string task;
    double down_after = -1;  // s from SIGTERM until HAProxy had it DOWN (-1: never seen)
    double exit_after = -1;  // s from SIGTERM until its last process exited
    std::string exits;       // "0" or "0/0" (app/sidecar) or "143"
};

struct RunReport {
    Variant variant{};
    std::vector<std::string> phase_names;
    std::vector<long long> phase_requests, phase_failed;
    long long requests = 0, failed = 0, conn_errors = 0;
    std::vector<Failure> failures;
    double seconds = 0;
    std::vector<StopRecord> stops;
    // rolling: the v2 task started before the expand migration
    long long early_sessions_before_up = -1;
    long long early_sessions_before_migrate = -1;  // requests HAProxy sent it before migrate 2 ran
    double early_up_after_migrate = -1;  // s from migrate 2 until HAProxy had it UP
    bool early_up_before_migrate = false;
    long long sessions_before_up_any = 0;  // over every task started during the run
    // rolling: the long backfill (migrate 3, golang-migrate's protocol) with a v3 task waiting
    double backfill_seconds = -1;
    long long v3_sessions_during_backfill = -1;  // requests HAProxy sent the waiting v3 task before 3 was clean
    bool v3_up_during_backfill = false;
    int v2_down_during_backfill = 0;  // serving v2 tasks HAProxy marked DOWN while 3 ran
    std::string sessions_before_up_detail;
    // contract-early
    std::string v1_verbose;
    double v1_down_after_contract = -1;
    long long failed_after_down = 0;  // failures more than 0.3 s after HAProxy had the v1 task DOWN
    long long failed_before_contract = 0;  // answered before migrate --to 4 started
    // guard
    std::string guard_notes;               // what each guarded step printed and exited with
    std::vector<std::string> guard_problems;
    double kill_blocked_seconds = -1;      // from SIGKILL until guard --wait said safe
    std::string haproxy_errors;
    std::string task_logs;
    std::string stalls = "none";
    int flaps = 0;  // a serving task (not told to stop) marked DOWN by HAProxy
};

std::string describe_failures(const std::vector<Failure>& fs, const std::vector<std::string>& phases, size_t max) {
    // Group by (phase, status/error, server, body) and show counts, then a few raw samples.
    std::map<std::string, int> groups;
    for (const auto& f : fs) {
        std::ostringstream key;
        key << "phase " << f.phase << " (" << phases[static_cast<size_t>(f.phase)] << "): "
            << (f.status ? std::to_string(f.status) : "connection error " + f.detail)
            << (f.server.empty() ? "" : " from " + f.server)
            << (f.status ? " " + f.detail.substr(0, 60) : "") << " [" << f.op.substr(0, f.op.find('/', 5)) << "]";
        ++groups[key.str()];
    }
    std::ostringstream out;
    size_t n = 0;
    for (const auto& [k, c] : groups) {
        if (n++ >= max) {
            out << "    ... (" << groups.size() - max << " more kinds)\n";
            break;
        }
        out << "    " << std::setw(5) << c << " x " << k << "\n";
    }
    return out.str();
}

// ------------------------------------------------------------------------------- scenarios

struct Env4Run {
    std::string dir;
    std::unique_ptr<Postgres> pg;
    std::unique_ptr<Haproxy> hap;
    std::unique_ptr<Watcher> watcher;
    std::unique_ptr<Deployment> dep;
    std::unique_ptr<Load> load;
    Clock::time_point t0;
};

void wait_all_slots_down(Haproxy& hap) {
    // At start HAProxy assumes every server UP until its first check; the placeholders fail theirs.
    const auto until = Clock::now() + 10s;
    while (true) {
        check_abort();
        bool any_up = false;
        for (const auto& [name, st] : hap.stats()) any_up = any_up || st.up();
        if (!any_up) return;
        if (Clock::now() > until) throw HarnessError("HAProxy's placeholder servers never turned DOWN");
        std::this_thread::sleep_for(20ms);
    }
}

void setup(Env4Run& e, const Config& cfg, Variant v, const std::string& root, const std::string& tag) {
    e.dir = root + "/" + tag;
    ::mkdir(e.dir.c_str(), 0755);
    if (g_stalls) g_stalls->reset();
    e.t0 = Clock::now();
    e.pg = std::make_unique<Postgres>(cfg.servers_sh, e.dir + "/pg");
    e.hap = std::make_unique<Haproxy>(cfg.haproxy, e.dir);
    wait_all_slots_down(*e.hap);
    e.watcher = std::make_unique<Watcher>(*e.hap, e.t0);
    e.dep = std::make_unique<Deployment>(cfg, v, e.dir, e.pg->url(), *e.hap, *e.watcher, e.t0);
    e.load = std::make_unique<Load>(e.hap->port(), cfg.threads, cfg.rate, e.t0);
}

// Stops the load, then every process, HAProxy and PostgreSQL (in that order).
void teardown(Env4Run& e, RunReport& r) {
    if (e.load) e.load->stop();
    if (e.dep) {
        for (auto& t : e.dep->tasks()) {
            if (!t->stopped && t->running()) {
                t->app->signal(SIGKILL);
                if (t->sidecar) t->sidecar->signal(SIGKILL);
            }
        }
        for (auto& t : e.dep->tasks()) {
            if (t->app) t->app->wait_for(5000ms);
            if (t->sidecar) t->sidecar->wait_for(5000ms);
        }
    }
    if (e.hap) r.haproxy_errors = e.hap->error_log();
    e.load.reset();
    e.dep.reset();
    e.watcher.reset();
    e.hap.reset();
    e.pg.reset();
    std::error_code ec;
    std::filesystem::remove_all(e.dir + "/pg", ec);  // the logs stay until the run ends
}

void collect_load(const Load& load, RunReport& r) {
    if (g_stalls) r.stalls = g_stalls->summary();
    for (size_t p = 0; p < r.phase_names.size(); ++p) {
        r.phase_requests.push_back(load.requests(static_cast<int>(p)));
        r.phase_failed.push_back(load.failed(static_cast<int>(p)));
    }
    r.requests = load.total_requests();
    r.failed = load.total_failed();
    r.conn_errors = load.total_conn_errors();
    r.failures = load.failures();
}

StopRecord stop_record(Task& t, Watcher& w) {
    StopRecord s;
    s.task = t.name;
    const auto slot = w.slot(t.slot);
    const double down = slot.down_after(t.stop_at);
    if (down >= 0) s.down_after = down - t.stop_at;
    if (t.exit_at >= 0) s.exit_after = t.exit_at - t.stop_at;
    s.exits = t.app_exit ? std::to_string(*t.app_exit) : "?";
    if (t.sidecar) s.exits += "/" + (t.sidecar_exit ? std::to_string(*t.sidecar_exit) : "?");
    return s;
}

// The safe rollout, with a v2 task started before the expand migration.
// Batch size and pause for the backfill (ORDERS_MIGRATE_BATCH_SIZE / _PAUSE) so that it takes
// 12 s or a little more whatever the number of rows v1 wrote: at least 12 batches, 1 s apart.
Env backfill_pacing(const std::string& db_url, const std::string& dir) {
    RunResult r = run({"/usr/bin/psql", "-X", "-q", "-t", "-A", "-c",
                       "SELECT count(*) FROM orders WHERE customer IS NULL AND customer_name IS NOT NULL", db_url},
                      base_env(), dir + "/backfill-rows", 30s);
    if (r.code != 0) throw HarnessError("counting the rows to backfill failed: " + r.err);
    const long long rows = std::stoll(trim(r.out));
    if (rows < 12) throw HarnessError("only " + std::to_string(rows) + " rows to backfill (want >= 12)");
    return {{"ORDERS_MIGRATE_BATCH_SIZE", std::to_string(rows / 12)}, {"ORDERS_MIGRATE_BATCH_PAUSE", "1s"}};
}

RunReport rolling(const Config& cfg, Variant v, const std::string& root) {
    RunReport r;
    r.variant = v;
    r.phase_names = {"two v1 tasks serve",
                     "a v2 task starts before migrate 2 (expand)",
                     "migrate --to 2; the early v2 task turns UP",
                     "roll v1 -> v2 (new task UP, then SIGTERM an old one)",
                     "a v3 task starts; migrate --to 3 (backfill, >= 10 s, dirty throughout)",
                     "roll v2 -> v3",
                     "migrate --to 4 (contract) with only v3 left; v3 serves"};
    Env4Run e;
    try {
        setup(e, cfg, v, root, "rolling-" + variant_name(v));
        Deployment& d = *e.dep;
        Load& load = *e.load;
        d.migrate(1);
        Task& a = d.start("v1", "v1-a");
        Task& b = d.start("v1", "v1-b");
        d.wait_up(a);
        d.wait_up(b);

        load.set_phase(0);
        load.start();
        d.say("load started");
        nap(2000ms);

        load.set_phase(1);
        Task& c = d.start("v2", "v2-c");
        nap(3000ms);  // six health-check intervals: a ready v2 would be UP by now
        {
            e.watcher->poll();
            const auto s = e.watcher->slot(c.slot);
            r.early_up_before_migrate = s.ever_up;
            r.early_sessions_before_migrate = s.last.sessions - s.base_sessions;
            d.say("before migrate 2: v2-c is " + s.last.status + ", " +
                  std::to_string(s.last.sessions - s.base_sessions) + " requests sent to it; /health?verbose: " +
                  trim(d.verbose_health(c)).substr(0, 200));
        }

        load.set_phase(2);
        const double migrated_at = d.now();
        d.migrate(2);
        d.wait_up(c);
        r.early_up_after_migrate = e.watcher->slot(c.slot).up_at - migrated_at;
        r.early_sessions_before_up = e.watcher->slot(c.slot).sessions_before_up;

        load.set_phase(3);
        d.stop(a);
        Task& dd = d.start("v2", "v2-d");
        d.wait_up(dd);
        d.stop(b);
        d.wait_exit(a);
        d.wait_exit(b);

        load.set_phase(4);
        // A v3 task starts, then the backfill runs for at least 10 s with golang-migrate's protocol
        // ("3, dirty" committed first, the body, then "3, clean"): the v2 tasks (gated on 2) must
        // stay UP, the v3 task (gated on 3) must get nothing until 3 is clean. The naive variant
        // has no gate to prove and runs the backfill at full speed.
        Task& ee = d.start("v3", "v3-e");
        Env pacing;
        if (v != Variant::naive) pacing = backfill_pacing(e.pg->url(), e.dir);
        const double backfill_start = d.now();
        d.migrate(3, pacing);
        const double backfill_end = d.now();
        e.watcher->poll();
        {
            r.backfill_seconds = backfill_end - backfill_start;
            const auto s = e.watcher->slot(ee.slot);
            r.v3_up_during_backfill = s.ever_up && s.up_at <= backfill_end;
            r.v3_sessions_during_backfill = s.ever_up ? s.sessions_before_up : s.last.sessions - s.base_sessions;
            for (Task* t : {&c, &dd}) {
                const double down = e.watcher->slot(t->slot).down_after(backfill_start);
                if (down >= 0 && down <= backfill_end) ++r.v2_down_during_backfill;
            }
            d.say("backfill took " + fmt_s(r.backfill_seconds) + "; v3-e got " +
                  with_commas(r.v3_sessions_during_backfill) + " requests before 3 was clean");
        }

        load.set_phase(5);
        d.wait_up(ee);
        d.stop(c);
        Task& f = d.start("v3", "v3-f");
        d.wait_up(f);
        d.stop(dd);
        d.wait_exit(c);
        d.wait_exit(dd);

        load.set_phase(6);
        for (auto& t : d.tasks()) {
            if (t->version != "v3" && t->running()) throw HarnessError("a " + t->version + " task still runs");
        }
        d.migrate(4);
        nap(2000ms);
        // Keep v3 serving until the run has its minimum number of requests.
        const auto until = Clock::now() + 60s;
        while (load.total_requests() < cfg.min_requests && Clock::now() < until) nap(100ms);
        load.stop();
        d.say("load stopped: " + with_commas(load.total_requests()) + " requests, " +
              with_commas(load.total_failed()) + " failed");
        r.seconds = d.now();

        for (Task* t : {&a, &b, &c, &dd}) r.stops.push_back(stop_record(*t, *e.watcher));
        for (auto& t : d.tasks()) {
            const auto s = e.watcher->slot(t->slot);
            r.flaps += s.flaps_before(t->stop_at >= 0 ? t->stop_at : 1e9);
            r.sessions_before_up_any += s.sessions_before_up;
            if (s.sessions_before_up > 0) {
                r.sessions_before_up_detail += t->name + ": " + std::to_string(s.sessions_before_up) + " ";
            }
        }
        collect_load(load, r);
        if (!e.watcher->error().empty()) throw HarnessError("stats watcher: " + e.watcher->error());
        if (r.failed > 0) {
            for (auto& t : d.tasks()) r.task_logs += d.logs(*t) + "\n";
        }
    } catch (...) {
        teardown(e, r);
        throw;
    }
    teardown(e, r);
    return r;
}

// The contract migration run while a v1 task still serves (next to a v3 task).
RunReport contract_early(const Config& cfg, Variant v, const std::string& root) {
    RunReport r;
    r.variant = v;
    r.phase_names = {"a v1 and a v3 task serve (schema at 3)", "migrate --to 4 (contract) too early, until 6 s after it"};
    Env4Run e;
    try {
        setup(e, cfg, v, root, "contract-" + variant_name(v));
        Deployment& d = *e.dep;
        Load& load = *e.load;
        d.migrate(3);
        Task& a = d.start("v1", "v1-a");
        Task& b = d.start("v3", "v3-b");
        d.wait_up(a);
        d.wait_up(b);
        load.set_phase(0);
        load.start();
        d.say("load started");
        nap(2000ms);

        load.set_phase(1);
        const double contract_started = d.now();
        d.migrate(4);
        const double contract_at = d.now();  // the migration has committed by now
        nap(6000ms);
        r.v1_verbose = trim(d.verbose_health(a));
        d.say("v1-a /health?verbose: " + r.v1_verbose);
        load.stop();
        r.seconds = d.now();
        collect_load(load, r);
        if (!e.watcher->error().empty()) throw HarnessError("stats watcher: " + e.watcher->error());
        const auto s = e.watcher->slot(a.slot);
        for (const auto& f : r.failures) r.failed_before_contract += f.t < contract_started ? 1 : 0;
        const double down = s.down_after(contract_started);
        if (down >= 0) {
            r.v1_down_after_contract = down - contract_at;
            for (const auto& f : r.failures) r.failed_after_down += f.t > down + 0.3 ? 1 : 0;
        }
        r.flaps = s.flaps_before(contract_started) + e.watcher->slot(b.slot).flaps_before(1e9);
        if (r.failed > 0) {
            for (auto& t : d.tasks()) r.task_logs += d.logs(*t) + "\n";
        }
    } catch (...) {
        teardown(e, r);
        throw;
    }
    teardown(e, r);
    return r;
}


// The guarded contract: v1 and v3 serve and announce; the contract is refused while any v1 lives
// (drained or SIGKILLed and not yet expired), then runs. No request may fail.
RunReport guarded_contract(const Config& cfg, Variant v, const std::string& root) {
    RunReport r;
    r.variant = v;
    r.phase_names = {"v1 x2 and v3 serve, announcing (schema at 3)",
                     "guard --drops and migrate --to 4 refused while v1 serves",
                     "v1-a drains (SIGTERM); v1-b deregistered and SIGKILLed; guard blocks until its lease expires",
                     "migrate --to 4 (contract) runs; v3 serves"};
    Env4Run e;
    auto expect = [&](bool ok, const std::string& what) {
        if (!ok) r.guard_problems.push_back(what);
    };
    auto has = [](const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; };
    try {
        setup(e, cfg, v, root, "guard-" + variant_name(v));
        Deployment& d = *e.dep;
        Load& load = *e.load;
        d.announce = true;
        d.migrate(3);
        Task& a = d.start("v1", "v1-a");
        Task& b = d.start("v1", "v1-b");
        Task& c = d.start("v3", "v3-c");
        d.wait_up(a);
        d.wait_up(b);
        d.wait_up(c);
        auto psql = [&](const std::string& sql) {
            RunResult q = run({"/usr/bin/psql", "-X", "-q", "-t", "-A", "-c", sql, d.db_url()}, base_env(),
                              e.dir + "/psql", 30s);
            return trim(q.out);
        };
        const auto until = Clock::now() + 20s;
        while (psql("SELECT count(*) FROM readyprobe.leases WHERE expires_at > now()") != "3") {
            check_abort();
            if (Clock::now() > until) throw HarnessError("the three tasks' leases never appeared");
            nap(100ms);
        }
        d.say("leases: " + psql("SELECT string_agg(service || '/' || version || ' ' || task, ', ' ORDER BY task) "
                                "FROM readyprobe.leases"));
        load.set_phase(0);
        load.start();
        d.say("load started");
        nap(2000ms);

        load.set_phase(1);
        const std::vector<std::string> guard{cfg.readyprobe, "guard", "--drops", "orders.customer_name", "--url",
                                             d.db_url()};
        RunResult g = d.one_off("guard-1", guard);
        r.guard_notes += "guard --drops orders.customer_name while v1 x2 + v3 serve: exit " + std::to_string(g.code) +
                         "\n" + trim(g.out) + "\n";
        expect(g.code == 1, "guard while v1 serves: exit " + std::to_string(g.code) + " (want 1)");
        expect(has(g.out, "guard: refused: 2 live task(s)"), "guard did not name 2 live tasks: " + g.out);
        expect(!has(g.out, "orders-service/v3"), "guard named the v3 task: " + g.out);
        RunResult m = d.one_off("migrate-4-refused", {cfg.orders, "migrate", "--to", "4"});
        r.guard_notes += "orders-service migrate --to 4 while v1 serves: exit " + std::to_string(m.code) + "\n" +
                         trim(m.out) + "\n" + trim(m.err) + "\n";
        expect(m.code == 1, "migrate --to 4 while v1 serves: exit " + std::to_string(m.code) + " (want 1)");
        expect(psql("SELECT version::text || ' ' || dirty::text FROM schema_migrations") == "3 false",
               "after the refused contract the schema is not at \"3 false\"");
        expect(psql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = "
                    "'customer_name'") == "1",
               "the refused contract dropped the column anyway");
        nap(2000ms);

        load.set_phase(2);
        d.stop(a);
        d.wait_exit(a);
        d.kill_deregistered(b);
        d.wait_exit(b);
        const auto killed = Clock::now();
        g = d.one_off("guard-2", guard);
        r.guard_notes += "guard after v1-a drained and v1-b was SIGKILLed: exit " + std::to_string(g.code) + "\n" +
                         trim(g.out) + "\n";
        expect(g.code == 1 && has(g.out, "guard: refused: 1 live task(s)"),
               "guard right after the SIGKILL: exit " + std::to_string(g.code) + " (want 1, naming v1-b only)");
        std::vector<std::string> waiting = guard;
        waiting.insert(waiting.end(), {"--wait", "30s"});
        g = d.one_off("guard-3", waiting);
        r.kill_blocked_seconds = secs(Clock::now() - killed);
        r.guard_notes += "guard --wait 30s: exit " + std::to_string(g.code) + " after " +
                         fmt_s(r.kill_blocked_seconds) + " since the SIGKILL\n" + tail_lines(trim(g.out), 2) + "\n";
        expect(g.code == 0, "guard --wait after the SIGKILL: exit " + std::to_string(g.code) + " (want 0)");
        expect(has(g.out, "waiting for orders-service/v1"), "guard --wait did not wait for the killed v1 task");

        load.set_phase(3);
        m = d.one_off("migrate-4", {cfg.orders, "migrate", "--to", "4"});
        r.guard_notes += "orders-service migrate --to 4 with only v3 left: exit " + std::to_string(m.code) + "\n" +
                         trim(m.out) + "\n";
        expect(m.code == 0, "migrate --to 4 with only v3: exit " + std::to_string(m.code) + " (want 0)");
        expect(psql("SELECT version::text || ' ' || dirty::text FROM schema_migrations") == "4 false",
               "after the contract the schema is not at \"4 false\"");
        nap(3000ms);
        load.stop();
        r.seconds = d.now();
        collect_load(load, r);
        r.flaps = e.watcher->slot(c.slot).flaps_before(1e9);
        r.stops.push_back(stop_record(a, *e.watcher));
        if (r.failed > 0) {
            for (auto& t : d.tasks()) r.task_logs += d.logs(*t) + "\n";
        }
    } catch (...) {
        teardown(e, r);
        throw;
    }
    teardown(e, r);
    return r;
}

}  // namespace zd

namespace zd {

// ---------------------------------------------------------------------------------- tables

std::string cell_failed(long long failed, long long requests) {
    return with_commas(failed) + " / " + with_commas(requests);
}

std::string percent(long long part, long long whole) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(1) << 100.0 * static_cast<double>(part) / static_cast<double>(std::max(1LL, whole))
      << " %";
    return o.str();
}

std::string table_row(const std::string& label, const std::vector<std::string>& cells) {
    std::string row = "| " + label + " |";
    for (const auto& c : cells) row += " " + c + " |";
    return row + "\n";
}

std::string header(const std::vector<RunReport>& runs) {
    std::string h = "| |", sep = "| --- |";
    for (const auto& r : runs) {
        h += r.variant == Variant::naive ? " naive /health (baseline) |" : " readyprobe " + variant_name(r.variant) + " |";
        sep += " --- |";
    }
    return h + "\n" + sep + "\n";
}

// Who answered a failed request: the app itself (its JSON error: it ran without its schema), the
// load balancer (HTML: it could not get an answer from the task it picked), or nobody.
std::string failure_causes(const RunReport& r) {
    long long app = 0, lb = 0, conn = 0;
    for (const auto& f : r.failures) {
        if (f.status == 0) {
            ++conn;
        } else if (starts_with(f.detail, "{")) {
            ++app;
        } else {
            ++lb;
        }
    }
    return with_commas(app) + " / " + with_commas(lb) + " / " + with_commas(conn);
}

std::string rolling_table(const std::vector<RunReport>& runs) {
    std::string out = header(runs);
    const auto& names = runs.front().phase_names;
    for (size_t p = 0; p < names.size(); ++p) {
        std::vector<std::string> cells;
        for (const auto& r : runs) cells.push_back(cell_failed(r.phase_failed[p], r.phase_requests[p]));
        out += table_row(std::to_string(p + 1) + ". " + names[p] + " (failed / requests)", cells);
    }
    std::vector<std::string> total, conn, early, early_up, any, stops, wall, backfill, v3_wait, v2_down;
    for (const auto& r : runs) {
        total.push_back("**" + cell_failed(r.failed, r.requests) + "**");
        conn.push_back(failure_causes(r));
        early.push_back(with_commas(r.early_sessions_before_migrate));
        early_up.push_back(r.early_up_before_migrate ? "before it (no schema gate)"
                                                     : fmt_s(r.early_up_after_migrate) + " after it");
        any.push_back(with_commas(r.sessions_before_up_any));
        backfill.push_back(fmt_s(r.backfill_seconds));
        v3_wait.push_back(with_commas(r.v3_sessions_during_backfill) +
                          (r.v3_up_during_backfill ? " (UP before 3 was clean)" : ""));
        v2_down.push_back(std::to_string(r.v2_down_during_backfill));
        std::string st;
        for (const auto& s : r.stops) {
            if (!st.empty()) st += "; ";
            st += s.task + ": DOWN " + (s.down_after >= 0 ? fmt_s(s.down_after) : std::string("never")) + ", exit " +
                  s.exits + " at " + fmt_s(s.exit_after);
        }
        stops.push_back(st);
        wall.push_back(fmt_s(r.seconds));
    }
    out += table_row("**total failed / requests**", total);
    out += table_row("failed: app's own 503 / HAProxy 502-504 (task gone) / connection errors", conn);
    out += table_row("requests HAProxy sent the early v2 task before migrate 2", early);
    out += table_row("the early v2 task turned UP, relative to migrate 2", early_up);
    out += table_row("requests HAProxy sent any new task before it had it UP", any);
    out += table_row("migrate 3 (backfill) duration, dirty throughout", backfill);
    out += table_row("requests HAProxy sent the v3 task before migration 3 was clean", v3_wait);
    out += table_row("serving v2 tasks HAProxy took out while migration 3 ran", v2_down);
    out += table_row("old tasks after SIGTERM: HAProxy DOWN, exit code (app/sidecar) and when", stops);
    out += table_row("duration of the run", wall);
    std::vector<std::string> stalls, flaps;
    for (const auto& r : runs) {
        stalls.push_back(r.stalls);
        flaps.push_back(std::to_string(r.flaps));
    }
    out += table_row("serving tasks HAProxy marked DOWN anyway (health-check flaps)", flaps);
    out += table_row("driver stalls > 0.5 s (a busy machine, for diagnosis)", stalls);
    return out;
}

std::string contract_table(const std::vector<RunReport>& runs) {
    std::string out = header(runs);
    std::vector<std::string> before, after, down, after_down, verbose;
    for (const auto& r : runs) {
        before.push_back(cell_failed(r.phase_failed[0], r.phase_requests[0]));
        after.push_back("**" + cell_failed(r.phase_failed[1], r.phase_requests[1]) + "** (" + percent(r.phase_failed[1], r.phase_requests[1]) + ")");
        down.push_back(r.v1_down_after_contract >= 0 ? fmt_s(r.v1_down_after_contract) : "never");
        after_down.push_back(r.v1_down_after_contract >= 0 ? with_commas(r.failed_after_down) : "-");
        std::string v;
        std::istringstream in(r.v1_verbose);
        std::string line;
        while (std::getline(in, line)) {
            if (line.find("[-]") != std::string::npos || starts_with(line, "200") || starts_with(line, "503")) {
                if (!v.empty()) v += " ";
                v += line;
            }
        }
        verbose.push_back("`" + v.substr(0, 110) + "`");
    }
    out += table_row("before the contract: failed / requests", before);
    out += table_row("**from the contract until 6 s after it: failed / requests**", after);
    out += table_row("v1 task DOWN in HAProxy, after migrate 4 returned", down);
    out += table_row("failures later than 0.3 s after it was DOWN", after_down);
    out += table_row("v1 task's `/health?verbose` (status, failing lines)", verbose);
    std::vector<std::string> stalls, flaps;
    for (const auto& r : runs) {
        stalls.push_back(r.stalls);
        flaps.push_back(std::to_string(r.flaps));
    }
    out += table_row("serving tasks HAProxy marked DOWN anyway (health-check flaps)", flaps);
    out += table_row("driver stalls > 0.5 s (a busy machine, for diagnosis)", stalls);
    return out;
}

std::string guard_table(const std::vector<RunReport>& runs) {
    std::string out = header(runs);
    const auto& names = runs.front().phase_names;
    for (size_t p = 0; p < names.size(); ++p) {
        std::vector<std::string> cells;
        for (const auto& r : runs) cells.push_back(cell_failed(r.phase_failed[p], r.phase_requests[p]));
        out += table_row(std::to_string(p + 1) + ". " + names[p] + " (failed / requests)", cells);
    }
    std::vector<std::string> total, blocked, wall;
    for (const auto& r : runs) {
        total.push_back("**" + cell_failed(r.failed, r.requests) + "**");
        blocked.push_back(fmt_s(r.kill_blocked_seconds));
        wall.push_back(fmt_s(r.seconds));
    }
    out += table_row("**total failed / requests**", total);
    out += table_row("a SIGKILLed v1 blocked the contract for (lease expiry)", blocked);
    out += table_row("duration of the run", wall);
    return out;
}

// ------------------------------------------------------------------------------ assertions

struct Verdict {
    std::vector<std::string> problems;
    void expect(bool ok, const std::string& what) {
        if (!ok) problems.push_back(what);
    }
};

void judge_rolling(const std::vector<RunReport>& runs, const Config& cfg, Verdict& v) {
    for (const auto& r : runs) {
        const std::string n = variant_name(r.variant);
        if (r.variant == Variant::naive) {
            v.expect(r.failed > 0, "naive: expected failed requests, got none");
            continue;
        }
        v.expect(r.failed == 0, n + ": " + std::to_string(r.failed) + " failed requests (want 0)");
        v.expect(r.requests >= cfg.min_requests,
                 n + ": only " + std::to_string(r.requests) + " requests (want >= " + std::to_string(cfg.min_requests) + ")");
        v.expect(!r.early_up_before_migrate, n + ": the early v2 task turned UP before migrate 2");
        v.expect(r.early_sessions_before_up == 0 && r.early_sessions_before_migrate == 0,
                 n + ": HAProxy sent the early v2 task " + std::to_string(r.early_sessions_before_migrate) +
                     " requests before migrate 2");
        v.expect(r.sessions_before_up_any == 0, n + ": requests sent to tasks before they were UP: " +
                                                    r.sessions_before_up_detail);
        v.expect(r.backfill_seconds >= 10, n + ": the backfill took " + fmt_s(r.backfill_seconds) + " (want >= 10 s)");
        v.expect(!r.v3_up_during_backfill && r.v3_sessions_during_backfill == 0,
                 n + ": the waiting v3 task got " + std::to_string(r.v3_sessions_during_backfill) +
                     " requests (UP: " + (r.v3_up_during_backfill ? "yes" : "no") + ") before migration 3 was clean");
        v.expect(r.v2_down_during_backfill == 0, n + ": " + std::to_string(r.v2_down_during_backfill) +
                                                     " serving v2 task(s) left HAProxy while migration 3 ran");
        for (const auto& s : r.stops) {
            v.expect(s.exits == "0" || s.exits == "0/0", n + ": " + s.task + " exited " + s.exits + " (want 0)");
            v.expect(s.down_after >= 0 && s.down_after < s.exit_after,
                     n + ": " + s.task + " was not DOWN in HAProxy before it exited (DOWN " + fmt_s(s.down_after) +
                         ", exit " + fmt_s(s.exit_after) + " after SIGTERM)");
        }
    }
}

void judge_guard(const std::vector<RunReport>& runs, Verdict& v) {
    for (const auto& r : runs) {
        const std::string n = variant_name(r.variant);
        v.expect(r.failed == 0, n + ": " + std::to_string(r.failed) + " failed requests (want 0)");
        v.expect(r.requests > 0, n + ": no requests were sent");
        for (const auto& p : r.guard_problems) v.expect(false, n + ": " + p);
    }
}

void judge_contract(const std::vector<RunReport>& runs, Verdict& v) {
    const RunReport* naive = nullptr;
    for (const auto& r : runs) {
        if (r.variant == Variant::naive) naive = &r;
    }
    for (const auto& r : runs) {
        const std::string n = variant_name(r.variant);
        if (r.variant == Variant::naive) {
            v.expect(r.phase_failed[1] > 0, "naive: expected failed requests after the contract, got none");
            continue;
        }
        v.expect(r.v1_verbose.find("missing: orders.customer_name") != std::string::npos,
                 n + ": the v1 task's /health?verbose does not name the missing column: " + r.v1_verbose);
        v.expect(starts_with(r.v1_verbose, "503"), n + ": the v1 task's /health is not 503: " + r.v1_verbose);
        v.expect(r.v1_down_after_contract >= 0, n + ": HAProxy never took the v1 task out");
        v.expect(r.failed_before_contract == 0, n + ": requests failed before the contract started");
        v.expect(r.failed_after_down == 0, n + ": " + std::to_string(r.failed_after_down) +
                                               " requests failed after the v1 task was DOWN");
        if (naive) {
            // Compare shares, not counts: on a busy machine the runs need not send as many requests.
            const double mine = static_cast<double>(r.phase_failed[1]) / std::max(1LL, r.phase_requests[1]);
            const double theirs =
                static_cast<double>(naive->phase_failed[1]) / std::max(1LL, naive->phase_requests[1]);
            v.expect(mine < theirs, n + ": not a smaller share of failed requests than the naive service (" +
                                        std::to_string(mine) + " vs " + std::to_string(theirs) + ")");
        }
    }
}

void dump_diagnostics(const RunReport& r) {
    if (r.failures.empty()) return;
    std::cout << "\n  " << variant_name(r.variant) << ": failures by kind:\n"
              << describe_failures(r.failures, r.phase_names, 25);
    if (r.variant == Variant::naive) return;
    std::cout << "  first failures (s since start):\n";
    for (size_t i = 0; i < r.failures.size() && i < 10; ++i) {
        const auto& f = r.failures[i];
        std::cout << "    sent " << std::fixed << std::setprecision(3) << f.started << ", failed " << f.t << " phase " << f.phase << " " << f.op << " -> "
                  << (f.status ? std::to_string(f.status) : "connection error") << " " << f.server << " " << f.detail
                  << "\n";
    }
    std::cout << "  haproxy (errors only):\n" << tail_lines(r.haproxy_errors, 40) << "\n" << r.task_logs << "\n";
}

}  // namespace zd

namespace {

void on_signal(int) { zd::g_abort = true; }

std::string find_haproxy() {
    for (const char* p : {"/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/bin/haproxy"}) {
        if (::access(p, X_OK) == 0) return p;
    }
    return "";
}

}  // namespace

int main(int argc, char** argv) {
    using namespace zd;
    Config cfg;
    std::string scenario = "all";
    std::vector<std::string> variants{"embedded", "sidecar", "naive"};
    int budget = 280;
    bool keep = false;
    CLI::App app{"zero-downtime proof: an expand/contract rollout of orders-service behind HAProxy, under load"};
    app.add_option("--orders", cfg.orders, "orders-service binary")->required();
    app.add_option("--readyprobe", cfg.readyprobe, "readyprobe binary")->required();
    app.add_option("--servers-sh", cfg.servers_sh, "scripts/servers.sh")->required();
    app.add_option("--haproxy", cfg.haproxy, "haproxy binary (default: found in /usr/sbin ...)");
    app.add_option("--scenario", scenario, "rolling, contract-early, guard or all")
        ->check(CLI::IsMember({"rolling", "contract-early", "guard", "all"}));
    app.add_option("--variants", variants, "embedded, sidecar, naive")
        ->delimiter(',')
        ->check(CLI::IsMember({"embedded", "sidecar", "naive"}));
    app.add_option("--rate", cfg.rate, "total requests per second")->check(CLI::Range(10.0, 5000.0));
    app.add_option("--threads", cfg.threads, "keep-alive client threads")->check(CLI::Range(1, 64));
    app.add_option("--min-requests", cfg.min_requests, "requests each rolling run must reach");
    app.add_option("--budget", budget, "seconds for the whole run before it gives up");
    app.add_flag("--keep", keep, "keep the temporary directory (logs, haproxy.cfg)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "zero_downtime: " << e.what() << "\n";
        return 2;
    }
    if (cfg.haproxy.empty()) cfg.haproxy = find_haproxy();
    if (cfg.haproxy.empty()) {
        std::cout << "SKIP: haproxy is not installed (scripts/install-deps.sh installs it)\n";
        return 77;
    }

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    StallDetector stall_detector;
    g_stalls = &stall_detector;
    const auto started = Clock::now();
    g_deadline = started + std::chrono::seconds(budget);

    char tmpl[] = "/tmp/rp-zd-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        std::cerr << "zero_downtime: mkdtemp failed\n";
        return 2;
    }
    const std::string root = tmpl;
    ::chmod(root.c_str(), 0755);  // the postgres user must enter it

    std::vector<Variant> vs;
    for (const auto& n : variants) {
        vs.push_back(n == "embedded" ? Variant::embedded : n == "sidecar" ? Variant::sidecar : Variant::naive);
    }
    int rc = 0;
    try {
        Verdict verdict;
        std::string tables;
        if (scenario == "rolling" || scenario == "all") {
            std::vector<RunReport> runs;
            for (Variant v : vs) {
                std::cout << "== rolling expand/contract deploy, " << variant_name(v) << "\n";
                runs.push_back(rolling(cfg, v, root));
            }
            judge_rolling(runs, cfg, verdict);
            tables += "Rolling deploy v1 -> migrate 2 -> v2 -> migrate 3 -> v3 -> migrate 4, under load:\n\n" +
                      rolling_table(runs) + "\n";
            for (const auto& r : runs) {
                if (r.variant != Variant::naive || !verdict.problems.empty()) dump_diagnostics(r);
            }
        }
        if (scenario == "contract-early" || scenario == "all") {
            std::vector<RunReport> runs;
            for (Variant v : vs) {
                std::cout << "== contract migration while a v1 task serves, " << variant_name(v) << "\n";
                runs.push_back(contract_early(cfg, v, root));
            }
            judge_contract(runs, verdict);
            tables += "Contract (migrate --to 4) run too early, while a v1 task serves next to a v3 task:\n\n" +
                      contract_table(runs) + "\n";
            for (const auto& r : runs) {
                if (r.variant != Variant::naive && !verdict.problems.empty()) dump_diagnostics(r);
            }
        }
        if (scenario == "guard" || scenario == "all") {
            std::vector<RunReport> runs;
            for (Variant v : vs) {
                if (v == Variant::naive) continue;  // no readyprobe, no lease
                std::cout << "== guarded contract: v1 and v3 announce, " << variant_name(v) << "\n";
                runs.push_back(guarded_contract(cfg, v, root));
            }
            if (runs.empty()) throw HarnessError("--scenario guard needs the embedded or sidecar variant");
            judge_guard(runs, verdict);
            for (const auto& r : runs) {
                std::cout << "\n" << variant_name(r.variant) << ": what the guard said\n" << r.guard_notes;
            }
            tables += "Guarded contract (readyprobe guard, orders-service migrate --to 4), under load:\n\n" +
                      guard_table(runs) + "\n";
            for (const auto& r : runs) {
                if (!verdict.problems.empty()) dump_diagnostics(r);
            }
        }
        std::cout << "\n" << tables;
        std::cout << "rate " << cfg.rate << " requests/s from " << cfg.threads << " keep-alive clients; whole run "
                  << fmt_s(secs(Clock::now() - started)) << "\n";
        if (verdict.problems.empty()) {
            std::cout << "PASS\n";
        } else {
            for (const auto& p : verdict.problems) std::cout << "FAIL: " << p << "\n";
            rc = 1;
        }
    } catch (const std::exception& e) {
        std::cout << "ERROR (harness): " << e.what() << "\n";
        rc = 2;
    }
    if (keep || rc != 0) {
        std::cout << "logs, haproxy.cfg and haproxy.err (errors only) kept in " << root << "\n";
    } else {
        std::error_code ec;
        std::filesystem::remove_all(root, ec);
    }
    return rc;
}
