// Built-in check kinds, made from a CheckSpec (the factory picks the kind from the URL scheme).
#pragma once

#include <readyprobe/check.hpp>
#include <readyprobe/spec.hpp>

#include <memory>

namespace readyprobe {

// postgres:// postgresql:// redis:// rediss:// http:// https:// tcp:// file://
std::unique_ptr<Check> make_check(const CheckSpec& spec);

// PostgreSQL: one connection kept open and reused; each run sends `SELECT 1` with libpq's
// non-blocking API, so the deadline holds even against a server that stopped answering.
std::unique_ptr<Check> make_postgres_check(const CheckSpec& spec);
// Redis: PING must answer PONG; AUTH (user and password) and database from the URL; rediss://
// over TLS (system trust store or spec.ca_file, host name checked). One connection kept and reused.
std::unique_ptr<Check> make_redis_check(const CheckSpec& spec);
// HTTP(S): GET; the status must be in spec.expect.
std::unique_ptr<Check> make_http_check(const CheckSpec& spec);
// TCP: a connection is accepted.
std::unique_ptr<Check> make_tcp_check(const CheckSpec& spec);
// Sentinel file: it exists.
std::unique_ptr<Check> make_file_check(const CheckSpec& spec);

// Adds every configured check to the prober (defined with the Prober, prober.cpp).
class Prober;
void add_checks(Prober& prober, const std::vector<CheckSpec>& specs);

}  // namespace readyprobe
