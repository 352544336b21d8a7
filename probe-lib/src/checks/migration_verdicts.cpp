// Migration gates: the verdict from the rows of each tool's history table (history_sql's
// result), one function per tool. Pure; see migration.hpp for what each gate means.
#include "migration.hpp"
#include "migration_text.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace readyprobe::detail {
namespace {

using namespace migration_text;

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

}  // namespace

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

}  // namespace readyprobe::detail
