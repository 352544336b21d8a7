// The table of check kinds (src/checks/registry.cpp): each kind's scheme(s), its own options and
// their errors, `readyprobe config`'s description of them, and MIGRATION parsed once.
#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>

#include "checks/migration.hpp"
#include "kind.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using namespace readyprobe;

namespace {

// The exact text of the ConfigError load_settings(env) throws.
std::string config_error(const Environment& env) {
    try {
        load_settings(env);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("kinds: every scheme maps to its kind, and an unknown one lists them all", "[kinds]") {
    const std::pair<const char*, const char*> cases[] = {
        {"postgres://app@db/orders", "postgres"}, {"postgresql://app@db/orders", "postgres"},
        {"redis://cache:6379", "redis"},          {"rediss://cache:6380", "redis"},
        {"http://app:8080/health", "http"},       {"https://app/health", "http"},
        {"tcp://mq:5672", "tcp"},                 {"file:///tmp/ready", "file"}};
    for (const auto& [url, kind] : cases) {
        INFO(url);
        CHECK(check_spec("c", url).kind == kind);
        CHECK(make_check(check_spec("c", url))->kind() == kind);
    }
    CHECK(config_error({{"READYPROBE_CHECK_MQ", "amqp://mq"}}) ==
          "READYPROBE_CHECK_MQ: unsupported scheme \"amqp\" (supported: postgres, postgresql, redis, rediss, "
          "http, https, tcp, file)");
}

TEST_CASE("kinds: options are listed in the same order as before they moved into their kinds", "[kinds]") {
    CHECK(config_error({{"READYPROBE_CHECK_DB", "postgres://app@db/orders"}, {"READYPROBE_CHECK_DB_BOGUS", "1"}}) ==
          "READYPROBE_CHECK_DB_BOGUS: unknown option BOGUS for check db (options: INTERVAL, TIMEOUT, RISE, FALL, "
          "GROUPS, CRITICAL, PASSWORD, EXPECT, POOL, MIGRATION, MIGRATION_DIR, REQUIRE, FAST_INTERVAL, CA_FILE, "
          "ANNOUNCE)");
}

TEST_CASE("kinds: an option of another kind names the kind it is for", "[kinds][errors]") {
    CHECK(config_error({{"READYPROBE_CHECK_C", "redis://cache"}, {"READYPROBE_CHECK_C_POOL", "2"}}) ==
          "READYPROBE_CHECK_C_POOL: POOL is for postgres checks only");
    CHECK(config_error({{"READYPROBE_CHECK_C", "http://app"}, {"READYPROBE_CHECK_C_ANNOUNCE", "a/1"}}) ==
          "READYPROBE_CHECK_C_ANNOUNCE: ANNOUNCE is for postgres checks only");
    CHECK(config_error({{"READYPROBE_CHECK_C", "tcp://mq:5672"}, {"READYPROBE_CHECK_C_EXPECT", "200"}}) ==
          "READYPROBE_CHECK_C_EXPECT: EXPECT is for http checks only");
    CHECK(config_error({{"READYPROBE_CHECK_C", "http://app"}, {"READYPROBE_CHECK_C_CA_FILE", "/etc/ca.pem"}}) ==
          "READYPROBE_CHECK_C_CA_FILE: CA_FILE is for redis checks only (rediss://)");
    CHECK(config_error({{"READYPROBE_CHECK_C", "tcp://mq:5672"}, {"READYPROBE_CHECK_C_PASSWORD", "pw"}}) ==
          "READYPROBE_CHECK_C_PASSWORD: a tcp check has no password");
    CHECK(config_error({{"READYPROBE_CHECK_C", "file:///tmp/x"}, {"READYPROBE_CHECK_C_PASSWORD", "pw"}}) ==
          "READYPROBE_CHECK_C_PASSWORD: a file check has no password");
}

TEST_CASE("kinds: each kind describes its own options for readyprobe config", "[kinds]") {
    const Settings s = load_settings({{"READYPROBE_CHECK_DB", "postgres://app@db/orders"},
                                      {"READYPROBE_CHECK_DB_POOL", "3"},
                                      {"READYPROBE_CHECK_DB_REQUIRE", "orders.customer"},
                                      {"READYPROBE_CHECK_WEB", "http://app:8080/health"},
                                      {"READYPROBE_CHECK_WEB_EXPECT", "200,300-399"},
                                      {"READYPROBE_CHECK_MQ", "tcp://mq:5672"}});
    const auto j = nlohmann::json::parse(s.to_json()).at("checks");
    CHECK(j.at("db").at("pool") == 3);
    CHECK(j.at("db").at("require") == nlohmann::json::array({"orders.customer"}));
    CHECK_FALSE(j.at("db").contains("expect"));
    CHECK(j.at("web").at("expect") == "200,300-399");
    CHECK_FALSE(j.at("web").contains("pool"));
    CHECK_FALSE(j.at("mq").contains("expect"));
    CHECK(j.at("mq").at("kind") == "tcp");
}

TEST_CASE("kinds: MIGRATION is parsed once, when the configuration is loaded", "[kinds][migration]") {
    const Settings s = load_settings({{"READYPROBE_CHECK_DB", "postgres://app@db/orders"},
                                      {"READYPROBE_CHECK_DB_MIGRATION", "golang-migrate>=3"}});
    const CheckSpec& spec = s.checks.at(0);
    REQUIRE(spec.migration_gate);
    CHECK(spec.migration_gate->tool == "golang-migrate");
    CHECK(spec.migration_gate->version == "3");
    CHECK(make_check(spec) != nullptr);

    // A spec changed in code after loading is not judged by the gate loaded for the old text:
    // the check loads the new one (an alembic gate without its directory cannot be evaluated).
    CheckSpec changed = spec;
    changed.migration = "alembic>=abc123";
    CHECK_THROWS_AS(make_check(changed), std::invalid_argument);
}
