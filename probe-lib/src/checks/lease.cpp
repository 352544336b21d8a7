#include "lease.hpp"

#include "io.hpp"

#include <readyprobe/url.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace readyprobe::detail {
namespace {

std::string array_sql(const std::vector<std::string>& items) {
    std::string out = "ARRAY[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + sql_literal(items[i]);
    return out + "]::text[]";
}

bool valid_part(const std::string& part) {
    return !part.empty() && part.size() <= 100 && std::all_of(part.begin(), part.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_' || c == '.';
    });
}

std::string fallback_identity() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "unknown-host");
    return std::string(host) + ":" + std::to_string(::getpid());
}

}  // namespace

Announce parse_announce(const std::string& text) {
    const auto slash = text.find('/');
    const std::string bad = "must be <service>/<version> (letters, digits, '-', '_', '.'), e.g. orders-service/v1";
    if (slash == std::string::npos || text.find('/', slash + 1) != std::string::npos) {
        throw std::invalid_argument(bad);
    }
    Announce a{text.substr(0, slash), text.substr(slash + 1)};
    if (!valid_part(a.service) || !valid_part(a.version)) throw std::invalid_argument(bad);
    return a;
}

std::vector<std::string> lease_schema_sql() {
    return {
        "CREATE SCHEMA IF NOT EXISTS readyprobe",
        "CREATE TABLE IF NOT EXISTS readyprobe.leases (task text PRIMARY KEY, service text NOT NULL, "
        "version text NOT NULL, require text[] NOT NULL DEFAULT '{}', heartbeat timestamptz NOT NULL DEFAULT now(), "
        "expires_at timestamptz NOT NULL)",
    };
}

std::string lease_upsert_sql(const std::string& task, const Announce& announce,
                             const std::vector<std::string>& require, long long ttl_ms) {
    return "INSERT INTO readyprobe.leases AS l (task, service, version, require, heartbeat, expires_at) VALUES (" +
           sql_literal(task) + ", " + sql_literal(announce.service) + ", " + sql_literal(announce.version) + ", " +
           array_sql(require) + ", now(), now() + interval '" + std::to_string(std::max(1LL, ttl_ms)) +
           " milliseconds') ON CONFLICT (task) DO UPDATE SET service = EXCLUDED.service, version = "
           "EXCLUDED.version, require = EXCLUDED.require, heartbeat = EXCLUDED.heartbeat, expires_at = "
           "EXCLUDED.expires_at RETURNING l.task";
}

std::string lease_delete_sql(const std::string& task) {
    return "DELETE FROM readyprobe.leases WHERE task = " + sql_literal(task) + " RETURNING task";
}

std::string guard_sql(const std::vector<std::string>& drops) {
    std::vector<std::string> tables;
    for (const auto& d : drops) {
        if (d.find('.') == std::string::npos) tables.push_back(d);
    }
    const std::string needed = "r.item = ANY(" + array_sql(drops) + ") OR split_part(r.item, '.', 1) = ANY(" +
                               array_sql(tables) + ")";
    return "SELECT l.service, l.version, l.task, array_to_string(ARRAY(SELECT r.item FROM unnest(l.require) "
           "WITH ORDINALITY AS r(item, n) WHERE " + needed + " ORDER BY r.n), ',') FROM readyprobe.leases l "
           "WHERE l.expires_at > now() AND EXISTS (SELECT 1 FROM unnest(l.require) AS r(item) WHERE " + needed +
           ") ORDER BY l.service, l.version, l.task";
}

std::string task_identity(const std::string& metadata_uri, Deadline deadline) {
    if (metadata_uri.empty()) return fallback_identity();
    try {
        const Url u = parse_url(metadata_uri);
        if (u.scheme != "http" || u.host.empty()) return fallback_identity();
        httplib::Client client(u.host, u.port ? u.port : 80);
        const long long left = std::max(1LL, remaining_ms(deadline));
        const auto sec = static_cast<time_t>(left / 1000);
        const auto usec = static_cast<time_t>((left % 1000) * 1000);
        client.set_connection_timeout(sec, usec);
        client.set_read_timeout(sec, usec);
        client.set_write_timeout(sec, usec);
        const std::string path = (u.path.empty() ? std::string() : u.path) + "/task";
        auto res = client.Get(path.c_str());
        if (!res || res->status != 200) return fallback_identity();
        const auto doc = nlohmann::json::parse(res->body);
        if (doc.is_object() && doc.contains("TaskARN") && doc["TaskARN"].is_string()) {
            const std::string arn = doc["TaskARN"].get<std::string>();
            if (!arn.empty()) return arn;
        }
    } catch (const std::exception&) {
    }
    return fallback_identity();
}

}  // namespace readyprobe::detail
