// A TLS-only PostgreSQL (ssl=on, hostssl only in pg_hba.conf, a throwaway CA): what RDS with
// rds.force_ssl, or any server that refuses plain connections, looks like to the check.
#include "support.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>

#include <catch2/catch.hpp>

using namespace rptest;
using namespace readyprobe;

namespace {


Postgres& tls_server() {
    static Postgres pg({}, tls_certs());
    return pg;
}

Result check_once(const std::string& url) {
    Environment env{{"READYPROBE_CHECK_DB", url}, {"READYPROBE_TIMEOUT", "3s"}};
    auto check = make_check(load_settings(env).checks.at(0));
    return check->run(SteadyClock::now() + std::chrono::seconds(3));
}

}  // namespace

TEST_CASE("TLS-only PostgreSQL: verify-full with the right CA is up", "[postgres][tls]") {
    const Result r = check_once(tls_server().url() + "?sslmode=verify-full&sslrootcert=" + tls_certs() + "/ca.crt");
    INFO(r.message);
    CHECK(r.ok);
}

TEST_CASE("TLS-only PostgreSQL: an unrelated CA is down, naming the certificate problem", "[postgres][tls]") {
    const Result r =
        check_once(tls_server().url() + "?sslmode=verify-full&sslrootcert=" + tls_certs() + "/other-ca.crt");
    INFO(r.message);
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "certificate verify failed"));
    CHECK(r.message.rfind("SSL error", 0) == 0);  // the acronym keeps its case
    CHECK_FALSE(has(r.message, "app-secret-pw"));
}

TEST_CASE("TLS-only PostgreSQL: verify-full against a name not in the certificate is down", "[postgres][tls]") {
    // The certificate names localhost, 127.0.0.1 and ::1; 127.0.0.2 reaches the same server.
    Postgres& pg = tls_server();
    pg.psql("ALTER SYSTEM SET listen_addresses = '127.0.0.1,127.0.0.2'");
    pg.restart();
    std::string url = pg.url();
    url.replace(url.find("127.0.0.1"), 9, "127.0.0.2");
    const Result r = check_once(url + "?sslmode=verify-full&sslrootcert=" + tls_certs() + "/ca.crt");
    INFO(r.message);
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "127.0.0.2"));
}

TEST_CASE("TLS-only PostgreSQL: sslmode=disable is down with the server's reason", "[postgres][tls]") {
    const Result r = check_once(tls_server().url() + "?sslmode=disable");
    INFO(r.message);
    CHECK_FALSE(r.ok);
    CHECK(has(r.message, "no pg_hba.conf entry"));
    CHECK(has(r.message, "no encryption"));
}
