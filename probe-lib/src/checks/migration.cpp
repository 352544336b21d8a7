#include "migration.hpp"

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

const std::vector<std::string> kTools = {"flyway", "golang-migrate", "alembic", "django",
                                         "rails",  "prisma",         "liquibase"};

// Tools where ">=" is accepted: versions are ordered, or (alembic) "or a descendant".
bool takes_at_least(const std::string& tool) {
    return tool == "flyway" || tool == "golang-migrate" || tool == "rails" || tool == "alembic";
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
    if (value.size() > 80) value = value.substr(0, 77) + "...";
    return "\"" + value + "\"";
}

std::vector<std::string> split_on(const std::string& text, const std::string& sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const auto pos = text.find(sep, start);
        out.push_back(text.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
        if (pos == std::string::npos) return out;
        start = pos + sep.size();
    }
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

// --- verdicts --------------------------------------------------------------------------------

MigrationVerdict pass(std::string detail) { return {true, std::move(detail)}; }
MigrationVerdict fail(std::string why) { return {false, std::move(why)}; }

MigrationVerdict golang_migrate(const MigrationRequirement& req, const std::vector<Row>& rows) {
    const std::string& need = req.version;
    if (rows.empty() || rows.front().values.size() < 2) {
        return fail("no golang-migrate migration applied yet, need " + need);
    }
    const std::string& v = rows.front().values[0];
    const bool dirty = truthy(rows.front().values[1]);
    if (!dirty) {
        if (compare_versions(need, v) <= 0) return pass("golang-migrate at " + v);
        return fail("golang-migrate at " + v + ", need " + need);
    }
    // runMigrations: SetVersion(target, dirty=true), then the body, then SetVersion(target, false).
    // Up to V: V is running or failed, everything before it is applied. Down to V: V+1 is being
    // undone; V itself is applied but counted as not (conservative: its successor is half-gone).
    const std::string state = "migration " + v + " running or failed (dirty)";
    if (!all_digits(v)) return fail("golang-migrate: migrating down to no version, or that failed (dirty at " + v + ")");
    if (compare_versions(need, v) < 0) return pass("golang-migrate before " + v + ": " + state);
    return fail("golang-migrate: " + state + ", need " + need);
}

MigrationVerdict flyway(const MigrationRequirement& req, const std::vector<Row>& rows) {
    // Rows: version, success, type, script, in installed_rank order (JdbcTableSchemaHistory).
    std::vector<std::string> applied;  // versions, successful and not undone
    std::string baseline;
    std::vector<std::string> failed;
    std::set<std::string> recorded_norm;  // every version that has a row, for "is N a migration?"
    std::string failed_repeatable;
    auto erase = [](std::vector<std::string>& list, const std::string& v) {
        list.erase(std::remove_if(list.begin(), list.end(),
                                  [&](const std::string& x) { return compare_versions(x, v) == 0; }),
                   list.end());
    };
    bool recorded_need = false;
    for (const auto& r : rows) {
        if (r.values.size() < 4) continue;
        const std::string& version = r.values[0];
        const bool ok = truthy(r.values[1]);
        const std::string& type = r.values[2];
        if (r.nulls[0] || version.empty()) {  // repeatable (R__): gates nothing
            if (!ok) failed_repeatable = r.values[3];
            continue;
        }
        if (type == "SCHEMA") continue;  // "<< Flyway Schema Creation >>"
        if (compare_versions(version, req.version) == 0 && type != "BASELINE") recorded_need = true;
        if (type == "BASELINE") {
            if (ok && (baseline.empty() || compare_versions(version, baseline) > 0)) baseline = version;
            continue;
        }
        if (type.rfind("UNDO", 0) == 0 || type == "DELETE") {
            // An undo (Teams) or a repair-deleted row: the version is no longer applied.
            erase(applied, version);
            if (!ok) failed.push_back(version);
            continue;
        }
        if (ok) {
            erase(failed, version);
            erase(applied, version);
            applied.push_back(version);
        } else {
            erase(applied, version);
            failed.push_back(version);
        }
    }
    std::string top = baseline;
    for (const auto& v : applied) {
        if (top.empty() || compare_versions(v, top) > 0) top = v;
    }
    const bool exact = std::any_of(applied.begin(), applied.end(),
                                   [&](const std::string& v) { return compare_versions(v, req.version) == 0; });
    const bool under_baseline = !baseline.empty() && compare_versions(req.version, baseline) <= 0;
    const bool covered = !recorded_need && !top.empty() && compare_versions(top, req.version) >= 0;
    std::string notes;
    for (const auto& f : failed) notes += (notes.empty() ? "" : ", ") + ("migration " + f + " failed (success = false)");
    if (!failed_repeatable.empty()) {
        notes += (notes.empty() ? "" : ", ") + ("repeatable " + failed_repeatable + " failed");
    }
    const std::string suffix = notes.empty() ? "" : " (" + notes + ")";
    if (exact || under_baseline || covered) return pass("flyway at " + top + suffix);
    if (top.empty()) return fail("no flyway migration applied yet, need " + req.version + suffix);
    return fail("flyway at " + top + ", need " + req.version + suffix);
}

MigrationVerdict rails(const MigrationRequirement& req, const std::vector<Row>& rows) {
    std::string newest;
    bool present = false;
    for (const auto& r : rows) {
        const std::string& v = r.values.at(0);
        if (compare_versions(v, req.version) == 0) present = true;
        if (newest.empty() || compare_versions(v, newest) > 0) newest = v;
    }
    if (present) return pass("rails " + req.version + " applied (newest " + newest + ")");
    if (newest.empty()) return fail("rails migration " + req.version + " not applied (none applied)");
    if (compare_versions(newest, req.version) > 0) {
        return fail("rails migration " + req.version + " not applied, although newer " + newest +
                    " is (pending out of order)");
    }
    return fail("rails migration " + req.version + " not applied (newest: " + newest + ")");
}

MigrationVerdict alembic(const MigrationRequirement& req, const std::vector<Row>& rows) {
    std::vector<std::string> heads;
    for (const auto& r : rows) heads.push_back(r.values.at(0));
    if (heads.empty()) return fail("no alembic revision applied yet, need " + req.version);
    std::string list;
    for (const auto& h : heads) list += (list.empty() ? "" : ", ") + h;
    auto descends = [&](const std::string& head) {
        std::vector<std::string> todo{head};
        std::set<std::string> seen;
        while (!todo.empty()) {
            std::string rev = todo.back();
            todo.pop_back();
            if (rev == req.version) return true;
            if (!seen.insert(rev).second) continue;
            auto it = req.alembic_parents.find(rev);
            if (it != req.alembic_parents.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
        }
        return false;
    };
    for (const auto& h : heads) {
        if (req.alembic_parents.count(h) == 0) {
            // Not in this task's versions directory: written by a newer release of the app.
            return pass("alembic at " + list + " (" + h + " is newer than this task's revisions)");
        }
        if (descends(h)) return pass("alembic at " + list);
    }
    return fail("alembic at " + list + ", need " + req.version + " or a descendant of it");
}

MigrationVerdict django(const MigrationRequirement& req, const std::vector<Row>& rows) {
    const auto dot = req.version.find('.');
    const std::string app = req.version.substr(0, dot);
    const std::string name = req.version.substr(dot + 1);
    std::string latest;
    bool present = false;
    for (const auto& r : rows) {  // this app's rows, oldest first
        if (r.values.at(0) == name) present = true;
        latest = r.values.at(0);
    }
    if (present) return pass("django " + app + " at " + latest);
    if (latest.empty()) return fail("django migration " + req.version + " not applied (no " + app + " migration applied)");
    return fail("django migration " + req.version + " not applied (" + app + " at " + latest + ")");
}

MigrationVerdict prisma(const MigrationRequirement& req, const std::vector<Row>& rows) {
    bool applied = false, unfinished = false, rolled_back = false;
    std::string latest, other_unfinished;
    for (const auto& r : rows) {  // migration_name, finished, rolled back; by started_at
        const std::string& name = r.values.at(0);
        const bool finished = truthy(r.values.at(1));
        const bool back = truthy(r.values.at(2));
        if (name == req.version) {
            if (finished && !back) applied = true;
            if (!finished && !back) unfinished = true;
            if (back) rolled_back = true;
        } else if (!finished && !back) {
            other_unfinished = name;
        }
        if (finished && !back) latest = name;
    }
    const std::string note = other_unfinished.empty() ? "" : " (" + other_unfinished + " running or failed)";
    if (applied) return pass("prisma " + req.version + " applied" + note);
    if (unfinished) return fail("prisma migration " + req.version + " running or failed (not finished)");
    if (rolled_back) return fail("prisma migration " + req.version + " was rolled back" + note);
    return fail("prisma migration " + req.version + " not applied (" +
                (latest.empty() ? "none applied" : "latest: " + latest) + ")" + note);
}

MigrationVerdict liquibase(const MigrationRequirement& req, const std::vector<Row>& rows) {
    const auto parts = split_on(req.version, "::");
    std::string latest;
    std::string found_state;
    for (const auto& r : rows) {  // id, author, filename, exectype; by orderexecuted
        const std::string name = r.values.at(0) + "::" + r.values.at(1) + "::" + r.values.at(2);
        latest = name;
        const bool same = r.values[0] == parts[0] && r.values[1] == parts[1] &&
                          (parts.size() < 3 || r.values[2] == parts[2]);
        if (!same) continue;
        const std::string& type = r.values.at(3);
        if (type == "EXECUTED" || type == "RERAN") return pass("liquibase " + name + " " + type);
        if (type == "MARK_RAN") {
            return pass("liquibase " + name + " MARK_RAN (recorded as run without running its changes)");
        }
        found_state = name + " is recorded as " + type;
    }
    if (!found_state.empty()) return fail("liquibase changeset " + found_state + ", not applied");
    return fail("liquibase changeset " + req.version + " not applied (" +
                (latest.empty() ? "none applied" : "latest: " + latest) + ")");
}

// --- alembic files -------------------------------------------------------------------------

// `name = ...` or `name: Type = ...` at the start of a line: the text after '=' (else npos).
std::size_t assignment(const std::string& line, const std::string& name) {
    if (line.compare(0, name.size(), name) != 0) return std::string::npos;
    std::size_t i = name.size();
    if (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_')) {
        return std::string::npos;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    if (i < line.size() && line[i] == ':') {
        i = line.find('=', i);
        if (i == std::string::npos) return i;
    }
    if (i >= line.size() || line[i] != '=' || (i + 1 < line.size() && line[i + 1] == '=')) return std::string::npos;
    return i + 1;
}

std::vector<std::string> python_strings(const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char q = text[i];
        if (q == '#') break;
        if (q != '\'' && q != '"') continue;
        const auto end = text.find(q, i + 1);
        if (end == std::string::npos) break;
        out.push_back(text.substr(i + 1, end - i - 1));
        i = end;
    }
    return out;
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

AlembicRevision parse_alembic_revision(const std::string& source) {
    AlembicRevision out;
    std::istringstream in(source);
    std::string line;
    std::vector<std::string> lines;
    while (std::getline(in, line)) lines.push_back(line);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        for (const char* name : {"revision", "down_revision", "depends_on"}) {
            const auto at = assignment(lines[i], name);
            if (at == std::string::npos) continue;
            std::string value = lines[i].substr(at);
            // A tuple or list may continue on the following lines.
            auto open = [](const std::string& s) {
                return std::count(s.begin(), s.end(), '(') + std::count(s.begin(), s.end(), '[') -
                       std::count(s.begin(), s.end(), ')') - std::count(s.begin(), s.end(), ']');
            };
            while (open(value) > 0 && i + 1 < lines.size()) value += " " + lines[++i];
            const auto strings = python_strings(value);
            if (std::string(name) == "revision") {
                if (!strings.empty() && out.revision.empty()) out.revision = strings.front();
            } else {
                out.parents.insert(out.parents.end(), strings.begin(), strings.end());
            }
        }
    }
    return out;
}

std::map<std::string, std::vector<std::string>> load_alembic_versions(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw std::invalid_argument(quoted(dir) + " is not a readable directory");
    std::map<std::string, std::vector<std::string>> graph;
    std::map<std::string, std::string> file_of;
    fs::recursive_directory_iterator it(dir, ec), end;
    if (ec) throw std::invalid_argument(quoted(dir) + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) throw std::invalid_argument(quoted(dir) + ": " + ec.message());
        if (it->path().filename() == "__pycache__") {
            it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file(ec) || it->path().extension() != ".py") continue;
        std::ifstream f(it->path());
        if (!f) throw std::invalid_argument(quoted(it->path().string()) + " is not readable");
        std::stringstream text;
        text << f.rdbuf();
        AlembicRevision rev = parse_alembic_revision(text.str());
        if (rev.revision.empty()) continue;  // __init__.py, helpers
        if (file_of.count(rev.revision)) {
            throw std::invalid_argument("alembic revision " + quoted(rev.revision) + " is defined twice in " +
                                        quoted(dir));
        }
        file_of[rev.revision] = it->path().filename().string();
        graph[rev.revision] = rev.parents;
    }
    if (graph.empty()) throw std::invalid_argument("no alembic revision files in " + quoted(dir));
    for (const auto& [rev, parents] : graph) {
        for (const auto& p : parents) {
            if (graph.count(p) == 0) {
                throw std::invalid_argument("alembic revision " + quoted(rev) + " (" + file_of[rev] +
                                            ") builds on " + quoted(p) + ", which is not in " + quoted(dir));
            }
        }
    }
    return graph;
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

MigrationVerdict evaluate_migration(const MigrationRequirement& req, const std::vector<Row>& rows) {
    const std::string& t = req.tool;
    if (t == "golang-migrate") return golang_migrate(req, rows);
    if (t == "flyway") return flyway(req, rows);
    if (t == "rails") return rails(req, rows);
    if (t == "alembic") return alembic(req, rows);
    if (t == "django") return django(req, rows);
    if (t == "prisma") return prisma(req, rows);
    return liquibase(req, rows);
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
