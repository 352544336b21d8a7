// What `readyprobe check` prints and where it connects by default, shared by the core
// (client.cpp) and the front (front.cpp), which must agree: header-only, no dependencies.
#pragma once

#include <cstddef>
#include <string>

namespace readyprobe::cli {

// The local instance's URL for `path`: 127.0.0.1 and the port of READYPROBE_LISTEN (`listen`,
// null when unset; 8081 by default), as CONTRACT.md says.
inline std::string local_url_for(const char* listen, const std::string& path) {
    std::string port = "8081";
    if (listen) {
        const std::string l = listen;
        if (const auto colon = l.rfind(':'); colon != std::string::npos) port = l.substr(colon + 1);
    }
    return "http://127.0.0.1:" + port + path;
}

// `s` cut to `width` characters, "..." marking the cut.
inline std::string fit(std::string s, std::size_t width) {
    if (s.size() > width) s = s.substr(0, width - 3) + "...";
    return s;
}

}  // namespace readyprobe::cli
