// rediss:// against a real TLS-only redis-server (--port 0 --tls-port P, a throwaway CA from
// `servers.sh certs`): trust (system store via SSL_CERT_FILE, or CA_FILE), certificate and host
// name failures, AUTH (password and ACL user), SELECT, the hard deadline against a SIGSTOPped TLS
// peer, reconnecting after a restart, and no fd leak over 1,000 failing runs. Through the
// library where it is about the check, through the real binary where it is about what users see.
#include "support.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>
#include <readyprobe/prober.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

using namespace rptest;
using namespace readyprobe;

namespace {

const std::string kPassword = "Tls-Redis-Pw-7781";
const std::string kAclUser = "probe";
const std::string kAclPassword = "Acl-User-Pw-3310";

// requirepass for the default user, and an ACL user allowed PING and SELECT only.
std::vector<std::string> auth_args() {
    return {"--requirepass", kPassword, "--user", kAclUser, "on", ">" + kAclPassword, "~*", "&*", "-@all", "+ping",
            "+select"};
}

std::string ca() { return tls_certs() + "/ca.crt"; }
std::string other_ca() { return tls_certs() + "/other-ca.crt"; }

std::string tls_url(const std::string& userinfo, const std::string& host, int port, int db = 0) {
    return "rediss://" + userinfo + (userinfo.empty() ? "" : "@") + host + ":" + std::to_string(port) + "/" +
           std::to_string(db);
}

CheckSpec spec_for(const std::string& url, const std::string& ca_file = "",
                   Duration timeout = std::chrono::milliseconds(500)) {
    Environment env{{"READYPROBE_CHECK_X", url}, {"READYPROBE_TIMEOUT", std::to_string(to_ms(timeout)) + "ms"}};
    if (!ca_file.empty()) env["READYPROBE_CHECK_X_CA_FILE"] = ca_file;
    return load_settings(env).checks.at(0);
}

struct Timed {
    Result result;
    double ms;
};

Timed run_once(Check& check, Duration timeout = std::chrono::milliseconds(500)) {
    const auto t0 = rptest::Clock::now();
    Result r = run_check(check, SteadyClock::now() + timeout, timeout);
    return {r, ms_since(t0)};
}


// Runs redis-cli over TLS as the default user.
std::string cli(const Redis& redis, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/redis-cli", "--no-auth-warning", "--tls", "--cacert", ca(), "-h",
                                  "127.0.0.1", "-p", std::to_string(redis.port()), "-a", kPassword};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult r = run(argv, base_env(), 10000ms);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
}

Env sidecar_env(Env env) {
    env["READYPROBE_INTERVAL"] = "100ms";
    env["READYPROBE_TIMEOUT"] = "500ms";
    env["READYPROBE_DETAILS"] = "full";
    env["READYPROBE_DRAIN"] = "0s";
    return env;
}

// The /readyz?verbose line of check `name` once it shows `part` (or the last one seen).
std::string verbose_line(const Sidecar& rp, const std::string& name, const std::string& part) {
    std::string line;
    eventually(
        [&] {
            const std::string body = rp.get("/readyz?verbose").body;
            const auto at = body.find("]" + name + " ");
            line = at == std::string::npos ? body : body.substr(at - 2, body.find('\n', at) - (at - 2));
            return has(line, part);
        },
        8000ms, 50ms);
    return line;
}

}  // namespace

TEST_CASE("redis tls: CA_FILE trusted - other CA, IP not in the certificate - AUTH, ACL user, SELECT",
          "[redis][tls]") {
    // Listening on 127.0.0.2 as well: an address the certificate does not name.
    std::vector<std::string> args = auth_args();
    for (const char* a : {"--bind", "127.0.0.1", "127.0.0.2"}) args.emplace_back(a);
    Redis redis(args, true);
    const int port = redis.port();

    SECTION("the password and the CA file: PONG, on a kept connection") {
        auto check = make_check(spec_for(tls_url(":" + kPassword, "127.0.0.1", port), ca()));
        auto t = run_once(*check);
        INFO(t.result.message);
        CHECK(t.result.ok);
        CHECK(run_once(*check).result.ok);
        // A host name checked against the certificate's DNS names (and sent as SNI).
        auto by_name = make_check(spec_for(tls_url(":" + kPassword, "localhost", port), ca()));
        t = run_once(*by_name);
        INFO(t.result.message);
        CHECK(t.result.ok);
    }
    SECTION("an unrelated CA: down, naming the certificate problem") {
        auto check = make_check(spec_for(tls_url(":" + kPassword, "127.0.0.1", port), other_ca()));
        const Result r = run_once(*check).result;
        CHECK_FALSE(r.ok);
        CHECK_FALSE(r.timed_out);
        CHECK(r.message == "certificate verify failed: self-signed certificate in certificate chain");
    }
    SECTION("an address the certificate does not name: down, IP address mismatch") {
        auto check = make_check(spec_for(tls_url(":" + kPassword, "127.0.0.2", port), ca()));
        const Result r = run_once(*check).result;
        CHECK_FALSE(r.ok);
        CHECK(r.message == "certificate verify failed: IP address mismatch");
    }
    SECTION("a wrong password: AUTH failed with the server's words, never the password") {
        auto check = make_check(spec_for(tls_url(":Wrong-Pw-5150", "127.0.0.1", port), ca()));
        const Result r = run_once(*check).result;
        CHECK_FALSE(r.ok);
        CHECK(has(r.message, "AUTH failed: WRONGPASS"));
        CHECK_FALSE(has(r.message, "Wrong-Pw-5150"));
        CHECK(r.message.find('\n') == std::string::npos);
    }
    SECTION("no password: the server's NOAUTH") {
        auto check = make_check(spec_for(tls_url("", "127.0.0.1", port), ca()));
        const Result r = run_once(*check).result;
        CHECK_FALSE(r.ok);
        CHECK(has(r.message, "NOAUTH"));
    }
    SECTION("an ACL user (AUTH user password): up; its wrong password: down") {
        auto check = make_check(spec_for(tls_url(kAclUser + ":" + kAclPassword, "127.0.0.1", port), ca()));
        auto t = run_once(*check);
        INFO(t.result.message);
        CHECK(t.result.ok);
        auto wrong = make_check(spec_for(tls_url(kAclUser + ":not-" + kAclPassword, "127.0.0.1", port), ca()));
        const Result r = run_once(*wrong).result;
        CHECK_FALSE(r.ok);
        CHECK(has(r.message, "AUTH failed: WRONGPASS"));
        CHECK_FALSE(has(r.message, kAclPassword));
    }
    SECTION("SELECT 3: up, and the kept connection really is on database 3") {
        auto check = make_check(spec_for(tls_url(":" + kPassword, "127.0.0.1", port, 3), ca()));
        auto t = run_once(*check);
        INFO(t.result.message);
        REQUIRE(t.result.ok);
        const std::string clients = cli(redis, {"CLIENT", "LIST"});
        INFO(clients);
        CHECK(has(clients, " db=3 "));

        auto out_of_range = make_check(spec_for(tls_url(":" + kPassword, "127.0.0.1", port, 99), ca()));
        const Result r = run_once(*out_of_range).result;
        CHECK_FALSE(r.ok);
        CHECK(has(r.message, "SELECT 99 failed: ERR DB index is out of range"));
    }
    SECTION("a restart breaks the kept connection: the next run reconnects (no flap)") {
        auto check = make_check(spec_for(tls_url(":" + kPassword, "127.0.0.1", port), ca(), std::chrono::seconds(3)));
        REQUIRE(run_once(*check, std::chrono::seconds(3)).result.ok);
        redis.stop();
        redis.start();
        REQUIRE(redis.port() == port);
        auto t = run_once(*check, std::chrono::seconds(3));
        INFO(t.result.message);
        CHECK(t.result.ok);
    }
}

TEST_CASE("redis tls: plain and TLS mixed up - each says so in one line", "[redis][tls]") {
    Redis tls({}, true);
    Redis plain;
    // rediss:// to a plain Redis: Redis reads the ClientHello as the start of an inline command
    // and waits for the rest of the line; the timeout says where it was.
    auto to_plain = make_check(spec_for(tls_url("", "127.0.0.1", plain.port()), ca()));
    Result r = run_once(*to_plain).result;
    INFO(r.message);
    CHECK_FALSE(r.ok);
    CHECK(r.timed_out);
    CHECK(r.message == "timeout after 500 ms during the TLS handshake");
    // redis:// to a TLS port: the server drops a client that does not speak TLS.
    auto to_tls = make_check(spec_for("redis://127.0.0.1:" + std::to_string(tls.port()) + "/0"));
    r = run_once(*to_tls).result;
    std::cout << "redis tls: redis:// to a TLS port: " << r.message << std::endl;
    INFO(r.message);
    CHECK_FALSE(r.ok);
    CHECK_FALSE(r.timed_out);
    CHECK(r.message.find('\n') == std::string::npos);
}

TEST_CASE("redis tls: a SIGSTOPped TLS server is a timeout within the deadline - then recovers",
          "[redis][tls][fault]") {
    Redis redis({}, true);
    auto check = make_check(spec_for(redis.url(), ca()));
    REQUIRE(run_once(*check).result.ok);

    redis.pause();
    auto t = run_once(*check);  // kept TLS connection, silent peer
    redis.resume();
    INFO(t.result.message);
    CHECK(t.result.timed_out);
    CHECK(t.result.message == "timeout after 500 ms");
    CHECK(t.ms < 500 + scaled(300ms).count());
    CHECK(run_once(*check).result.ok);

    redis.pause();
    auto fresh = make_check(spec_for(redis.url(), ca()));
    t = run_once(*fresh);  // accepted by the kernel, the handshake never answered
    redis.resume();
    INFO(t.result.message);
    CHECK(t.result.timed_out);
    CHECK(t.ms < 500 + scaled(300ms).count());
    CHECK(run_once(*fresh).result.ok);
}

TEST_CASE("redis tls: 1,000 failing TLS runs leave the process's open fds flat", "[redis][tls][leak]") {
    Redis redis(auth_args(), true);
    const pid_t self = ::getpid();
    // Certificate rejected in the handshake, and a completed handshake whose AUTH fails: both
    // close their socket and free their TLS session.
    auto untrusted = make_check(spec_for(tls_url(":" + kPassword, "127.0.0.1", redis.port()), other_ca()));
    auto wrong_pw = make_check(spec_for(tls_url(":Wrong-Pw-1", "127.0.0.1", redis.port()), ca()));
    for (int i = 0; i < 10; ++i) {
        REQUIRE_FALSE(run_once(*untrusted).result.ok);
        REQUIRE_FALSE(run_once(*wrong_pw).result.ok);
    }
    const int before = open_fds(self);
    int untrusted_failed = 0;
    int wrong_pw_failed = 0;
    const auto t0 = rptest::Clock::now();
    for (int i = 0; i < 1000; ++i) {
        const Result a = run_once(*untrusted, std::chrono::seconds(2)).result;
        untrusted_failed += !a.ok && has(a.message, "certificate verify failed");
        const Result b = run_once(*wrong_pw, std::chrono::seconds(2)).result;
        wrong_pw_failed += !b.ok && has(b.message, "WRONGPASS");
    }
    const int after = open_fds(self);
    std::cout << "redis tls: 2x1000 failing TLS runs in " << ms_since(t0) / 1000.0 << " s, fds " << before << "->"
              << after << std::endl;
    CHECK(untrusted_failed == 1000);
    CHECK(wrong_pw_failed == 1000);
    CHECK(std::abs(after - before) <= 2);
}

TEST_CASE("redis tls: what users see - SSL_CERT_FILE, CA_FILE, untrusted, wrong password, config",
          "[redis][tls][cli]") {
    Redis redis(auth_args(), true);
    const int port = redis.port();
    const std::string good = tls_url(":" + kPassword, "127.0.0.1", port);

    Sidecar rp(sidecar_env({
        // The system trust store, pointed at the test CA the way an image would add its own.
        {"SSL_CERT_FILE", ca()},
        {"READYPROBE_CHECK_BY_STORE", good},
        {"READYPROBE_CHECK_BY_FILE", tls_url("", "127.0.0.1", port)},
        {"READYPROBE_CHECK_BY_FILE_CA_FILE", ca()},
        {"READYPROBE_CHECK_BY_FILE_PASSWORD", kPassword},
        {"READYPROBE_CHECK_UNTRUSTED", good},
        {"READYPROBE_CHECK_UNTRUSTED_CA_FILE", other_ca()},
        {"READYPROBE_CHECK_WRONGPW", tls_url(":Wrong-Pw-9090", "127.0.0.1", port)},
        {"READYPROBE_CHECK_ACL", tls_url(kAclUser + ":" + kAclPassword, "localhost", port, 2)},
    }));
    const std::string store = verbose_line(rp, "by_store", "ok");
    const std::string file = verbose_line(rp, "by_file", "ok");
    const std::string acl = verbose_line(rp, "acl", "ok");
    const std::string untrusted = verbose_line(rp, "untrusted", "certificate verify failed");
    const std::string wrong = verbose_line(rp, "wrongpw", "WRONGPASS");
    std::cout << "redis tls /readyz?verbose:\n  " << store << "\n  " << file << "\n  " << acl << "\n  " << untrusted
              << "\n  " << wrong << std::endl;
    // Lines end in the latency: " (4.8 ms)". The server sends its chain up to the test CA, hence
    // OpenSSL's "self-signed certificate in certificate chain" when that CA is not trusted.
    CHECK(has(store, "[+]by_store ok ("));
    CHECK(has(file, "[+]by_file ok ("));
    CHECK(has(acl, "[+]acl ok ("));
    CHECK(has(untrusted,
              "[-]untrusted failed: certificate verify failed: self-signed certificate in certificate chain ("));
    CHECK(has(wrong, "[-]wrongpw failed: AUTH failed: WRONGPASS invalid username-password pair"));

    // Without SSL_CERT_FILE the system store does not know the throwaway CA.
    Sidecar plain_store(sidecar_env({{"READYPROBE_CHECK_CACHE", good}}));
    const std::string line = verbose_line(plain_store, "cache", "certificate verify failed");
    CHECK(has(line, "[-]cache failed: certificate verify failed: self-signed certificate in certificate chain ("));

    std::string everything;
    for (const char* path : {"/readyz?verbose", "/readyz?format=json", "/metrics", "/startupz?verbose"}) {
        everything += rp.get(path).body + plain_store.get(path).body;
    }
    const RunResult config = run({binary(), "config"},
                                 [&] {
                                     Env env = base_env();
                                     env["READYPROBE_CHECK_CACHE"] = good;
                                     env["READYPROBE_CHECK_CACHE_CA_FILE"] = ca();
                                     return env;
                                 }());
    INFO(config.out << config.err);
    REQUIRE(config.exit_code == 0);
    const auto j = nlohmann::json::parse(config.out).at("checks").at("cache");
    CHECK(j.at("kind") == "redis");
    CHECK(j.at("ca_file") == ca());
    CHECK(has(j.at("url").get<std::string>(), "rediss://"));
    everything += config.out + config.err;

    const RunResult missing = run({binary(), "config"}, [&] {
        Env env = base_env();
        env["READYPROBE_CHECK_CACHE"] = good;
        env["READYPROBE_CHECK_CACHE_CA_FILE"] = tls_certs() + "/no-such-ca.crt";
        return env;
    }());
    CHECK(missing.exit_code == 2);
    CHECK(has(missing.err, "READYPROBE_CHECK_CACHE_CA_FILE"));
    CHECK(has(missing.err, "no-such-ca.crt"));
    everything += missing.out + missing.err;

    for (Sidecar* s : {&rp, &plain_store}) {
        s->process().signal(SIGTERM);
        REQUIRE(s->process().wait_for(5000ms).has_value());
        everything += s->process().out() + s->process().err();
    }
    for (const std::string& secret : {kPassword, kAclPassword, std::string("Wrong-Pw-9090")}) {
        INFO(secret);
        CHECK_FALSE(has(everything, secret));
    }
}
