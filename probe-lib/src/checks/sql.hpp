// Building SQL text for the PostgreSQL check. Statements go through the simple query protocol
// (one message holding `SET LOCAL statement_timeout` and the statement: see postgres.cpp), so
// values are embedded as quoted literals rather than bound as $n parameters. Internal.
#pragma once

#include <string>
#include <vector>

namespace readyprobe::detail {

// 'it''s' (standard_conforming_strings is on in every supported server: backslashes are plain).
inline std::string sql_literal(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
    }
    return out + "'";
}

// "My""Table"
inline std::string sql_ident(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    return out + "\"";
}

// The schemas of `?search_path=a,b` (spaces trimmed; empty: the server's own search_path).
// Through a pooler a session setting would leak or be dropped, so reads name these schemas
// explicitly instead of setting search_path.
inline std::vector<std::string> split_schemas(const std::string& search_path) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        const auto b = cur.find_first_not_of(' ');
        const auto e = cur.find_last_not_of(' ');
        if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
        cur.clear();
    };
    for (char c : search_path) {
        if (c == ',') flush();
        else cur.push_back(c);
    }
    flush();
    return out;
}

}  // namespace readyprobe::detail
