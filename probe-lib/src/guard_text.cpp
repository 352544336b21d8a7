// The migration guard's text check (guard_text.hpp): does a SQL file start or end a transaction
// of its own? A scanner, not a parser: comments, quoted strings and identifiers, and dollar-quoted
// bodies are skipped; the first word of each statement is looked at.
#include "guard_text.hpp"

#include <cctype>
#include <set>
#include <string>

namespace readyprobe {

namespace detail {
namespace {

// Where one statement ends. A `;` inside a SQL-standard routine body (CREATE FUNCTION ... BEGIN
// ATOMIC ...; ...; END) does not end it. psql's own lexer (src/fe_utils/psqlscan.l, the
// {identifier} rule) counts every BEGIN of a statement that starts CREATE [OR REPLACE]
// FUNCTION|PROCEDURE; here only BEGIN directly followed by ATOMIC opens a body (BEGIN is an
// unreserved word: a function or column may be called that, and counting it would hide every
// later COMMIT), and inside one CASE counts up and END down, outside parentheses; `;` ends the
// statement only at depth 0.
struct Statement {
    std::string lead;  // the first letter of each of its first four words
    int parens = 0;
    int begins = 0;
    void word(const std::string& w, const std::string& next) {
        if (lead.size() < 4) {
            static const std::set<std::string> heads{"create", "or", "replace", "function", "procedure"};
            lead.push_back(heads.count(w) ? w[0] : ' ');
        }
        const bool routine = lead.rfind("cf", 0) == 0 || lead.rfind("cp", 0) == 0 ||
                             lead.rfind("corf", 0) == 0 || lead.rfind("corp", 0) == 0;
        if (!routine || parens != 0) return;
        if ((w == "begin" && next == "atomic") || (w == "case" && begins > 0)) ++begins;
        else if (w == "end" && begins > 0) --begins;
    }
    bool ends_at_semicolon() const { return parens == 0 && begins == 0; }
};

}  // namespace

// (One loop over the text on purpose: the lexical states - comment, string, identifier, dollar
// quote, word - share the position; split apart they would pass it back and forth.)
std::string transaction_control(const std::string& sql) {
    bool at_start = true;
    Statement statement;
    std::size_t i = 0;
    const std::size_t n = sql.size();
    while (i < n) {
        const char c = sql[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
            while (i < n && sql[i] != '\n') ++i;
        } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
            int depth = 0;
            do {
                if (sql.compare(i, 2, "/*") == 0) {
                    ++depth;
                    i += 2;
                } else if (sql.compare(i, 2, "*/") == 0) {
                    --depth;
                    i += 2;
                } else {
                    ++i;
                }
            } while (i < n && depth > 0);
        } else if (c == '\'' || c == '"') {
            at_start = false;
            for (++i; i < n; ++i) {
                if (sql[i] == c) {
                    if (i + 1 < n && sql[i + 1] == c) ++i;
                    else break;
                }
            }
            ++i;
        } else if (c == '$') {
            at_start = false;
            std::size_t j = i + 1;
            while (j < n && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) ++j;
            if (j < n && sql[j] == '$') {
                const std::string tag = sql.substr(i, j - i + 1);
                const auto close = sql.find(tag, j + 1);
                i = close == std::string::npos ? n : close + tag.size();
            } else {
                i = j;
            }
        } else if (c == ';') {
            if (statement.ends_at_semicolon()) {
                at_start = true;
                statement = Statement{};
            }
            ++i;
        } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            std::size_t j = i;
            std::string word;
            while (j < n && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) {
                word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(sql[j]))));
                ++j;
            }
            // The word after this one, lower-cased.
            std::size_t k = j;
            while (k < n && std::isspace(static_cast<unsigned char>(sql[k]))) ++k;
            std::string next;
            while (k < n && std::isalpha(static_cast<unsigned char>(sql[k]))) {
                next.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(sql[k]))));
                ++k;
            }
            if (at_start) {
                static const std::set<std::string> ends{"begin", "start", "commit", "end", "abort", "rollback"};
                // ROLLBACK TO [SAVEPOINT] stays inside the transaction.
                if (ends.count(word) && !(word == "rollback" && next == "to")) return word;
                if (word == "prepare" && next == "transaction") return "prepare transaction";
            }
            statement.word(word, next);
            at_start = false;
            i = j;
        } else {
            if (c == '(') ++statement.parens;
            if (c == ')' && statement.parens > 0) --statement.parens;
            at_start = false;
            ++i;
        }
    }
    // A body still open at the end: the file is not what this scan thinks it is, and a COMMIT
    // might be hidden in what it took for the body. Refuse rather than guess.
    if (statement.begins > 0) return kUnclosedAtomic;
    return "";
}

}  // namespace detail

}  // namespace readyprobe
