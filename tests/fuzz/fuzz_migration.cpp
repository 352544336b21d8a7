// libFuzzer target: the MIGRATION= and REQUIRE= parsers, compare_versions and
// evaluate_migration (internal: probe-lib/src/checks/migration.hpp).
//
// Input: text lines. Line 1 is a MIGRATION value (and also a REQUIRE value), lines 2 and 3 are
// two versions, every further line is a row of the tool's history table, columns separated by
// tabs, "\N" for NULL (rows get exactly the columns the tool's query returns).
//
// Properties:
// - parse_migration, parse_require throw std::invalid_argument or return a well-formed
//   value; evaluate_migration never throws on rows shaped like its query's.
// - compare_versions is reflexive (a == a), antisymmetric (sign(a, b) == -sign(b, a)) and
//   ignores trailing ".0" parts ("2" == "2.0").
#include "fuzz_support.hpp"

#include "checks/migration.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

using namespace readyprobe::detail;

namespace {

int sign(int v) { return v < 0 ? -1 : (v > 0 ? 1 : 0); }

// Number of columns of the tool's query (what libpq would hand evaluate_migration).
std::size_t columns(const std::string& tool) {
    if (tool == "flyway" || tool == "liquibase") return 4;
    if (tool == "prisma") return 3;
    if (tool == "golang-migrate") return 2;
    return 1;
}

void check_versions(const std::string& a, const std::string& b) {
    RPFUZZ_CHECK(compare_versions(a, a) == 0, "not reflexive: " + a);
    RPFUZZ_CHECK(compare_versions(b, b) == 0, "not reflexive: " + b);
    const int ab = compare_versions(a, b);
    const int ba = compare_versions(b, a);
    RPFUZZ_CHECK(sign(ab) == -sign(ba), "not antisymmetric: \"" + a + "\" vs \"" + b + "\"");
    RPFUZZ_CHECK(compare_versions(a, a + ".0") == 0, "\"" + a + "\" != \"" + a + ".0\"");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto lines = rpfuzz::split(rpfuzz::as_string(data, size), "\n");
    const std::string& spec = lines[0];

    // REQUIRE=
    try {
        const auto items = parse_require(spec);
        RPFUZZ_CHECK(!items.empty(), spec);
        for (const auto& item : items) {
            RPFUZZ_CHECK(!item.empty() && item.front() != '.' && item.back() != '.' &&
                             std::count(item.begin(), item.end(), '.') <= 1 &&
                             std::all_of(item.begin(), item.end(),
                                         [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.'; }),
                         "bad REQUIRE item accepted: " + item);
        }
    } catch (const std::invalid_argument&) {
    }

    // Versions.
    const std::string a = lines.size() > 1 ? lines[1] : spec;
    const std::string b = lines.size() > 2 ? lines[2] : "";
    check_versions(a, b);
    check_versions(spec, a);

    // MIGRATION= and the rows of its history table.
    MigrationRequirement req;
    try {
        req = parse_migration(spec);
    } catch (const std::invalid_argument&) {
        return 0;
    }
    RPFUZZ_CHECK(!req.tool.empty() && !req.version.empty(), spec);
    RPFUZZ_CHECK(!history_sql(req, "t").empty() && !locate_history_sql(req.tool, {a, b}).empty(), spec);
    (void)layout_problem(req.tool, "t", a);
    (void)parse_alembic_revision(rpfuzz::as_string(data, size));

    std::vector<Row> rows;
    for (std::size_t i = 3; i < lines.size(); ++i) {
        Row row;
        auto fields = rpfuzz::split(lines[i], "\t");
        fields.resize(columns(req.tool));
        for (const auto& f : fields) {
            row.nulls.push_back(f == "\\N");
            row.values.push_back(f == "\\N" ? "" : f);
        }
        rows.push_back(std::move(row));
    }
    const MigrationVerdict verdict = evaluate_migration(req, rows);
    RPFUZZ_CHECK(!verdict.message.empty(), "a verdict without words: " + spec);
    if (rows.empty()) {
        RPFUZZ_CHECK(!verdict.ok, "satisfied with an empty history table: " + spec);
    }
    return 0;
}
