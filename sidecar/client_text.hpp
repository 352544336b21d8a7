// What `readyprobe check` prints and where it connects by default, shared by the core
// (client.cpp) and the front (front_main.cpp), which must agree: header-only, no dependencies.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

namespace readyprobe::cli {

// The local instance's URL for `path`: the address READYPROBE_LISTEN (`listen`, null when unset)
// names, as CONTRACT.md says: `[::1]:P` -> http://[::1]:P, `127.0.0.2:P` -> http://127.0.0.2:P;
// the wildcards mean loopback of their family (`0.0.0.0` -> 127.0.0.1, `[::]` -> [::1]); unset
// (or no host) is 127.0.0.1:8081's port rule. A value `serve` would refuse still gives a URL
// (the port after the last ':'), so `check` answers "cannot connect" rather than a usage error.
inline std::string local_url_for(const char* listen, const std::string& path) {
    std::string host = "127.0.0.1";
    std::string port = "8081";
    if (listen) {
        std::string l = listen;  // trimmed, as the configuration reads it
        l.erase(0, std::min(l.find_first_not_of(" \t\r\n"), l.size()));
        l.erase(l.find_last_not_of(" \t\r\n") + 1);
        const auto colon = l.rfind(':');
        if (colon != std::string::npos) port = l.substr(colon + 1);
        if (l.size() > 2 && l[0] == '[' && colon != std::string::npos && colon > 0 && l[colon - 1] == ']') {
            const std::string v6 = l.substr(1, colon - 2);
            host = v6 == "::" || v6 == "0:0:0:0:0:0:0:0" ? "[::1]" : "[" + v6 + "]";
        } else if (colon != std::string::npos && colon > 0 && l.find(':') == colon) {
            const std::string v4 = l.substr(0, colon);
            if (v4 != "0.0.0.0") host = v4;
        }
    }
    return "http://" + host + ":" + port + path;
}

// `s` cut to `width` characters, "..." marking the cut.
inline std::string fit(std::string s, std::size_t width) {
    if (s.size() > width) s = s.substr(0, width - 3) + "...";
    return s;
}

}  // namespace readyprobe::cli
