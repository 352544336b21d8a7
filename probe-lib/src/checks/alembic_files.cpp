// Alembic gates: the revision graph read from the alembic versions directory (MIGRATION_DIR):
// each *.py file's revision, down_revision and depends_on. Pure text reading; no Python.
#include "migration.hpp"
#include "migration_text.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace readyprobe::detail {
namespace {

using namespace migration_text;

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

}  // namespace readyprobe::detail
