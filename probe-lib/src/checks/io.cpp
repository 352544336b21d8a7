#include "io.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace readyprobe::detail {

long long remaining_ms(Deadline deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - SteadyClock::now());
    return left.count() > 0 ? left.count() : 0;
}

Wait wait_fd(int fd, short events, Deadline deadline) {
    for (;;) {
        // Round up so we never spin on a sub-millisecond remainder.
        const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
            deadline - SteadyClock::now());
        if (left.count() <= 0) return Wait::timeout;
        const int timeout_ms = static_cast<int>((left.count() + 999) / 1000);
        pollfd p{fd, events, 0};
        const int rc = ::poll(&p, 1, timeout_ms);
        if (rc > 0) return Wait::ready;  // readable/writable, or an error the caller reads
        if (rc == 0) continue;           // re-check the clock
        if (errno == EINTR) continue;
        return Wait::error;
    }
}

std::string errno_text(int errnum) {
    return lower_first(std::strerror(errnum));
}

std::string resolve_problem(const std::string& host) {
    if (host.empty()) return "";
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (res) ::freeaddrinfo(res);
    if (rc == 0) return "";
    if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_AGAIN || rc == EAI_FAIL) {
        return "name not resolved: " + host;
    }
    return "cannot resolve " + host + ": " + ::gai_strerror(rc);
}

std::string first_line(std::string text) {
    auto nl = text.find('\n');
    if (nl != std::string::npos) text.erase(nl);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    return text;
}

std::string lower_first(std::string text) {
    const bool acronym = text.size() > 1 && std::isupper(static_cast<unsigned char>(text[1]));
    if (!text.empty() && !acronym) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    return text;
}

std::string one_sentence(std::string text, std::size_t max) {
    text = first_line(std::move(text));
    // ". " ends a sentence; "e.g. " or a version "1.2. " rarely appear in server errors.
    if (auto end = text.find(". "); end != std::string::npos) text.erase(end + 1);
    if (text.size() > max) {
        text.erase(max > 3 ? max - 3 : 0);
        // Do not cut a UTF-8 sequence in half.
        while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
        if (!text.empty() && (static_cast<unsigned char>(text.back()) & 0x80)) text.pop_back();
        text += "...";
    }
    return text;
}

}  // namespace readyprobe::detail
