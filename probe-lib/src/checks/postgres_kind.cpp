// The postgres kind's options (POOL, MIGRATION, MIGRATION_DIR, REQUIRE, ANNOUNCE): parsed and
// validated once, when the configuration is loaded, and described for `readyprobe config`. The
// check itself is postgres.cpp (its session/driver) with migration.cpp and lease.cpp.
#include "postgres.hpp"

#include "../text.hpp"
#include "lease.hpp"
#include "migration.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace readyprobe::detail {
namespace {

void parse_pool(CheckSpec& spec, const RawOption& raw) {
    const std::string v = trim(raw.value);
    if (v.empty() || v.size() > 3 || !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); }) ||
        std::stoi(v) < 1 || std::stoi(v) > 100) {
        throw ConfigError(raw.where, "must be a number of connections from 1 to 100, not " + shown(raw.value));
    }
    spec.pool = std::stoi(v);
}

// Syntax here; the whole gate is loaded in finish(), once MIGRATION_DIR is known too.
void parse_migration_option(CheckSpec& spec, const RawOption& raw) {
    try {
        parse_migration(trim(raw.value));
    } catch (const std::invalid_argument& e) {
        throw ConfigError(raw.where, e.what());
    }
    spec.migration = trim(raw.value);
}

void parse_migration_dir(CheckSpec& spec, const RawOption& raw) {
    spec.migration_dir = trim(raw.value);
    if (spec.migration_dir.empty()) throw ConfigError(raw.where, "is empty (the alembic versions directory)");
}

void parse_require_option(CheckSpec& spec, const RawOption& raw) {
    try {
        spec.require = parse_require(raw.value);
    } catch (const std::invalid_argument& e) {
        throw ConfigError(raw.where, e.what());
    }
}

void parse_announce_option(CheckSpec& spec, const RawOption& raw) {
    try {
        parse_announce(trim(raw.value));
    } catch (const std::invalid_argument& e) {
        throw ConfigError(raw.where, std::string(e.what()) + ", not " + shown(raw.value));
    }
    spec.announce = trim(raw.value);
}

// The whole gate, as the check will evaluate it: an alembic gate reads its revision history now,
// so a gate that cannot be evaluated soundly is refused before anything starts. The check uses
// the loaded gate (spec.migration_gate) instead of reading it again.
void finish_postgres(CheckSpec& spec, const RawOptions& options) {
    const auto dir = options.find("MIGRATION_DIR");
    if (dir != options.end() && spec.migration.empty()) {
        throw ConfigError(dir->second.where, "is for alembic gates: set MIGRATION too (e.g. alembic>=<revision>)");
    }
    if (spec.migration.empty()) return;
    try {
        spec.migration_gate = std::make_shared<const MigrationRequirement>(
            load_migration(spec.migration, spec.migration_dir));
    } catch (const std::invalid_argument& e) {
        throw ConfigError(dir != options.end() ? dir->second.where : options.at("MIGRATION").where, e.what());
    }
}

void describe_postgres(const CheckSpec& spec, nlohmann::json& out) {
    if (spec.pool > 0) out["pool"] = spec.pool;
    if (!spec.migration.empty()) out["migration"] = spec.migration;
    if (!spec.migration_dir.empty()) out["migration_dir"] = spec.migration_dir;
    if (!spec.require.empty()) out["require"] = spec.require;
    if (!spec.announce.empty()) out["announce"] = spec.announce;
}

}  // namespace

const Kind& postgres_kind() {
    static const Kind kind = [] {
        Kind k;
        k.name = "postgres";
        k.schemes = {"postgres", "postgresql"};
        k.options = {{"POOL", 8, parse_pool, ""},
                     {"MIGRATION", 9, parse_migration_option, ""},
                     {"MIGRATION_DIR", 10, parse_migration_dir, ""},
                     {"REQUIRE", 11, parse_require_option, ""},
                     {"ANNOUNCE", 14, parse_announce_option, ""}};
        k.finish = finish_postgres;
        k.describe = describe_postgres;
        k.make = make_postgres_check;
        return k;
    }();
    return kind;
}

}  // namespace readyprobe::detail
