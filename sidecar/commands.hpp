// The sidecar's subcommands; each returns the process exit code of the contract.
#pragma once

#include <readyprobe/config.hpp>
#include <readyprobe/guard.hpp>

#include <optional>
#include <string>
#include <vector>

namespace readyprobe::cli {

constexpr int kExitBadConfig = 2;

int serve(const Settings& settings);
// Ends the process itself, exit 0 once the startup group latched, 1 at `timeout`, rather than
// wait for a check run still in flight.
int wait(const Settings& settings, Duration timeout);
int check(const std::string& url, Duration timeout);
int status(const std::string& url, Duration timeout);
// `--drops`: 0 no live lease needs any of `drops`, 1 some do (named), 2 the database cannot be read.
// Empty `drops` (`--drops ''`): 0 once the database answers, no lease read; 2 when it does not.
int guard(const CheckSpec& database, const std::vector<std::string>& drops, std::optional<Duration> wait);
// `--sql FILE [--apply]`: readyprobe/guard.hpp's guard_migration on the file's text, printed.
int guard_file(const CheckSpec& database, const std::string& file, const SqlGuardOptions& options);

// Text or JSON lines on stderr, at the configured level.
void setup_logging(const Settings& settings);

// http://127.0.0.1:<port of READYPROBE_LISTEN><path>, for check and status.
std::string local_url(const Environment& env, const std::string& path);

}  // namespace readyprobe::cli
