// A value that must never be printed: passwords and tokens.
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace readyprobe {

class Secret {
public:
    Secret() = default;
    explicit Secret(std::string value) : value_(std::move(value)) {}

    // The only way to read the value: call sites are easy to audit.
    const std::string& reveal() const { return value_; }
    bool empty() const { return value_.empty(); }

    friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "***"; }

private:
    std::string value_;
};

// Replaces every occurrence of each non-empty secret in `text` with "***".
// Used as a last line of defence on every message that leaves the library.
std::string mask(std::string text, const std::vector<Secret>& secrets);

}  // namespace readyprobe
