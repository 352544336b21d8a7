// Pieces of URL parsing the library's own code uses (url.cpp, the checks); not public API.
#pragma once

#include <string>

namespace readyprobe {

// "%41b" -> "Ab". Throws std::invalid_argument for a bad escape.
std::string percent_decode(const std::string& text);

// Whether a query parameter holds a secret: its name contains "password" in any case.
bool is_secret_param(const std::string& key);

}  // namespace readyprobe
