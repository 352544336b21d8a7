// libpq's URL forms against a real PostgreSQL (several hosts, target_session_attrs, a socket
// directory as host), and `check` / `status` with no URL dialling the address READYPROBE_LISTEN
// names ([::1], 127.0.0.2), through the front and the core.
#include "support.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>
#include <readyprobe/url.hpp>

#include <catch2/catch.hpp>

#include <csignal>

using namespace rptest;
using namespace readyprobe;

namespace {

Postgres& server() {
    static Postgres pg;
    return pg;
}

Result check_once(const std::string& url) {
    auto check = make_check(load_settings({{"READYPROBE_CHECK_DB", url}, {"READYPROBE_TIMEOUT", "3s"}}).checks.at(0));
    return check->run(SteadyClock::now() + std::chrono::seconds(3));
}

std::string encode_path(const std::string& path) {
    std::string out;
    for (char c : path) out += c == '/' ? std::string("%2F") : std::string(1, c);
    return out;
}


}  // namespace

TEST_CASE("postgres: a multi-host URL whose first host is dead reaches the second - read-write", "[postgres][url]") {
    const Postgres& pg = server();
    const std::string dead = std::to_string(free_port());
    const std::string live = std::to_string(pg.port());
    const std::string url = "postgres://app:app-secret-pw@127.0.0.1:" + dead + ",127.0.0.1:" + live +
                            "/app?target_session_attrs=read-write";
    Result r = check_once(url);
    INFO(r.message);
    CHECK(r.ok);

    // The same through ?host= and ?port= lists, and with the live server first.
    r = check_once("postgres://app:app-secret-pw@/app?host=127.0.0.1,127.0.0.1&port=" + dead + "," + live);
    INFO(r.message);
    CHECK(r.ok);
    r = check_once("postgres://app:app-secret-pw@127.0.0.1:" + live + ",127.0.0.1:" + dead + "/app");
    CHECK(r.ok);

    // Every host dead: down, naming the refusal, no password.
    r = check_once("postgres://app:app-secret-pw@127.0.0.1:" + dead + ",127.0.0.1:" + std::to_string(free_port()) +
                   "/app?target_session_attrs=read-write");
    INFO(r.message);
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "refused"));
    CHECK_FALSE(has(r.message, "app-secret-pw"));

    // In the sidecar: up, and the URL it logs shows both hosts.
    Sidecar rp({{"READYPROBE_CHECK_DB", url}, {"READYPROBE_INTERVAL", "200ms"}, {"READYPROBE_DETAILS", "full"}});
    REQUIRE(eventually([&] { return rp.status("/readyz") == 200; }, scaled(10000ms)));
    const std::string verbose = rp.get("/readyz?verbose").body;
    INFO(verbose);
    CHECK(has(verbose, "[+]db ok"));
    rp.process().signal(SIGTERM);
    REQUIRE(rp.process().wait_for(10000ms).has_value());
    const std::string log = rp.process().out() + rp.process().err();
    CHECK(has(log, "postgres://app:***@127.0.0.1:" + dead + ",127.0.0.1:" + live + "/app"));
    CHECK_FALSE(has(log, "app-secret-pw"));
}

TEST_CASE("postgres: the percent-encoded socket directory of the server as host - and ?host=", "[postgres][url]") {
    const Postgres& pg = server();
    const std::string port = std::to_string(pg.port());
    // The server trusts its unix socket: no password.
    Result r = check_once("postgres://app@" + encode_path(pg.socket_dir()) + ":" + port + "/app");
    INFO(r.message);
    CHECK(r.ok);
    r = check_once("postgres://app@/app?host=" + pg.socket_dir() + "&port=" + port);
    INFO(r.message);
    CHECK(r.ok);
    // A directory with no server socket in it: down.
    r = check_once("postgres://app@%2Fnonexistent-rp-dir:" + port + "/app");
    INFO(r.message);
    CHECK_FALSE(r.ok);
}

namespace {

RunResult cli(const std::string& bin, const std::vector<std::string>& args, const std::string& listen) {
    std::vector<std::string> argv{bin};
    argv.insert(argv.end(), args.begin(), args.end());
    Env env = base_env();
    env["READYPROBE_LISTEN"] = listen;
    return run(argv, env, 20000ms);
}

// A `readyprobe serve` listening on `listen_host` (as READYPROBE_LISTEN writes it) whose startup
// check passes or not.
void check_default_address(const std::string& listen_host, const std::string& url_host) {
    const int port = free_port();
    const std::string listen = listen_host + ":" + std::to_string(port);
    for (const bool ready : {true, false}) {
        INFO("READYPROBE_LISTEN=" << listen << (ready ? " ready" : " not ready"));
        Env env = base_env();
        env["READYPROBE_LISTEN"] = listen;
        env["READYPROBE_INTERVAL"] = "200ms";
        env["READYPROBE_DRAIN"] = "0s";
        env["READYPROBE_CHECK_GATE"] = ready ? "file://" + binary() : "tcp://127.0.0.1:" + std::to_string(free_port());
        Process serve({binary(), "serve"}, env);
        // Serving (whatever the checks say) at the address it was given.
        const std::string livez = "http://" + url_host + ":" + std::to_string(port) + "/livez";
        REQUIRE(eventually([&] { return cli(core_binary(), {"check", livez}, listen).exit_code == 0; },
                           scaled(10000ms), 100ms));
        if (ready) {
            REQUIRE(eventually([&] { return cli(core_binary(), {"check"}, listen).exit_code == 0; }, scaled(5000ms),
                               100ms));
        }
        for (const std::string& bin : {binary(), core_binary()}) {
            INFO(bin);
            auto r = cli(bin, {"check"}, listen);
            INFO(r.out << r.err);
            CHECK(r.exit_code == (ready ? 0 : 1));
        }
        // status: 1 is "not ready" from the instance itself, 2 would be "unreachable".
        auto s = cli(core_binary(), {"status"}, listen);
        INFO(s.out << s.err);
        CHECK(s.exit_code == (ready ? 0 : 1));
        CHECK(has(s.out, "gate"));
        serve.signal(SIGTERM);
        REQUIRE(serve.wait_for(10000ms).has_value());
    }
}

}  // namespace

TEST_CASE("check and status with no URL dial READYPROBE_LISTEN's address: [::1]", "[cli][front][url]") {
    check_default_address("[::1]", "[::1]");
}

TEST_CASE("check and status with no URL dial READYPROBE_LISTEN's address: 127.0.0.2", "[cli][front][url]") {
    check_default_address("127.0.0.2", "127.0.0.2");
}

TEST_CASE("check with no URL: the wildcards mean loopback of their family", "[cli][front][url]") {
    check_default_address("[::]", "[::1]");
}
