#include "migration.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace readyprobe::detail {
namespace {

const std::vector<std::string> kTools = {"flyway", "golang-migrate", "alembic", "django",
                                         "rails",  "prisma",         "liquibase"};

// Tools whose versions are ordered, so ">=" means something.
bool ordered(const std::string& tool) {
    return tool == "flyway" || tool == "golang-migrate" || tool == "rails";
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::vector<std::string> split_version(const std::string& v) {
    std::vector<std::string> parts;
    std::string cur;
    for (char c : v) {
        if (c == '.' || c == '_') {
            parts.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    parts.push_back(cur);
    return parts;
}

int compare_part(const std::string& a, const std::string& b) {
    if (all_digits(a) && all_digits(b)) {
        const auto a0 = a.find_first_not_of('0');
        const auto b0 = b.find_first_not_of('0');
        const std::string an = a0 == std::string::npos ? "" : a.substr(a0);
        const std::string bn = b0 == std::string::npos ? "" : b.substr(b0);
        if (an.size() != bn.size()) return an.size() < bn.size() ? -1 : 1;
        return an.compare(bn) < 0 ? -1 : (an.compare(bn) > 0 ? 1 : 0);
    }
    const int c = a.compare(b);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

bool truthy(const std::string& v) { return v == "t" || v == "true" || v == "1"; }

// A value echoed in an error, quoted. A URL pasted into the wrong variable may hold a
// password (userinfo, ?password=): only its scheme is shown.
std::string quoted(std::string value) {
    if (auto scheme = value.find("://"); scheme != std::string::npos) value = value.substr(0, scheme + 3) + "...";
    return "\"" + value + "\"";
}

}  // namespace

MigrationRequirement parse_migration(const std::string& text) {
    MigrationRequirement req;
    std::size_t op = text.find(">=");
    std::size_t op_len = 2;
    if (op == std::string::npos) {
        op = text.find('=');
        op_len = 1;
        req.at_least = false;
    }
    if (op == std::string::npos || op == 0) {
        throw std::invalid_argument("must be <tool>>=<version> or <tool>=<version>, e.g. golang-migrate>=4");
    }
    req.tool = text.substr(0, op);
    req.version = text.substr(op + op_len);
    while (!req.tool.empty() && req.tool.back() == ' ') req.tool.pop_back();
    req.version.erase(0, req.version.find_first_not_of(' '));
    if (std::find(kTools.begin(), kTools.end(), req.tool) == kTools.end()) {
        throw std::invalid_argument("unknown migration tool " + quoted(req.tool) +
                                    " (flyway, golang-migrate, alembic, django, rails, prisma, liquibase)");
    }
    if (req.version.empty()) throw std::invalid_argument("no version after the operator");
    if (req.at_least && !ordered(req.tool)) {
        throw std::invalid_argument(req.tool + " versions are not ordered: use " + req.tool + "=<version>");
    }
    if ((req.tool == "golang-migrate" || req.tool == "rails") && !all_digits(req.version)) {
        throw std::invalid_argument(req.tool + " versions are whole numbers, not " + quoted(req.version));
    }
    if (req.tool == "django" && req.version.find('.') == std::string::npos) {
        throw std::invalid_argument("django migrations are app.name, e.g. django=orders.0003_customer");
    }
    return req;
}

int compare_versions(const std::string& a, const std::string& b) {
    const auto pa = split_version(a);
    const auto pb = split_version(b);
    for (std::size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
        const std::string x = i < pa.size() ? pa[i] : "0";
        const std::string y = i < pb.size() ? pb[i] : "0";
        if (int c = compare_part(x, y); c != 0) return c;
    }
    return 0;
}

MigrationQuery migration_query(const MigrationRequirement& req) {
    const std::string& t = req.tool;
    if (t == "flyway") {
        return {"flyway_schema_history",
                "SELECT version, success::text, script FROM flyway_schema_history ORDER BY installed_rank"};
    }
    if (t == "golang-migrate") return {"schema_migrations", "SELECT version::text, dirty::text FROM schema_migrations"};
    if (t == "alembic") return {"alembic_version", "SELECT version_num FROM alembic_version"};
    if (t == "django") return {"django_migrations", "SELECT app || '.' || name FROM django_migrations"};
    if (t == "rails") return {"schema_migrations", "SELECT version::text FROM schema_migrations"};
    if (t == "prisma") {
        return {"_prisma_migrations",
                "SELECT migration_name, (finished_at IS NOT NULL)::text, (rolled_back_at IS NOT NULL)::text "
                "FROM _prisma_migrations ORDER BY started_at"};
    }
    return {"databasechangelog", "SELECT id FROM databasechangelog ORDER BY orderexecuted"};
}

std::string evaluate_migration(const MigrationRequirement& req, const std::vector<Row>& rows,
                               std::string& current) {
    const std::string& t = req.tool;
    const std::string want = std::string(req.at_least ? ">= " : "= ") + req.version;
    auto compare_and_explain = [&](const std::string& have) -> std::string {
        current = have;
        if (have.empty()) return "no " + t + " migration applied yet, need " + want;
        const int c = compare_versions(have, req.version);
        if (req.at_least ? c >= 0 : c == 0) return "";
        return t + " at " + have + ", need " + want;
    };
    auto applied = [&](const std::vector<std::string>& names) -> std::string {
        current = names.empty() ? "" : names.back();
        if (std::find(names.begin(), names.end(), req.version) != names.end()) return "";
        return t + " migration " + req.version + " not applied" +
               (names.empty() ? " (none applied)" : " (latest: " + names.back() + ")");
    };

    if (t == "flyway") {
        std::string best;
        for (const auto& r : rows) {
            if (r.values.size() < 3) continue;
            if (!truthy(r.values[1])) {
                return "flyway migration " + (r.nulls[0] ? r.values[2] : r.values[0]) + " failed";
            }
            if (r.nulls[0]) continue;  // repeatable migrations have no version
            if (best.empty() || compare_versions(r.values[0], best) > 0) best = r.values[0];
        }
        return compare_and_explain(best);
    }
    if (t == "golang-migrate") {
        if (rows.empty()) return compare_and_explain("");
        const Row& r = rows.front();
        if (truthy(r.values.at(1))) {
            current = r.values[0];
            return "golang-migrate is dirty at version " + r.values[0] + " (a migration failed half-way)";
        }
        return compare_and_explain(r.values.at(0));
    }
    if (t == "rails") {
        std::string best;
        for (const auto& r : rows) {
            if (best.empty() || compare_versions(r.values.at(0), best) > 0) best = r.values[0];
        }
        return compare_and_explain(best);
    }
    if (t == "prisma") {
        std::vector<std::string> names;
        for (const auto& r : rows) {
            const bool finished = truthy(r.values.at(1));
            const bool rolled_back = truthy(r.values.at(2));
            if (rolled_back) continue;
            if (!finished) return "prisma migration " + r.values[0] + " failed or is still running";
            names.push_back(r.values[0]);
        }
        return applied(names);
    }
    // alembic, django, liquibase: the named revision is applied (alembic: is a current head).
    std::vector<std::string> names;
    for (const auto& r : rows) names.push_back(r.values.at(0));
    return applied(names);
}

std::vector<std::string> parse_require(const std::string& text) {
    std::vector<std::string> items;
    std::string cur;
    auto flush = [&] {
        std::string item = cur;
        item.erase(0, item.find_first_not_of(' '));
        while (!item.empty() && item.back() == ' ') item.pop_back();
        cur.clear();
        if (item.empty()) throw std::invalid_argument("empty item in the list (table or table.column, comma-separated)");
        const auto dots = std::count(item.begin(), item.end(), '.');
        const bool ok = dots <= 1 && item.front() != '.' && item.back() != '.' &&
                        std::all_of(item.begin(), item.end(), [](unsigned char c) {
                            return std::isalnum(c) || c == '_' || c == '.';
                        });
        if (!ok) throw std::invalid_argument(quoted(item) + " is not table or table.column");
        items.push_back(item);
    };
    for (char c : text) {
        if (c == ',') {
            flush();
        } else {
            cur.push_back(c);
        }
    }
    flush();
    return items;
}

const char* const kRequireSql =
    "SELECT r.item FROM unnest($1::text[]) WITH ORDINALITY AS r(item, n) "
    "WHERE CASE WHEN position('.' in r.item) = 0 "
    "THEN to_regclass(quote_ident(r.item)) IS NULL "
    "ELSE NOT EXISTS (SELECT 1 FROM pg_attribute a "
    "WHERE a.attrelid = to_regclass(quote_ident(split_part(r.item, '.', 1))) "
    "AND a.attname = split_part(r.item, '.', 2) AND a.attnum > 0 AND NOT a.attisdropped) END "
    "ORDER BY r.n";

std::string require_array_literal(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
    return out + "}";
}

}  // namespace readyprobe::detail
