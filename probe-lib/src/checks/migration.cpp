#include "migration.hpp"

#include "migration_text.hpp"
#include "sql.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace readyprobe::detail {
namespace {

using namespace migration_text;

const std::vector<std::string> kTools = {"flyway", "golang-migrate", "alembic", "django",
                                         "rails",  "prisma",         "liquibase"};

// Tools where ">=" is accepted: versions are ordered, or (alembic) "or a descendant".
bool takes_at_least(const std::string& tool) {
    return tool == "flyway" || tool == "golang-migrate" || tool == "rails" || tool == "alembic";
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

// --- table layouts -------------------------------------------------------------------------

struct Layout {
    const char* tool;
    const char* table;
    // Columns that must exist; a type prefix after ':' must start the column's type.
    std::vector<std::pair<const char*, std::vector<const char*>>> columns;
    std::vector<const char*> absent;  // columns that must not exist
};

// What each tool creates (the types PostgreSQL reports through format_type).
const std::vector<Layout>& layouts() {
    static const std::vector<Layout> all = {
        {"golang-migrate", "schema_migrations", {{"version", {"bigint", "integer"}}, {"dirty", {"boolean"}}}, {}},
        {"rails", "schema_migrations", {{"version", {"character varying", "text"}}}, {"dirty"}},
        {"flyway",
         "flyway_schema_history",
         {{"installed_rank", {}}, {"version", {}}, {"type", {}}, {"script", {}}, {"success", {"boolean"}}},
         {}},
        {"alembic", "alembic_version", {{"version_num", {}}}, {}},
        {"django", "django_migrations", {{"app", {}}, {"name", {}}, {"applied", {}}}, {}},
        {"prisma",
         "_prisma_migrations",
         {{"migration_name", {}}, {"finished_at", {}}, {"rolled_back_at", {}}, {"started_at", {}}},
         {}},
        {"liquibase",
         "databasechangelog",
         {{"id", {}}, {"author", {}}, {"filename", {}}, {"exectype", {}}, {"orderexecuted", {}}},
         {}},
    };
    return all;
}

const Layout& layout_of(const std::string& tool) {
    for (const auto& l : layouts()) {
        if (tool == l.tool) return l;
    }
    throw std::invalid_argument("unknown migration tool " + quoted(tool));
}

std::map<std::string, std::string> parse_columns(const std::string& columns) {
    std::map<std::string, std::string> out;
    if (columns.empty()) return out;
    for (std::string item : split_on(columns, ", ")) {
        const auto space = item.find(' ');
        out[item.substr(0, space)] = space == std::string::npos ? "" : item.substr(space + 1);
    }
    return out;
}

bool matches(const Layout& l, const std::map<std::string, std::string>& cols) {
    for (const auto& [name, types] : l.columns) {
        auto it = cols.find(name);
        if (it == cols.end()) return false;
        if (!types.empty() && std::none_of(types.begin(), types.end(), [&](const char* t) {
                return it->second.rfind(t, 0) == 0;
            })) {
            return false;
        }
    }
    return std::none_of(l.absent.begin(), l.absent.end(), [&](const char* c) { return cols.count(c) != 0; });
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
    while (!req.version.empty() && req.version.back() == ' ') req.version.pop_back();
    if (std::find(kTools.begin(), kTools.end(), req.tool) == kTools.end()) {
        throw std::invalid_argument("unknown migration tool " + quoted(req.tool) +
                                    " (flyway, golang-migrate, alembic, django, rails, prisma, liquibase)");
    }
    if (req.version.empty()) throw std::invalid_argument("no version after the operator");
    if (req.at_least && !takes_at_least(req.tool)) {
        throw std::invalid_argument(req.tool + " migrations are not ordered: use " + req.tool + "=<name>");
    }
    if ((req.tool == "golang-migrate" || req.tool == "rails") && !all_digits(req.version)) {
        throw std::invalid_argument(req.tool + " versions are whole numbers, not " + quoted(req.version));
    }
    if (req.tool == "django") {
        const auto dot = req.version.find('.');
        if (dot == std::string::npos || dot == 0 || dot + 1 == req.version.size()) {
            throw std::invalid_argument("django migrations are app.name, e.g. django=orders.0003_customer");
        }
    }
    if (req.tool == "liquibase") {
        const auto parts = split_on(req.version, "::");
        if (parts.size() < 2 || parts.size() > 3 ||
            std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
            throw std::invalid_argument("liquibase changesets are id::author::file or id::author, e.g. "
                                        "liquibase=add-customer::alice::db/changelog.xml");
        }
    }
    if (req.tool == "alembic" && std::any_of(req.version.begin(), req.version.end(), [](unsigned char c) {
            return std::isspace(c) || c == '\'' || c == '"';
        })) {
        throw std::invalid_argument("alembic revisions have no spaces or quotes, not " + quoted(req.version));
    }
    return req;
}

MigrationRequirement load_migration(const std::string& text, const std::string& dir) {
    MigrationRequirement req = parse_migration(text);
    req.loaded_text = text;
    req.loaded_dir = dir;
    if (req.tool != "alembic") {
        if (!dir.empty()) throw std::invalid_argument("MIGRATION_DIR is for alembic gates only");
        return req;
    }
    if (dir.empty()) {
        throw std::invalid_argument("an alembic gate needs the revision history: set MIGRATION_DIR to the alembic "
                                    "versions directory in the image (e.g. /app/alembic/versions)");
    }
    req.alembic_parents = load_alembic_versions(dir);
    req.alembic_dir = dir;
    if (req.alembic_parents.count(req.version) == 0) {
        throw std::invalid_argument("alembic revision " + quoted(req.version) + " is not in " + quoted(dir) + " (" +
                                    std::to_string(req.alembic_parents.size()) + " revisions there)");
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

std::string migration_table(const std::string& tool) { return layout_of(tool).table; }

std::string locate_history_sql(const std::string& tool, const std::vector<std::string>& schemas) {
    const std::string table = migration_table(tool);
    std::string candidates;
    if (schemas.empty()) {
        candidates = "to_regclass(" + sql_literal(sql_ident(table)) + ")";
    } else {
        for (const auto& s : schemas) {
            candidates += (candidates.empty() ? "" : ", ") +
                          ("to_regclass(" + sql_literal(sql_ident(s) + "." + sql_ident(table)) + ")");
        }
        if (schemas.size() > 1) candidates = "COALESCE(" + candidates + ")";
    }
    return "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
           "(SELECT string_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod), ', ' "
           "ORDER BY a.attnum) FROM pg_catalog.pg_attribute a "
           "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) "
           "FROM (SELECT " + candidates + "::oid AS oid) t "
           "LEFT JOIN pg_catalog.pg_class c ON c.oid = t.oid "
           "LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace";
}

std::string layout_problem(const std::string& tool, const std::string& table, const std::string& columns) {
    const auto cols = parse_columns(columns);
    if (matches(layout_of(tool), cols)) return "";
    std::string shown = columns;
    if (shown.size() > 100) shown = shown.substr(0, 97) + "...";
    for (const auto& l : layouts()) {
        if (l.tool != tool && matches(l, cols)) {
            std::string mine;
            for (const auto& [name, types] : l.columns) {
                mine += (mine.empty() ? "" : ", ") + std::string(name) + " " + cols.at(name);
            }
            return table + " has " + l.tool + "'s layout (" + mine + "), not " + tool +
                   "'s: is MIGRATION naming the right tool?";
        }
    }
    return table + " does not have " + tool + "'s layout (columns: " + (shown.empty() ? "none" : shown) + ")";
}

std::string history_sql(const MigrationRequirement& req, const std::string& t) {
    const std::string& tool = req.tool;
    if (tool == "golang-migrate") return "SELECT version::text, dirty::text FROM " + t + " LIMIT 1";
    if (tool == "flyway") {
        return "SELECT version::text, success::text, type::text, script::text FROM " + t + " ORDER BY installed_rank";
    }
    if (tool == "rails") {
        // The named version (if listed) and the newest one, for the message.
        return "(SELECT version::text FROM " + t + " WHERE ltrim(version::text, '0') = " +
               sql_literal(req.version.substr(std::min(req.version.find_first_not_of('0'), req.version.size()))) +
               ") UNION ALL (SELECT version::text FROM " + t +
               " ORDER BY length(ltrim(version::text, '0')) DESC, ltrim(version::text, '0') DESC LIMIT 1)";
    }
    if (tool == "alembic") return "SELECT version_num::text FROM " + t;
    if (tool == "django") {
        const std::string app = req.version.substr(0, req.version.find('.'));
        return "SELECT name::text FROM " + t + " WHERE app = " + sql_literal(app) + " ORDER BY applied, id";
    }
    if (tool == "prisma") {
        return "SELECT migration_name::text, (finished_at IS NOT NULL)::text, (rolled_back_at IS NOT NULL)::text "
               "FROM " + t + " ORDER BY started_at";
    }
    // liquibase: the rows of the changeset's id, and the newest row for the message.
    const std::string id = split_on(req.version, "::").front();
    return "SELECT id::text, author::text, filename::text, exectype::text FROM " + t + " WHERE id = " +
           sql_literal(id) + " OR orderexecuted = (SELECT max(orderexecuted) FROM " + t + ") ORDER BY orderexecuted";
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

}  // namespace readyprobe::detail
