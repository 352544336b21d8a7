// `readyprobe check` over plain http://, shared by both executables (the internal static target
// readyprobe_plain_check): the `readyprobe` front answers with it without loading any shared
// library but libc, and readyprobe-core's `check` tries it first too, so the two print the same
// bytes because they run the same code. What it cannot judge with certainty it leaves alone
// (nothing returned): https://, a bad URL, and responses it would have to decode (chunked or
// content-encoded, LF-only headers, 1xx, over 8 kB of headers or 64 kB of body); readyprobe-core
// then asks with cpp-httplib's client (sidecar/client.cpp), and the front execs readyprobe-core.
// --timeout bounds the whole GET (connect, send, every read). The request says
// `User-Agent: readyprobe/<version>` and `Connection: close`, and brackets an IPv6 Host.
#pragma once

#include <optional>
#include <string>

namespace readyprobe::cli {

struct CheckAnswer {
    int exit_code;     // 0 on 2xx, 1 otherwise
    std::string line;  // what `check` prints on stdout, newline included
};

// One GET of `url` within `timeout_ms` (>= 1); nothing when cpp-httplib's client must decide.
std::optional<CheckAnswer> plain_check(const std::string& url, long long timeout_ms);

}  // namespace readyprobe::cli
