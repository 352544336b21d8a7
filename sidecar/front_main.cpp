// The `readyprobe` executable: a small front. It answers `readyprobe check [http://URL]
// [--timeout D]` (the ECS container healthCheck, run every few seconds in every task) by itself
// and execs readyprobe-core (sidecar/core_main.cpp: serve, wait, status, config, guard, https,
// --help, every error message) for everything else; exec keeps the PID, so ECS signals `serve`.
//
// The decision (issue 16): a front that links the same check code as the core, not one executable.
// Measured on this tree (hyperfine -N, 200 runs each of `check` against a running sidecar's
// /startupz, 2 cores shared with other builds): curl -f 12.1-12.6 ms; this front 1.2-2.5 ms
// (0.10-0.20x curl); readyprobe-core's own `check` 12.2-22.0 ms (1.0-1.75x curl), with the same
// GET code. The core's cost is start-up in the dynamic loader: 36 shared libraries (libpq's
// Kerberos/LDAP/GnuTLS chain, libcpp-httplib.so loading OpenSSL, brotli and zlib even for plain
// http://, hiredis, spdlog); lazy binding (-z lazy) does not avoid loading them, only dlopen()ing
// them on first use would, which would put every library call of the core behind a hand-written
// indirection. One executable would miss the <= 0.5x curl target by 2-3.5x, so `check` keeps a
// binary that loads libc only (libstdc++ linked in).
//
// What it runs is not a copy: the GET and the line it prints are the internal static target
// readyprobe_plain_check (plain_check.hpp/.cpp, with the library's URL parser, the object
// library readyprobe_url), which readyprobe-core's `check` runs first too. Front and core print
// the same bytes because they run the same code; what that code leaves to cpp-httplib (https,
// responses it would have to decode) the front leaves to the core with the same argv.
#include "client_text.hpp"
#include "plain_check.hpp"

#include <readyprobe/clock.hpp>
#include <readyprobe/config.hpp>

#include <limits.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

constexpr int kExitBadUsage = 2;

// ----------------------------------------------------------------------------- delegation

std::string self_path() {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
    // No /proc (a bare chroot): the path execve was given.
    const auto* execfn = reinterpret_cast<const char*>(::getauxval(AT_EXECFN));
    return execfn ? execfn : "readyprobe";
}

[[noreturn]] void delegate(char** argv) {
    const std::string exe = self_path();
    const auto slash = exe.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "" : exe.substr(0, slash);
    const std::string candidates[] = {dir + "/readyprobe-core", dir + "/../libexec/readyprobe/readyprobe-core"};
    for (const std::string& core : candidates) {
        if (::access(core.c_str(), X_OK) == 0) {
            ::execv(core.c_str(), argv);
            std::fprintf(stderr, "readyprobe: cannot run %s: %s\n", core.c_str(), std::strerror(errno));
            std::exit(kExitBadUsage);
        }
    }
    std::fprintf(stderr, "readyprobe: cannot find readyprobe-core next to %s or in %s/../libexec/readyprobe\n",
                 exe.c_str(), dir.c_str());
    std::exit(kExitBadUsage);
}

// ------------------------------------------------------------------------------ arguments

// The library's parse_duration (readyprobe_url), in ms; nothing when the core must reject the value.
std::optional<long long> duration_ms(const std::string& text) {
    try {
        const long long ms = readyprobe::to_ms(readyprobe::parse_duration(text));
        if (ms >= 1) return ms;
    } catch (const std::invalid_argument&) {
    }
    return std::nullopt;
}

// `check [URL] [--timeout D]`; nothing when readyprobe-core must run instead.
std::optional<int> check(int argc, char** argv) {
    std::optional<std::string> url;
    std::optional<std::string> timeout;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--timeout" && i + 1 < argc && !timeout) {
            timeout = argv[++i];
        } else if (arg.compare(0, 10, "--timeout=") == 0 && !timeout) {
            timeout = arg.substr(10);
        } else if (!arg.empty() && arg[0] != '-' && !url) {
            url = arg;
        } else {
            return std::nullopt;
        }
    }
    const auto ms = duration_ms(timeout.value_or("2s"));
    if (!ms) return std::nullopt;
    if (!url) {
        url = readyprobe::cli::local_url_for(std::getenv("READYPROBE_LISTEN"), "/startupz");
    }
    const auto answer = readyprobe::cli::plain_check(*url, *ms);
    if (!answer) return std::nullopt;
    std::fwrite(answer->line.data(), 1, answer->line.size(), stdout);
    return answer->exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "check") == 0) {
        std::optional<int> code;
        try {
            code = check(argc, argv);
        } catch (const std::exception&) {
            code.reset();  // e.g. out of memory: let the core try
        }
        if (code) {
            std::fflush(stdout);
            return *code;
        }
    }
    delegate(argv);
}
