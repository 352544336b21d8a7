// ANNOUNCE (option parsing, `readyprobe config`) and the lease/guard SQL builders. The SQL itself
// runs against a real PostgreSQL in tests/integration/test_guard.cpp.
#include <readyprobe/config.hpp>
#include <readyprobe/lease.hpp>

#include "../../probe-lib/src/checks/lease.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <thread>

using namespace readyprobe;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string config_error(const Environment& env) {
    try {
        load_settings(env);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("ANNOUNCE: <service>/<version> on a postgres check, shown by readyprobe config", "[config][lease]") {
    const Settings s = load_settings({{"READYPROBE_CHECK_DB", "postgres://app:pw@db/orders"},
                                      {"READYPROBE_CHECK_DB_ANNOUNCE", " orders-service/v1.2_rc "},
                                      {"READYPROBE_CHECK_DB_REQUIRE", "orders.customer_name"}});
    REQUIRE(s.checks.size() == 1);
    CHECK(s.checks[0].announce == "orders-service/v1.2_rc");
    const auto j = nlohmann::json::parse(s.to_json());
    CHECK(j["checks"]["db"]["announce"] == "orders-service/v1.2_rc");
    // Without it, nothing is announced and the key is absent.
    const Settings plain = load_settings({{"READYPROBE_CHECK_DB", "postgres://db/orders"}});
    CHECK(plain.checks[0].announce.empty());
    CHECK_FALSE(nlohmann::json::parse(plain.to_json())["checks"]["db"].contains("announce"));
}

TEST_CASE("ANNOUNCE: bad values and other kinds are configuration errors naming the variable", "[config][lease]") {
    for (const std::string bad : {"", "orders", "orders/", "/v1", "a/b/c", "orders/v 1", "orders/v1;drop", "ord'ers/v1"}) {
        INFO(bad);
        const std::string e = config_error({{"READYPROBE_CHECK_DB", "postgres://db/orders"},
                                            {"READYPROBE_CHECK_DB_ANNOUNCE", bad}});
        CHECK(has(e, "READYPROBE_CHECK_DB_ANNOUNCE: must be <service>/<version>"));
    }
    CHECK(has(config_error({{"READYPROBE_CHECK_CACHE", "redis://cache"}, {"READYPROBE_CHECK_CACHE_ANNOUNCE", "a/b"}}),
              "READYPROBE_CHECK_CACHE_ANNOUNCE: ANNOUNCE is for postgres checks only"));
    CHECK(has(config_error({{"READYPROBE_CHECK_DB_ANNOUNCE", "a/b"}}), "its URL) is not set"));
}

TEST_CASE("parse_drops: table.column and table items, like REQUIRE", "[lease]") {
    CHECK(parse_drops("orders.customer_name, legacy") == std::vector<std::string>{"orders.customer_name", "legacy"});
    CHECK_THROWS_AS(parse_drops(""), std::invalid_argument);
    CHECK_THROWS_AS(parse_drops("orders,,x"), std::invalid_argument);
    CHECK_THROWS_AS(parse_drops("a.b.c"), std::invalid_argument);
    CHECK_THROWS_AS(parse_drops("orders; DROP TABLE x"), std::invalid_argument);
}

TEST_CASE("lease SQL: values are quoted literals: one statement each", "[lease]") {
    const detail::Announce a = detail::parse_announce("orders/v1");
    CHECK(a.service == "orders");
    CHECK(a.version == "v1");
    // A host name is outside our control: its quote is doubled, never ends the literal.
    const std::string upsert = detail::lease_upsert_sql("h'st:42", a, {"orders.customer_name", "items"}, 7000);
    CHECK(has(upsert, "'h''st:42'"));
    CHECK(has(upsert, "ARRAY['orders.customer_name','items']::text[]"));
    CHECK(has(upsert, "now() + interval '7000 milliseconds'"));
    CHECK(has(upsert, "ON CONFLICT (task) DO UPDATE"));
    CHECK_FALSE(has(upsert, ";"));
    // No REQUIRE: an empty, typed array.
    CHECK(has(detail::lease_upsert_sql("t", a, {}, 1), "ARRAY[]::text[]"));
    CHECK(detail::lease_delete_sql("x'y") == "DELETE FROM readyprobe.leases WHERE task = 'x''y' RETURNING task");
    for (const auto& sql : detail::lease_schema_sql()) {
        CHECK(has(sql, "IF NOT EXISTS"));
        CHECK_FALSE(has(sql, ";"));
    }
    CHECK(detail::no_lease_table("42P01"));
    CHECK(detail::no_lease_table("3F000"));
    CHECK_FALSE(detail::no_lease_table("42501"));  // permission denied is not "no table"
}

TEST_CASE("guard SQL: only unexpired leases: a dropped table covers its columns", "[lease]") {
    const std::string sql = detail::guard_sql({"orders.customer_name", "legacy"});
    CHECK(has(sql, "l.expires_at > now()"));
    CHECK(has(sql, "r.item = ANY(ARRAY['orders.customer_name','legacy']::text[])"));
    // Only the table items are matched against the table part of a required column.
    CHECK(has(sql, "split_part(r.item, '.', 1) = ANY(ARRAY['legacy']::text[])"));
    CHECK(has(detail::guard_sql({"orders.x"}), "ANY(ARRAY[]::text[])"));
}

TEST_CASE("task identity: host:pid without ECS metadata, and when the endpoint does not answer", "[lease]") {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::string expected = std::string(host) + ":" + std::to_string(::getpid());
    CHECK(detail::task_identity("", SteadyClock::now() + std::chrono::seconds(1)) == expected);
    // A closed port (1 on loopback): refused at once, so the fallback.
    CHECK(detail::task_identity("http://127.0.0.1:1/v4/abc", SteadyClock::now() + std::chrono::seconds(1)) ==
          expected);
    CHECK(detail::task_identity("not a url", SteadyClock::now() + std::chrono::seconds(1)) == expected);
}

TEST_CASE("task identity: the task ARN from the ECS task metadata endpoint", "[lease]") {
    httplib::Server server;
    server.Get("/v4/abc/task", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(R"({"Cluster":"c","TaskARN":"arn:aws:ecs:eu-west-1:123456789012:task/c/0123abcd"})",
                        "application/json");
    });
    const int port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    std::thread t([&] { server.listen_after_bind(); });
    CHECK(detail::task_identity("http://127.0.0.1:" + std::to_string(port) + "/v4/abc",
                                SteadyClock::now() + std::chrono::seconds(2)) ==
          "arn:aws:ecs:eu-west-1:123456789012:task/c/0123abcd");
    server.stop();
    t.join();
}
