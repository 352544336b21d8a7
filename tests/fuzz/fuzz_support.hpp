// Helpers shared by the libFuzzer targets: text-based input formats (so seed corpora are
// readable and written by hand) and a hard assertion that survives -DNDEBUG.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace rpfuzz {

// Like assert(), but always on, and it prints what was expected before aborting (libFuzzer
// then saves the input as crash-*).
#define RPFUZZ_CHECK(cond, what)                                                              \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "\nFUZZ CHECK FAILED at %s:%d: %s\n  %s\n", __FILE__, __LINE__, \
                         #cond, std::string(what).c_str());                                   \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)

inline std::string as_string(const std::uint8_t* data, std::size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

// Splits on every occurrence of `sep` (keeps empty fields).
inline std::vector<std::string> split(const std::string& text, const std::string& sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t at = text.find(sep, start);
        if (at == std::string::npos) {
            out.push_back(text.substr(start));
            return out;
        }
        out.push_back(text.substr(start, at - start));
        start = at + sep.size();
    }
}

inline bool contains(const std::string& haystack, const std::string& needle) {
    return !needle.empty() && haystack.find(needle) != std::string::npos;
}

// `text` with the first occurrence of `part` removed: "the rest" of an input once a secret
// is taken out, used to skip secrets that legitimately occur elsewhere (a password "host").
inline std::string without_first(const std::string& text, const std::string& part) {
    const std::size_t at = text.find(part);
    if (at == std::string::npos) return text;
    return text.substr(0, at) + "\x01" + text.substr(at + part.size());
}

// A secret worth checking for: long enough that finding it is not a coincidence.
inline bool checkable_secret(const std::string& secret, const std::string& rest) {
    return secret.size() >= 4 && rest.find(secret) == std::string::npos;
}

// The same characters, each moved within its class (digits, hex letters, other letters), so
// an input that parsed one way parses the same way with this in place of a password. Used to
// tell a leak (the text follows the password) from a password that happens to be a word of
// the message ("host", "must").
inline std::string rotate(const std::string& s) {
    std::string out = s;
    for (char& c : out) {
        if (c >= '0' && c <= '9') c = c == '9' ? '0' : static_cast<char>(c + 1);
        else if (c >= 'a' && c <= 'f') c = c == 'f' ? 'a' : static_cast<char>(c + 1);
        else if (c >= 'A' && c <= 'F') c = c == 'F' ? 'A' : static_cast<char>(c + 1);
        else if (c >= 'g' && c <= 'z') c = c == 'z' ? 'g' : static_cast<char>(c + 1);
        else if (c >= 'G' && c <= 'Z') c = c == 'Z' ? 'G' : static_cast<char>(c + 1);
    }
    return out;
}

// `text` with the first occurrence of `part` replaced by rotate(part).
inline std::string with_rotated(const std::string& text, const std::string& part) {
    const std::size_t at = text.find(part);
    if (at == std::string::npos) return text;
    return text.substr(0, at) + rotate(part) + text.substr(at + part.size());
}

}  // namespace rpfuzz
