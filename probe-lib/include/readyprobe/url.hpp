// URLs of check targets, with the password split out so it cannot leak by accident.
#pragma once

#include <readyprobe/secret.hpp>

#include <string>
#include <utility>
#include <vector>

namespace readyprobe {

// One server a URL names: a host name, an IP address (IPv6 without brackets) or, in a postgres
// URL, a Unix-socket directory (starts with '/'); port 0 means the scheme's default.
struct Endpoint {
    std::string host;
    int port = 0;
};

struct Url {
    std::string scheme;  // lower-case
    std::string user;    // percent-decoded
    Secret password;     // percent-decoded; also taken from a `password=` query parameter
    std::string host;    // the first host, percent-decoded, without IPv6 brackets
    int port = 0;        // the first host's port; 0: the scheme's default
    // Every host in order (hosts[0] is host/port); empty when the URL names none. Several only
    // in postgres URLs (`h1:5432,h2:5433` or `?host=h1,h2&port=5432,5433`, as libpq takes them).
    std::vector<Endpoint> hosts;
    std::string path;    // as written, starting with '/', or empty
    std::vector<std::pair<std::string, std::string>> query;  // decoded, secrets (and postgres host/port) removed
    // Query parameters whose name contains "password" (any case) other than `password` itself,
    // e.g. libpq's `sslpassword`: decoded, in order, never printed.
    std::vector<std::pair<std::string, Secret>> secret_query;

    // scheme://user:***@host:port,host2:port2/path?query&sslpassword=***: safe to print.
    std::string redacted() const;
    // host:port of the first host with IPv6 brackets, for messages.
    std::string authority() const;
    // The value of a query parameter, or `fallback`.
    std::string param(const std::string& key, const std::string& fallback = "") const;
    // The password and every secret query value: what messages must be masked with.
    std::vector<Secret> secrets() const;
    // libpq's `host` and `port` values: comma lists when there are several hosts ("" = default).
    std::string host_list() const;
    std::string port_list() const;
};

// Throws std::invalid_argument with a message that never contains the password.
Url parse_url(const std::string& text);

// Where an http:// or https:// URL sends a request and what it asks for: the one place that
// builds them (the HTTP check, `readyprobe check` and `status`, the `readyprobe` front).
struct RequestTarget {
    std::string host;  // without IPv6 brackets (connect to host and port as they are)
    int port = 0;      // the URL's port, else the scheme's default (80, 443)
    std::string base;  // scheme://host:port, an IPv6 host in brackets: cpp-httplib's Client(base)
    // The path ("/" when the URL has none) and the query, with the secret parameters (they are in
    // the request, never in a printout): do not log it.
    std::string path;
};

// `encode` null: keys and values as written, `key` alone for an empty value (for a client that
// encodes the whole target itself, as cpp-httplib's Client::Get does); otherwise every key and
// value goes through `encode` and each pair is `key=value`.
RequestTarget request_target(const Url& url, std::string (*encode)(const std::string&) = nullptr);

}  // namespace readyprobe
