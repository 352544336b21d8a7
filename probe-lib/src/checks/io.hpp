// Internal helpers for checks: waiting on sockets against a deadline, error text.
#pragma once

#include <readyprobe/check.hpp>

#include <cstddef>
#include <string>

namespace readyprobe::detail {

enum class Wait { ready, timeout, error };

// poll() one fd for `events` (POLLIN/POLLOUT) until `deadline`; retries on EINTR.
Wait wait_fd(int fd, short events, Deadline deadline);

// Milliseconds left until the deadline, at least 0.
long long remaining_ms(Deadline deadline);

// strerror(errnum), lower-cased first letter ("connection refused").
std::string errno_text(int errnum);

// "name not resolved: host" when the host name does not resolve, empty otherwise.
std::string resolve_problem(const std::string& host);

// Keeps the first line, without trailing whitespace.
std::string first_line(std::string text);
// "Connection refused" -> "connection refused"; an acronym keeps its case ("SSL error ...").
std::string lower_first(std::string text);
// A server's text made fit for one line of /readyz: the first line, cut after its first
// sentence, and to at most `max` characters (then "..."). Case is kept.
std::string one_sentence(std::string text, std::size_t max = 160);

}  // namespace readyprobe::detail
