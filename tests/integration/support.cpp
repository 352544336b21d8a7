#include "support.hpp"

#include <httplib.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace rptest {
namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string temp_dir(const std::string& tag) {
    // Short paths: PostgreSQL's unix socket path must stay under ~100 characters.
    std::string pattern = "/tmp/rpt-" + tag + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    ::chmod(buf.data(), 0755);
    return buf.data();
}

std::string servers_sh() { return std::string(READYPROBE_SOURCE_DIR) + "/scripts/servers.sh"; }

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// Runs scripts/servers.sh; throws with its stderr on failure; returns stdout.
std::string servers(const std::vector<std::string>& args) {
    std::vector<std::string> argv{servers_sh()};
    argv.insert(argv.end(), args.begin(), args.end());
    Env env = base_env();
    if (const char* tmp = std::getenv("TMPDIR")) env["TMPDIR"] = tmp;
    RunResult r = run(argv, env, 60000ms);
    if (r.exit_code != 0) {
        throw std::runtime_error("servers.sh " + args.at(0) + " failed (" + std::to_string(r.exit_code) +
                                 "): " + r.err);
    }
    return trim(r.out);
}

}  // namespace

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("bind failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
    const auto until = Clock::now() + timeout;
    for (;;) {
        if (pred()) return true;
        if (Clock::now() >= until) return false;
        std::this_thread::sleep_for(step);
    }
}

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int open_fds(pid_t pid) {
    DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
    if (!dir) return -1;
    int n = 0;
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] != '.') ++n;
    }
    ::closedir(dir);
    return n;
}

// ------------------------------------------------------------------------------------ Process

Process::Process(const std::vector<std::string>& argv, const Env& env) {
    const std::string dir = temp_dir("proc");
    out_path_ = dir + "/stdout";
    err_path_ = dir + "/stderr";
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    std::vector<char*> cenv;
    for (auto& e : env_strings) cenv.push_back(e.data());
    cenv.push_back(nullptr);

    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int in = ::open("/dev/null", O_RDONLY);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(cargv[0], cargv.data(), cenv.data());
        ::_exit(127);
    }
}

Process::~Process() {
    if (running()) {
        ::kill(pid_, SIGCONT);
        ::kill(pid_, SIGKILL);
        wait_for(10000ms);
    }
    ::unlink(out_path_.c_str());
    ::unlink(err_path_.c_str());
    ::rmdir(out_path_.substr(0, out_path_.rfind('/')).c_str());
}

void Process::signal(int sig) const { ::kill(pid_, sig); }

std::optional<int> Process::wait_for(std::chrono::milliseconds timeout) {
    if (exit_code_) return exit_code_;
    const auto until = Clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return exit_code_;
        }
        if (Clock::now() >= until) return std::nullopt;
        std::this_thread::sleep_for(5ms);
    }
}

bool Process::running() { return !wait_for(0ms).has_value(); }

std::string Process::out() const { return read_file(out_path_); }
std::string Process::err() const { return read_file(err_path_); }

RunResult run(const std::vector<std::string>& argv, const Env& env, std::chrono::milliseconds timeout) {
    Process p(argv, env);
    auto code = p.wait_for(timeout);
    if (!code) {
        p.signal(SIGKILL);
        code = p.wait_for(5000ms);
        return {-1, p.out(), p.err() + "\n(killed after timeout)"};
    }
    return {*code, p.out(), p.err()};
}

std::string binary() { return READYPROBE_BINARY; }
std::string core_binary() { return READYPROBE_CORE_BINARY; }

Env base_env() {
    const char* path = std::getenv("PATH");
    return {{"PATH", path ? path : "/usr/local/bin:/usr/bin:/bin"}};
}

Reply get(int port, const std::string& path, const std::vector<std::pair<std::string, std::string>>& headers,
          const std::string& method) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(3, 0);
    client.set_read_timeout(3, 0);
    httplib::Headers h(headers.begin(), headers.end());
    const auto t0 = Clock::now();
    httplib::Result res = method == "HEAD"   ? client.Head(path.c_str(), h)
                          : method == "POST" ? client.Post(path.c_str(), h, "", "text/plain")
                                             : client.Get(path.c_str(), h);
    Reply reply;
    reply.ms = ms_since(t0);
    if (res) {
        reply.status = res->status;
        reply.body = res->body;
        reply.content_type = res->get_header_value("Content-Type");
    }
    return reply;
}

// -------------------------------------------------------------------------------------- Redis

namespace {
struct CertsDir {
    std::string dir;
    ~CertsDir() {
        if (!dir.empty()) std::system(("rm -rf '" + dir + "'").c_str());
    }
};
std::mutex certs_mu;
CertsDir certs_dir;
}  // namespace

std::string tls_certs() {
    std::lock_guard<std::mutex> lock(certs_mu);
    if (certs_dir.dir.empty()) {
        const std::string dir = temp_dir("certs");
        servers({"certs", dir});
        certs_dir.dir = dir;
    }
    return certs_dir.dir;
}

Redis::Redis(std::vector<std::string> extra_args, bool tls)
    : dir_(temp_dir("redis")), extra_(std::move(extra_args)), tls_(tls) {
    start();
}

Redis::~Redis() {
    try {
        stop();
    } catch (...) {
    }
    std::system(("rm -rf '" + dir_ + "'").c_str());
}

std::string Redis::url() const {
    return std::string(tls_ ? "rediss" : "redis") + "://127.0.0.1:" + std::to_string(port_) + "/0";
}

void Redis::start() {
    std::vector<std::string> args{"redis-start", dir_ + "/r"};
    if (tls_) args = {"redis-tls-start", dir_ + "/r", tls_certs()};
    args.push_back(port_ ? std::to_string(port_) : "0");
    args.insert(args.end(), extra_.begin(), extra_.end());
    port_ = std::stoi(servers(args));
}

void Redis::stop() { servers({"redis-stop", dir_ + "/r"}); }

void Redis::kill() const {
    const pid_t pid = std::stoi(trim(read_file(dir_ + "/r/redis.pid")));
    ::kill(pid, SIGKILL);
}

void Redis::pause() const {
    const pid_t pid = std::stoi(trim(read_file(dir_ + "/r/redis.pid")));
    ::kill(pid, SIGSTOP);
}

void Redis::resume() const {
    const pid_t pid = std::stoi(trim(read_file(dir_ + "/r/redis.pid")));
    ::kill(pid, SIGCONT);
}

// ----------------------------------------------------------------------------------- Postgres

Postgres::Postgres(std::vector<std::string> settings) : dir_(temp_dir("pg")), settings_(std::move(settings)) {
    start();
}

Postgres::Postgres(std::vector<std::string> settings, std::string tls_certdir)
    : dir_(temp_dir("pg")), settings_(std::move(settings)), tls_certdir_(std::move(tls_certdir)) {
    start();
}

Postgres::~Postgres() {
    try {
        stop();
    } catch (...) {
    }
    std::system(("rm -rf '" + dir_ + "'").c_str());
}

std::string Postgres::url(const std::string& password) const {
    return "postgres://app:" + password + "@127.0.0.1:" + std::to_string(port_) + "/app";
}

void Postgres::start() {
    std::vector<std::string> args{"pg-start", dir_ + "/d", port_ ? std::to_string(port_) : "0"};
    if (!tls_certdir_.empty()) {
        args = {"pg-start-tls", dir_ + "/d", tls_certdir_, port_ ? std::to_string(port_) : "0"};
    }
    args.insert(args.end(), settings_.begin(), settings_.end());
    port_ = std::stoi(servers(args));
}

void Postgres::stop() { servers({"pg-stop", dir_ + "/d"}); }

void Postgres::restart() { port_ = std::stoi(servers({"pg-restart", dir_ + "/d"})); }

std::vector<pid_t> Postgres::pids() const {
    std::vector<pid_t> out;
    const std::string first = read_file(dir_ + "/d/postmaster.pid");
    const pid_t postmaster = std::atoi(first.substr(0, first.find('\n')).c_str());
    if (postmaster <= 0) return out;
    out.push_back(postmaster);
    RunResult r = run({"/usr/bin/pgrep", "-P", std::to_string(postmaster)}, base_env(), 5000ms);
    std::istringstream in(r.out);
    for (pid_t p; in >> p;) out.push_back(p);
    return out;
}

void Postgres::pause() const {
    for (pid_t p : pids()) ::kill(p, SIGSTOP);
}

void Postgres::resume() const {
    for (pid_t p : pids()) ::kill(p, SIGCONT);
}

std::string Postgres::psql(const std::string& sql) const {
    RunResult r = run({"/usr/bin/psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", dir_ + "/d", "-p",
                       std::to_string(port_), "-U", "postgres", "-d", "app", "-c", sql},
                      base_env(), 30000ms);
    if (r.exit_code != 0) throw std::runtime_error("psql failed: " + r.err);
    return trim(r.out);
}

// ---------------------------------------------------------------------------------- PgBouncer

PgBouncer::PgBouncer(const Postgres& server, std::string mode, std::vector<std::string> settings)
    : dir_(temp_dir("pgbouncer")) {
    std::vector<std::string> args{"pgbouncer-start", dir_ + "/b", std::to_string(server.port()), mode, "0"};
    args.insert(args.end(), settings.begin(), settings.end());
    port_ = std::stoi(servers(args));
}

PgBouncer::~PgBouncer() {
    try {
        servers({"pgbouncer-stop", dir_ + "/b"});
    } catch (...) {
    }
    std::system(("rm -rf '" + dir_ + "'").c_str());
}

std::string PgBouncer::url(const std::string& password) const {
    return "postgres://app:" + password + "@127.0.0.1:" + std::to_string(port_) + "/app";
}

std::string PgBouncer::log() const { return read_file(dir_ + "/b/pgbouncer.log"); }

// ------------------------------------------------------------------------------ shared servers

namespace {
std::mutex shared_mu;
std::unique_ptr<Postgres> shared_pg;
std::unique_ptr<Redis> shared_redis;
}  // namespace

std::string shared_pg_url() {
    if (const char* url = std::getenv("RPTEST_PG_URL")) return url;
    std::lock_guard<std::mutex> lock(shared_mu);
    if (!shared_pg) shared_pg = std::make_unique<Postgres>();
    return shared_pg->url();
}

std::string shared_redis_url() {
    if (const char* url = std::getenv("RPTEST_REDIS_URL")) return url;
    std::lock_guard<std::mutex> lock(shared_mu);
    if (!shared_redis) shared_redis = std::make_unique<Redis>();
    return shared_redis->url();
}

// ------------------------------------------------------------------------------------ Sidecar

Sidecar::Sidecar(Env env, bool wait_until_serving) : port_(free_port()) {
    Env full = base_env();
    full["READYPROBE_LISTEN"] = "127.0.0.1:" + std::to_string(port_);
    for (auto& [k, v] : env) full[k] = v;
    proc_ = std::make_unique<Process>(std::vector<std::string>{binary(), "serve"}, full);
    if (wait_until_serving) {
        const bool up = eventually([&] { return !proc_->running() || get("/livez").status == 200; }, 10000ms);
        if (!up || !proc_->running()) {
            throw std::runtime_error("readyprobe did not start serving: " + proc_->err());
        }
    }
}

// ----------------------------------------------------------------------------------- FakeHttp

struct FakeHttp::Impl {
    httplib::Server server;
    std::thread thread;
    std::atomic<int> status{200};
    std::chrono::milliseconds delay{0};
};

FakeHttp::FakeHttp(int status, std::chrono::milliseconds delay) : impl_(std::make_unique<Impl>()) {
    impl_->status = status;
    impl_->delay = delay;
    impl_->server.Get(".*", [impl = impl_.get()](const httplib::Request&, httplib::Response& res) {
        if (impl->delay.count() > 0) std::this_thread::sleep_for(impl->delay);
        res.status = impl->status;
        res.set_content("fake\n", "text/plain");
    });
    port_ = impl_->server.bind_to_any_port("127.0.0.1");
    impl_->thread = std::thread([impl = impl_.get()] { impl->server.listen_after_bind(); });
    eventually([&] { return impl_->server.is_running(); }, 5000ms, 5ms);
}

FakeHttp::~FakeHttp() {
    impl_->server.stop();
    impl_->thread.join();
}

void FakeHttp::set_status(int status) { impl_->status = status; }

// ------------------------------------------------------------------------------- SilentServer

SilentServer::SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 128);  // the kernel completes handshakes; nobody ever reads or writes
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
}

SilentServer::~SilentServer() { ::close(fd_); }

}  // namespace rptest
