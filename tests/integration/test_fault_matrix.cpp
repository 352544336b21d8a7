// The fault matrix (issue 3): one dependency fault per test case, each against its own real
// PostgreSQL / Redis / HTTP peer and the real `readyprobe serve` binary, checking the three
// timing promises an operator relies on:
//   - /health turns 503 within fall x (interval + jitter + timeout) + 500 ms of the fault,
//   - every /health answer during the fault takes < 100 ms (requests never run a check),
//   - once the fault is gone, /health is 200 again within rise x (interval + jitter) + timeout + 500 ms,
// plus "failing and timing-out runs leak neither file descriptors nor memory".
// Each fault prints one line, "matrix: <fault> detect=..ms recover=..ms max_health_ms=..".
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace rptest;

namespace {

// ------------------------------------------------------------------------------- the numbers

// Every fault runs with interval 500 ms, timeout 500 ms, fall 2, rise 1.
constexpr int kIntervalMs = 500;
constexpr int kTimeoutMs = 500;
constexpr int kFall = 2;
constexpr int kRise = 1;
// The scheduler stretches every interval by a random 0..10 % (ProberOptions::jitter = 0.1, the
// sidecar's default) so that many tasks do not probe a database in lockstep. The bounds count
// that explicitly: every interval in them is interval + 10 % = 550 ms.
constexpr double kJitterMs = kIntervalMs * 0.1;
// Room for the test's own work (servers.sh, signals, the 20 ms /health polling) and a busy
// 2-core machine running two test binaries at once (stretched under sanitizers: kSlowdown).
constexpr double kSlackMs = 500 * kSlowdown;
// fall x (interval + jitter + timeout) + 500 ms = 2 x (500 + 50 + 500) + 500 = 2600 ms: the fault
// can land just after a passing run; each of the `fall` failing runs then starts at most one
// jittered interval after the previous one and takes at most the timeout.
constexpr double kDetectBoundMs = kFall * (kIntervalMs + kJitterMs + kTimeoutMs) + kSlackMs;
// rise x (interval + jitter) + timeout + 500 ms = 550 + 500 + 500 = 1550 ms: a run already under
// way when the fault is removed may still fail (taking at most the timeout); the next `rise`
// runs start one jittered interval apart and pass.
constexpr double kRecoverBoundMs = kRise * (kIntervalMs + kJitterMs) + kTimeoutMs + kSlackMs;
// Every /health answer, polled every ~20 ms during the whole fault window.
constexpr double kMaxHealthMs = 100 * kSlowdown;

const std::string kTimeoutMessage = "timeout after " + std::to_string(kTimeoutMs) + " ms";

std::chrono::milliseconds ms(double v) { return std::chrono::milliseconds(static_cast<long long>(v)); }


// The sidecar settings every fault uses, plus the test's checks.
Env matrix_env(Env env) {
    env["READYPROBE_INTERVAL"] = std::to_string(kIntervalMs) + "ms";
    env["READYPROBE_TIMEOUT"] = std::to_string(kTimeoutMs) + "ms";
    env["READYPROBE_FALL"] = std::to_string(kFall);
    env["READYPROBE_RISE"] = std::to_string(kRise);
    env["READYPROBE_DETAILS"] = "full";
    env["READYPROBE_DRAIN"] = "0s";
    return env;
}

// The newest message of one check, from /health?format=json ("" if there is none yet).
std::string message_of(const Sidecar& rp, const std::string& check) {
    try {
        auto json = nlohmann::json::parse(rp.get("/health?format=json").body);
        return json.at("checks").at(check).value("message", "");
    } catch (const std::exception&) {
        return "";
    }
}

// readyprobe_check_runs_total{check=..,result=..} from a /metrics body (-1 if absent).
long long runs(const std::string& metrics, const std::string& check, const std::string& result) {
    const std::string key = "readyprobe_check_runs_total{check=\"" + check + "\",result=\"" + result + "\"} ";
    const auto pos = metrics.find(key);
    if (pos == std::string::npos) return -1;
    return std::stoll(metrics.substr(pos + key.size()));
}

long long all_runs(const std::string& metrics, const std::string& check) {
    return runs(metrics, check, "ok") + runs(metrics, check, "failed") + runs(metrics, check, "timeout");
}

std::string fixed1(double v) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << v;
    return out.str();
}

std::string ms_text(std::optional<double> v) { return v ? std::to_string(std::llround(*v)) + "ms" : "n/a"; }

// One line per fault, for the closing note.
void report(const std::string& fault, std::optional<double> detect, std::optional<double> recover, double max_health,
            const std::string& extra = "") {
    std::cout << "matrix: " << fault << " detect=" << ms_text(detect) << " recover=" << ms_text(recover)
              << " max_health_ms=" << fixed1(max_health) << (extra.empty() ? "" : " " + extra) << std::endl;
}

// ---------------------------------------------------------------------------- /health poller

// Polls /health every ~20 ms on its own thread for as long as it lives, recording every answer.
class HealthPoller {
public:
    struct Sample {
        Clock::time_point start;
        Clock::time_point end;
        int status;
        double ms;
    };

    explicit HealthPoller(int port) : port_(port), thread_([this] { loop(); }) {}
    ~HealthPoller() { stop(); }
    HealthPoller(const HealthPoller&) = delete;
    HealthPoller& operator=(const HealthPoller&) = delete;

    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }

    // Milliseconds from `from` to the end of the first request sent at or after `from` that
    // answered `status`, waiting up to `timeout` for one.
    std::optional<double> wait_for(int status, Clock::time_point from, std::chrono::milliseconds timeout) const {
        std::optional<double> found;
        eventually(
            [&] {
                std::lock_guard<std::mutex> lock(mu_);
                for (const auto& s : samples_) {
                    if (s.start >= from && s.status == status) {
                        found = std::chrono::duration<double, std::milli>(s.end - from).count();
                        return true;
                    }
                }
                return false;
            },
            timeout, 5ms);
        return found;
    }

    // How many answers with `status` came back for requests sent at or after `from`.
    int count(int status, Clock::time_point from) const {
        std::lock_guard<std::mutex> lock(mu_);
        return static_cast<int>(std::count_if(samples_.begin(), samples_.end(), [&](const Sample& s) {
            return s.start >= from && s.status == status;
        }));
    }

    // The slowest answer (a request with no answer at all counts as its full client timeout).
    double max_ms() const {
        std::lock_guard<std::mutex> lock(mu_);
        double worst = 0;
        for (const auto& s : samples_) worst = std::max(worst, s.ms);
        return worst;
    }

    std::size_t size() const {
        std::lock_guard<std::mutex> lock(mu_);
        return samples_.size();
    }

private:
    void loop() {
        while (!stop_) {
            const auto t0 = Clock::now();
            const Reply r = get(port_, "/health");
            const auto t1 = Clock::now();
            {
                std::lock_guard<std::mutex> lock(mu_);
                samples_.push_back({t0, t1, r.status, r.status < 0 ? std::max(r.ms, 3000.0) : r.ms});
            }
            std::this_thread::sleep_for(20ms);
        }
    }

    int port_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::vector<Sample> samples_;
    std::thread thread_;  // last: starts after everything it uses
};

// -------------------------------------------------------------------- the common fault shape

struct Timing {
    std::optional<double> detect;
    std::optional<double> recover;
    double max_health = 0;
};

// Healthy first; then `apply` the fault (the clock starts just before it), wait for 503 and run
// `while_down`; then `remove` the fault (the clock starts when it returns) and wait for 200.
// /health is polled every ~20 ms through the whole window.
Timing run_fault(Sidecar& rp, const std::string& name, const std::function<void()>& apply,
                 const std::function<void()>& while_down, const std::function<void()>& remove) {
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 5000ms));
    HealthPoller poller(rp.port());
    std::this_thread::sleep_for(100ms);  // a few healthy answers first
    CHECK(poller.count(503, Clock::time_point{}) == 0);

    Timing t;
    const auto t_fault = Clock::now();
    apply();
    t.detect = poller.wait_for(503, t_fault, ms(kDetectBoundMs + 3000));
    if (t.detect) {
        while_down();
    }
    remove();
    const auto t_fix = Clock::now();
    if (t.detect) t.recover = poller.wait_for(200, t_fix, ms(kRecoverBoundMs + 3000));
    std::this_thread::sleep_for(100ms);
    poller.stop();
    t.max_health = poller.max_ms();
    report(name, t.detect, t.recover, t.max_health);

    INFO(name << ": detect " << ms_text(t.detect) << " (bound " << kDetectBoundMs << " ms), recover "
              << ms_text(t.recover) << " (bound " << kRecoverBoundMs << " ms), slowest /health "
              << t.max_health << " ms over " << poller.size() << " requests\n"
              << rp.process().err());
    REQUIRE(t.detect.has_value());
    CHECK(*t.detect < kDetectBoundMs);
    REQUIRE(t.recover.has_value());
    CHECK(*t.recover < kRecoverBoundMs);
    CHECK(t.max_health < kMaxHealthMs);
    return t;
}

// For faults present from the start (bad credentials, bad names): the time from launching
// readyprobe until /health?format=json reports `check` down with a message containing `text`.
std::optional<double> wait_reported(const Sidecar& rp, Clock::time_point launched, const std::string& check,
                                    const std::string& text) {
    std::optional<double> found;
    eventually(
        [&] {
            if (has(message_of(rp, check), text) && rp.status("/health") == 503) {
                found = ms_since(launched);
                return true;
            }
            return false;
        },
        ms(kDetectBoundMs + 3000));
    return found;
}

// ------------------------------------------------------------------------- a hangable server

// A TCP server on 127.0.0.1. While hung it accepts every connection and never reads or writes a
// byte (closing its end only after the client has closed its own), so, unlike SilentServer, its
// accept queue never fills up and every client gets an established connection that stays
// silent. Otherwise it answers any request with "HTTP/1.1 200 OK".
class HangingServer {
public:
    HangingServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd_, 128) != 0) {
            throw std::runtime_error("HangingServer: cannot listen");
        }
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { loop(); });
    }
    ~HangingServer() {
        stop_ = true;
        thread_.join();
        for (int c : held_) ::close(c);
        ::close(fd_);
    }
    HangingServer(const HangingServer&) = delete;
    HangingServer& operator=(const HangingServer&) = delete;

    int port() const { return port_; }
    void hang(bool on) { hung_ = on; }

private:
    void loop() {
        while (!stop_) {
            if (!hung_ && !held_.empty()) {
                for (int c : held_) ::close(c);
                held_.clear();
            }
            std::vector<pollfd> fds{{fd_, POLLIN, 0}};
            // POLLRDHUP only: the request bytes the client sent are never read.
            for (int c : held_) fds.push_back({c, POLLRDHUP, 0});
            if (::poll(fds.data(), fds.size(), 10) <= 0) continue;
            for (std::size_t i = fds.size() - 1; i >= 1; --i) {
                if (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
                    ::close(held_[i - 1]);
                    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i - 1));
                }
            }
            if (!(fds[0].revents & POLLIN)) continue;
            const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            if (hung_) {
                held_.push_back(c);
            } else {
                answer(c);
            }
        }
    }

    static void answer(int c) {
        std::string request;
        char buf[2048];
        while (!has(request, "\r\n\r\n")) {
            pollfd p{c, POLLIN, 0};
            if (::poll(&p, 1, 1000) <= 0) break;
            const ssize_t n = ::read(c, buf, sizeof buf);
            if (n <= 0) break;
            request.append(buf, static_cast<std::size_t>(n));
        }
        const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
        (void)::send(c, response.data(), response.size(), MSG_NOSIGNAL);  // a client that left is fine
        ::close(c);
    }

    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> hung_{false};
    std::atomic<bool> stop_{false};
    std::vector<int> held_;  // only the server thread touches it
    std::thread thread_;
};

// ------------------------------------------------------------------- process resource usage

long rss_kb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

struct Usage {
    int fds;
    long rss_kb;
};

// The resting fd count (the minimum over 15 samples 10 ms apart, so a socket that a run has
// open at the instant of one sample does not count) and the RSS after them.
Usage usage(pid_t pid) {
    int fds = 1 << 30;
    for (int i = 0; i < 15; ++i) {
        fds = std::min(fds, open_fds(pid));
        std::this_thread::sleep_for(10ms);
    }
    return {fds, rss_kb(pid)};
}

}  // namespace

// ================================================================================ PostgreSQL

TEST_CASE("matrix - PostgreSQL stopped then started", "[matrix]") {
    Postgres pg;
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_DB", pg.url()}}));
    run_fault(
        rp, "pg-stopped", [&] { pg.stop(); },
        [&] { CHECK(has(rp.get("/health?verbose").body, "[-]db failed: connection refused")); },
        [&] { pg.start(); });
}

TEST_CASE("matrix - PostgreSQL SIGSTOP then SIGCONT", "[matrix]") {
    Postgres pg;
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_DB", pg.url()}}));
    // The kept connection's SELECT 1 goes unanswered, then new connections are accepted by the
    // kernel but never answered: both must end at the deadline.
    run_fault(
        rp, "pg-sigstop", [&] { pg.pause(); },
        [&] {
            // A timeout; a new connection that the server never answered adds "(login in
            // progress: the next run continues it)".
            CHECK(message_of(rp, "db").rfind(kTimeoutMessage, 0) == 0);
            CHECK(has(rp.get("/health?verbose").body, "[-]db failed: " + kTimeoutMessage));
        },
        [&] { pg.resume(); });
}

TEST_CASE("matrix - PostgreSQL slow: runs exceed the timeout while the server keeps accepting", "[matrix]") {
    // How to make the check's `SELECT 1` really slower than the timeout:
    // - SELECT 1 takes no lock, so no LOCK TABLE held by another session can block it, and no
    //   per-role setting (ALTER ROLE app SET ...) delays it either.
    // - SIGSTOP of the one backend serving readyprobe's kept connection makes that connection's
    //   SELECT 1 hang past the deadline for real. The check keeps that connection for the late
    //   reply (up to 4 x TIMEOUT, at least 2 s), then opens a new one.
    // - Should a run open a new connection anyway, it must be slow as well: pre_auth_delay = 1 s
    //   (reloadable) makes every new backend sleep 1 s before it even reads the login, while the
    //   postmaster keeps accepting and forking. (Verified by hand: a psql login takes ~1.07 s
    //   with it, ~0.07 s without.)
    // So every run exceeds its 500 ms deadline. Setting pre_auth_delay first changes nothing for
    // the check (its connection is already established), so the fault starts at the SIGSTOP.
    Postgres pg;
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_DB", pg.url()}}));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 5000ms));
    const std::string backend_text = pg.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'readyprobe'");
    INFO("readyprobe's backend: " << backend_text);
    REQUIRE(!backend_text.empty());
    REQUIRE(backend_text.find('\n') == std::string::npos);  // exactly one connection
    const pid_t backend = std::stoi(backend_text);
    pg.psql("ALTER SYSTEM SET pre_auth_delay = '1s'");
    pg.psql("SELECT pg_reload_conf()");

    long long timeouts_before = 0;
    run_fault(
        rp, "pg-slow",
        [&] {
            timeouts_before = runs(rp.get("/metrics").body, "db", "timeout");
            ::kill(backend, SIGSTOP);
        },
        [&] {
            // A timeout; a new connection that the server never answered adds "(login in
            // progress: the next run continues it)".
            CHECK(message_of(rp, "db").rfind(kTimeoutMessage, 0) == 0);
            CHECK(has(rp.get("/health?verbose").body, "[-]db failed: " + kTimeoutMessage));
            // The runs really timed out (not failed): both runs that turned it down.
            CHECK(runs(rp.get("/metrics").body, "db", "timeout") >= timeouts_before + kFall);
        },
        [&] {
            // Each of these logins itself takes the 1 s pre-auth delay.
            pg.psql("ALTER SYSTEM RESET pre_auth_delay");
            pg.psql("SELECT pg_reload_conf()");
            ::kill(backend, SIGCONT);
        });
    // The run that timed out kept its connection with the reply outstanding (pg_session.hpp,
    // abandon_on_timeout) for up to 4 x TIMEOUT (2 s here), then gave it up for a new one. No
    // connection is left behind: once continued, the stopped backend either serves the check
    // again or reads readyprobe's goodbye and exits; exactly one connection remains.
    CHECK(eventually([&] { return pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                          "'readyprobe'") == "1"; },
                     3000ms));
}

TEST_CASE("matrix - PostgreSQL restart: the broken kept connection is retried within the same run", "[matrix]") {
    Postgres pg;
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_DB", pg.url()}}));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 5000ms));
    HealthPoller poller(rp.port());
    std::this_thread::sleep_for(100ms);
    const auto failed_runs_since = [&](const std::string& before) {
        const std::string now = rp.get("/metrics").body;
        return runs(now, "db", "failed") + runs(now, "db", "timeout") - runs(before, "db", "failed") -
               runs(before, "db", "timeout");
    };

    // First the deterministic half: the kept connection alone is broken (its backend killed,
    // the server up). The next run must retry with a fresh connection and pass: no failed run.
    {
        const std::string before = rp.get("/metrics").body;
        const long long ok_before = runs(before, "db", "ok");
        REQUIRE(pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
                        "'readyprobe'") == "1");
        REQUIRE(eventually([&] { return runs(rp.get("/metrics").body, "db", "ok") > ok_before; },
                           ms(kRecoverBoundMs), 10ms));
        CHECK(failed_runs_since(before) == 0);
        CHECK(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'readyprobe'") == "1");
    }

    const std::string before = rp.get("/metrics").body;
    const auto t0 = Clock::now();
    pg.restart();  // pg_ctl stop -m fast (every backend terminated), then start, same port
    const double restart_ms = ms_since(t0);
    const auto t_up = Clock::now();
    const long long ok_at_up = runs(rp.get("/metrics").body, "db", "ok");
    // Recovery here: the first passing run after the server is back (a fresh connection).
    std::optional<double> recover;
    eventually(
        [&] {
            if (runs(rp.get("/metrics").body, "db", "ok") > ok_at_up) {
                recover = ms_since(t_up);
                return true;
            }
            return false;
        },
        ms(kRecoverBoundMs + 3000), 10ms);
    std::this_thread::sleep_for(ms(kIntervalMs + kJitterMs));  // one more run on the new connection
    poller.stop();
    const int down_answers = poller.count(503, t0);
    const long long failed_runs = failed_runs_since(before);
    report("pg-restart", std::nullopt, recover, poller.max_ms(),
           "restart_ms=" + std::to_string(std::llround(restart_ms)) + " failed_runs=" + std::to_string(failed_runs) +
               " health_503_answers=" + std::to_string(down_answers));

    INFO("restart took " << restart_ms << " ms; failed runs " << failed_runs << "; 503 answers " << down_answers
                         << "\n" << rp.process().err());
    REQUIRE(recover.has_value());
    CHECK(*recover < kRecoverBoundMs);
    CHECK(poller.max_ms() < kMaxHealthMs);
    CHECK(poller.count(503, Clock::time_point{}) == down_answers);  // none in the first half either
    CHECK(rp.status("/health") == 200);
    if (restart_ms < kIntervalMs) {
        // The server refused connections for less than one interval, so at most one run can
        // have failed (the run that met the closed port; the first run after the restart
        // retries its broken kept connection once with a fresh one and passes), and with
        // fall = 2 /health never turned 503.
        CHECK(failed_runs <= 1);
        CHECK(down_answers == 0);
    } else {
        // A slow restart (busy machine) can span two runs, and then 503 is the right answer;
        // it must still recover in time, which `recover` above asserts.
        WARN("restart took " << restart_ms << " ms (more than one interval): " << failed_runs
                             << " failed run(s), " << down_answers << " answers of 503");
    }
}

TEST_CASE("matrix - PostgreSQL out of connection slots: a reconnect into a full server is named", "[matrix]") {
    // 8 connection slots of which the last 3 are for superusers only. readyprobe logs in as a
    // plain role, so it is refused as soon as 6 are taken ("remaining connection slots are
    // reserved ..."), while the test's superuser sessions can still get in to count, kill and
    // free; with superuser_reserved_connections=0 the test could not even look at a full server.
    Postgres pg({"max_connections=8", "superuser_reserved_connections=3"});
    pg.psql("CREATE ROLE probe LOGIN PASSWORD 'probe-pw'");
    const std::string url = "postgres://probe:probe-pw@127.0.0.1:" + std::to_string(pg.port()) + "/app";
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_DB", url}}));
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 5000ms));

    // readyprobe holds 1 slot; 6 superuser sessions (app is a superuser) sleeping take 6 more.
    Env filler_env = base_env();
    filler_env["PGPASSWORD"] = "app-secret-pw";
    filler_env["PGAPPNAME"] = "filler";
    std::vector<std::unique_ptr<Process>> fillers;
    for (int i = 0; i < 6; ++i) {
        fillers.push_back(std::make_unique<Process>(
            std::vector<std::string>{"/usr/bin/psql", "-X", "-q", "-h", "127.0.0.1", "-p", std::to_string(pg.port()),
                                     "-U", "app", "-d", "app", "-c", "SELECT pg_sleep(120)"},
            filler_env));
    }
    const std::string count_fillers =
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'filler' AND state = 'active'";
    REQUIRE(eventually([&] { return pg.psql(count_fillers) == "6"; }, 10000ms, 50ms));
    // A full server does not disturb the kept connection.
    std::this_thread::sleep_for(ms(kIntervalMs + kJitterMs));
    REQUIRE(rp.status("/health") == 200);

    run_fault(
        rp, "pg-no-slots",
        // The fault: readyprobe's own backend is killed, so it has to log in again into a server
        // whose free slots (1) are fewer than the 3 reserved ones.
        [&] {
            CHECK(pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
                          "'readyprobe'") == "1");
        },
        [&] {
            const std::string verbose = rp.get("/health?verbose").body;
            INFO(verbose);
            CHECK(has(verbose, "[-]db failed: no free connection slots"));
        },
        [&] {
            CHECK(pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
                          "'filler'") == "6");
        });
}

TEST_CASE("matrix - PostgreSQL wrong password: named in the failure - the password in no output", "[matrix]") {
    const std::string wrong = "Wrong-Matrix-Pw-9137";
    Postgres pg;
    const auto launched = Clock::now();
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_DB", pg.url(wrong)}, {"READYPROBE_LOG_LEVEL", "debug"}}));
    HealthPoller poller(rp.port());

    const auto detect = wait_reported(rp, launched, "db", "password authentication failed for user \"app\"");
    std::string everything;
    for (const char* path : {"/health", "/health?verbose", "/health?format=json", "/readyz?verbose", "/livez?verbose",
                             "/startupz?verbose", "/startupz?format=json", "/metrics"}) {
        everything += rp.get(path).body;
    }
    CHECK(has(rp.get("/health?verbose").body, "[-]db failed: password authentication failed for user \"app\""));

    // Removing the fault: the server starts accepting that password.
    pg.psql("ALTER ROLE app PASSWORD '" + wrong + "'");
    const auto t_fix = Clock::now();
    const auto recover = poller.wait_for(200, t_fix, ms(kRecoverBoundMs + 3000));
    std::this_thread::sleep_for(100ms);
    poller.stop();
    for (const char* path : {"/health?verbose", "/health?format=json", "/metrics"}) everything += rp.get(path).body;
    rp.process().signal(SIGTERM);
    REQUIRE(rp.process().wait_for(5000ms).has_value());
    everything += rp.process().out() + rp.process().err();
    report("pg-wrong-password", detect, recover, poller.max_ms(), "(detect: from launch)");

    INFO(everything);
    REQUIRE(detect.has_value());
    CHECK(*detect < kDetectBoundMs);
    REQUIRE(recover.has_value());
    CHECK(*recover < kRecoverBoundMs);
    CHECK(poller.max_ms() < kMaxHealthMs);
    CHECK(has(everything, "password authentication failed"));  // the logs name the reason too
    CHECK_FALSE(has(everything, wrong));
}

// ===================================================================================== Redis

TEST_CASE("matrix - Redis stopped then started", "[matrix]") {
    Redis redis;
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_CACHE", redis.url()}}));
    run_fault(
        rp, "redis-stopped", [&] { redis.stop(); },
        [&] { CHECK(has(rp.get("/health?verbose").body, "[-]cache failed: connection refused")); },
        [&] { redis.start(); });
}

TEST_CASE("matrix - Redis SIGSTOP then SIGCONT", "[matrix]") {
    Redis redis;
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_CACHE", redis.url()}}));
    run_fault(
        rp, "redis-sigstop", [&] { redis.pause(); },
        [&] {
            CHECK(message_of(rp, "cache") == kTimeoutMessage);
            CHECK(has(rp.get("/health?verbose").body, "[-]cache failed: " + kTimeoutMessage));
        },
        [&] { redis.resume(); });
}

TEST_CASE("matrix - Redis requires a password the check does not send: NOAUTH", "[matrix]") {
    const std::string password = "matrix-redis-pw-5521";
    Redis redis({"--requirepass", password});
    const auto launched = Clock::now();
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_CACHE", redis.url()}}));
    HealthPoller poller(rp.port());
    const auto detect = wait_reported(rp, launched, "cache", "NOAUTH");
    const std::string verbose = rp.get("/health?verbose").body;
    CHECK(has(verbose, "[-]cache failed: NOAUTH"));

    // Removing the fault: the server stops asking for a password.
    const RunResult r = run({"/usr/bin/redis-cli", "--no-auth-warning", "-h", "127.0.0.1", "-p",
                             std::to_string(redis.port()), "-a", password, "CONFIG", "SET", "requirepass", ""},
                            base_env(), 10000ms);
    REQUIRE(r.exit_code == 0);
    REQUIRE(has(r.out, "OK"));
    const auto t_fix = Clock::now();
    const auto recover = poller.wait_for(200, t_fix, ms(kRecoverBoundMs + 3000));
    std::this_thread::sleep_for(100ms);
    poller.stop();
    report("redis-noauth", detect, recover, poller.max_ms(), "(detect: from launch)");

    INFO(verbose << rp.process().err());
    REQUIRE(detect.has_value());
    CHECK(*detect < kDetectBoundMs);
    REQUIRE(recover.has_value());
    CHECK(*recover < kRecoverBoundMs);
    CHECK(poller.max_ms() < kMaxHealthMs);
}

// ====================================================================================== HTTP

TEST_CASE("matrix - HTTP dependency answering 500", "[matrix]") {
    FakeHttp api(200);
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_API", "http://127.0.0.1:" + std::to_string(api.port()) + "/ping"}}));
    run_fault(
        rp, "http-500", [&] { api.set_status(500); },
        [&] { CHECK(has(rp.get("/health?verbose").body, "[-]api failed: HTTP 500")); },
        [&] { api.set_status(200); });
}

TEST_CASE("matrix - HTTP dependency accepting and never answering", "[matrix]") {
    // `api` can be switched between answering and hanging (accepting, never answering). Next
    // to it, a non-critical check against a SilentServer hangs the whole time: it must report
    // the same timeout and delay neither `api` nor /health (it only makes the status degraded).
    HangingServer api;
    SilentServer silent;
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_API", "http://127.0.0.1:" + std::to_string(api.port()) + "/"},
                           {"READYPROBE_CHECK_SILENT", "http://127.0.0.1:" + std::to_string(silent.port()) + "/"},
                           {"READYPROBE_CHECK_SILENT_CRITICAL", "false"}}));
    REQUIRE(eventually([&] { return message_of(rp, "silent") == kTimeoutMessage; }, 5000ms));
    CHECK(rp.get("/health").body == "degraded\n");
    run_fault(
        rp, "http-hang", [&] { api.hang(true); },
        [&] {
            CHECK(message_of(rp, "api") == kTimeoutMessage);
            CHECK(has(rp.get("/health?verbose").body, "[-]api failed: " + kTimeoutMessage));
        },
        [&] { api.hang(false); });
    CHECK(message_of(rp, "silent") == kTimeoutMessage);
}

// ================================================================================ DNS names

TEST_CASE("matrix - host names that do not resolve", "[matrix]") {
    const auto launched = Clock::now();
    Sidecar rp(matrix_env({{"READYPROBE_CHECK_API", "http://no-such-host.invalid/"},
                           {"READYPROBE_CHECK_DB", "postgres://app:pw@no-such-host.invalid/app"}}));
    HealthPoller poller(rp.port());
    const auto api = wait_reported(rp, launched, "api", "name not resolved");
    const auto db = wait_reported(rp, launched, "db", "name not resolved");
    const std::string verbose = rp.get("/health?verbose").body;
    // Two more runs each: the failure stays the same, and nothing is slow about it.
    std::this_thread::sleep_for(ms(2 * (kIntervalMs + kJitterMs)));
    poller.stop();
    report("dns-unresolved", api && db ? std::optional<double>(std::max(*api, *db)) : std::nullopt, std::nullopt,
           poller.max_ms(), "(detect: from launch - no recovery: the names never resolve)");

    INFO(verbose << rp.process().err());
    REQUIRE(api.has_value());
    REQUIRE(db.has_value());
    CHECK(*api < kDetectBoundMs);
    CHECK(*db < kDetectBoundMs);
    CHECK(has(verbose, "[-]api failed: name not resolved: no-such-host.invalid"));
    CHECK(has(verbose, "[-]db failed: name not resolved: no-such-host.invalid"));
    CHECK(poller.count(200, launched) == 0);
    CHECK(poller.max_ms() < kMaxHealthMs);
}

// ============================================================================= no leaks

namespace {

// The first requests a serving thread handles touch its stack and malloc arena (~24 kB each,
// 32 threads), which would show as growth unrelated to the check runs: serve a few hundred
// requests from 8 clients at once before the baseline.
void warm_request_threads(int port) {
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i) {
        clients.emplace_back([port] {
            for (int j = 0; j < 40; ++j) get(port, "/metrics");
        });
    }
    for (auto& c : clients) c.join();
}

// One readyprobe with fast failing checks: after a warm-up of 200 runs per check, the resting fd
// count and RSS are sampled; again once every check has run 1,000 more times.
struct LeakRun {
    LeakRun(std::string label_, std::vector<std::string> checks_, std::string result_, Env env)
        : label(std::move(label_)),
          checks(std::move(checks_)),
          result(std::move(result_)),
          rp(std::make_unique<Sidecar>(std::move(env))) {}

    std::string label;
    std::vector<std::string> checks;
    std::string result;  // the result every run must have: "failed" or "timeout"
    std::unique_ptr<Sidecar> rp;
    std::string base_metrics;
    std::optional<Usage> base;
    std::optional<Usage> end;
    std::string end_metrics;
    double seconds = 0;
    Clock::time_point t_base{};

    long long min_runs(const std::string& metrics) const {
        long long least = -1;
        for (const auto& c : checks) {
            const long long n = all_runs(metrics, c);
            least = least < 0 ? n : std::min(least, n);
        }
        return least;
    }

    bool all_ran(const std::string& metrics, long long more) const {
        for (const auto& c : checks) {
            if (all_runs(metrics, c) < all_runs(base_metrics, c) + more) return false;
        }
        return true;
    }

    // Advances the measurement; true when done.
    bool step() {
        if (end) return true;
        const std::string metrics = rp->get("/metrics").body;
        if (!base) {
            if (min_runs(metrics) >= 200) {
                warm_request_threads(rp->port());
                base = usage(rp->process().pid());
                base_metrics = rp->get("/metrics").body;
                t_base = Clock::now();
            }
            return false;
        }
        if (all_ran(metrics, 1000)) {
            end = usage(rp->process().pid());
            end_metrics = rp->get("/metrics").body;
            seconds = ms_since(t_base) / 1000.0;
            return true;
        }
        return false;
    }
};

}  // namespace

TEST_CASE("matrix - 1000 failing and 1000 timing-out runs per check leave open fds and RSS flat", "[matrix]") {
    // Two readyprobe processes side by side (to keep the suite short), both with a 10 ms
    // interval:
    // - "failing": every check is refused at once (timeout 50 ms): postgres, redis and tcp on
    //   closed ports, an HTTP dependency answering 500;
    // - "timing out": every run ends at its deadline, the path that abandons connections
    //   mid-protocol: HTTP to a server that accepts and never answers (established connection)
    //   and to a SilentServer (whose accept queue fills, then connects time out), a paused Redis,
    //   PostgreSQL whose peer accepts and never answers. The timeout is 20 ms rather than 50 ms
    //   so that 1,200 runs take ~25 s instead of ~60 s.
    FakeHttp http500(500);
    HangingServer hung_http;
    HangingServer hung_pg;
    hung_http.hang(true);
    hung_pg.hang(true);
    SilentServer silent;
    Redis paused;
    paused.pause();
    const auto local = [](int port) { return "127.0.0.1:" + std::to_string(port); };

    LeakRun failing("failing", {"pgdown", "redisdown", "http500", "tcpdown"}, "failed", Env{
        {"READYPROBE_INTERVAL", "10ms"},
        {"READYPROBE_TIMEOUT", "50ms"},
        {"READYPROBE_CHECK_PGDOWN", "postgres://app:pw@" + local(free_port()) + "/app"},
        {"READYPROBE_CHECK_REDISDOWN", "redis://" + local(free_port()) + "/0"},
        {"READYPROBE_CHECK_HTTP500", "http://" + local(http500.port()) + "/"},
        {"READYPROBE_CHECK_TCPDOWN", "tcp://" + local(free_port())},
    });
    LeakRun timing_out("timing-out", {"hunghttp", "silenthttp", "pausedredis", "hungpg"}, "timeout", Env{
        {"READYPROBE_INTERVAL", "10ms"},
        {"READYPROBE_TIMEOUT", "20ms"},
        {"READYPROBE_CHECK_HUNGHTTP", "http://" + local(hung_http.port()) + "/"},
        {"READYPROBE_CHECK_SILENTHTTP", "http://" + local(silent.port()) + "/"},
        {"READYPROBE_CHECK_PAUSEDREDIS", paused.url()},
        {"READYPROBE_CHECK_HUNGPG", "postgres://app:pw@" + local(hung_pg.port()) + "/app"},
    });

    const bool done = eventually(
        [&] {
            const bool failing_done = failing.step();
            const bool timing_out_done = timing_out.step();
            return failing_done && timing_out_done;
        },
        90000ms, 100ms);
    paused.resume();
    for (LeakRun* run : {&failing, &timing_out}) {
        INFO(run->label << ":\n" << run->base_metrics << run->end_metrics << run->rp->process().err());
        REQUIRE(done);
        const Usage& b = *run->base;
        const Usage& e = *run->end;
        std::cout << "matrix: leak-" << run->label << " runs_per_check>=1000 in " << fixed1(run->seconds)
                  << "s fds " << b.fds << "->" << e.fds << " rss_kb " << b.rss_kb << "->" << e.rss_kb << " ("
                  << (e.rss_kb - b.rss_kb >= 0 ? "+" : "") << (e.rss_kb - b.rss_kb) << ")" << std::endl;
        for (const auto& c : run->checks) {
            INFO("check " << c);
            CHECK(runs(run->end_metrics, c, "ok") == 0);
            // Every run of the measured window failed the intended way.
            CHECK(runs(run->end_metrics, c, run->result) - runs(run->base_metrics, c, run->result) >= 1000);
        }
        CHECK(std::abs(e.fds - b.fds) <= 2);
        if (!kSanitized) CHECK(e.rss_kb - b.rss_kb < 1024);
        CHECK(run->rp->process().running());
    }
}
