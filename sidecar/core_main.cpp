// readyprobe-core: the full sidecar (what `readyprobe` execs for everything but a plain `check`,
// see front_main.cpp). Thin: the CLI, then the library does the work.
#include "commands.hpp"

#include <readyprobe/lease.hpp>
#include <readyprobe/secret.hpp>
#include <readyprobe/url.hpp>
#include <readyprobe/version.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>

namespace {

using namespace readyprobe;

// Duration options are parsed by us, so a bad value names the option in our own words.
Duration duration_option(const std::string& name, const std::string& text) {
    try {
        return parse_duration(text);
    } catch (const std::invalid_argument& e) {
        throw ConfigError(name, e.what());
    }
}

// CLI11 quotes the arguments it rejects ("The following argument was not expected: ..."), as
// typed, and one of them may be a URL with a password (in the authority, percent-encoded or not,
// or in ?password= / ?sslpassword=). Every argument that looks like a URL is replaced by its
// redacted form (one that does not parse is hidden whole), and the decoded secrets masked too.
std::string without_secrets(std::string text, int argc, char** argv) {
    const auto replace_all = [&](const std::string& from, const std::string& to) {
        if (from.empty()) return;
        for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
            text.replace(at, from.size(), to);
        }
    };
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) arg = arg.substr(arg.find('=') + 1);
        const auto scheme = arg.find("://");
        if (scheme == std::string::npos) continue;
        try {
            const Url url = parse_url(arg);
            replace_all(arg, url.redacted());
            text = mask(std::move(text), url.secrets());
        } catch (const std::exception&) {
            replace_all(arg, arg.substr(0, scheme) + "://***");
        }
    }
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"readyprobe: readiness checks for rolling deploys (PostgreSQL, Redis, HTTP, TCP, files).\n"
                 "Configured with READYPROBE_* environment variables; see README.md.",
                 "readyprobe"};
    app.set_version_flag("--version", std::string("readyprobe ") + readyprobe::version());
    app.require_subcommand(0, 1);

    auto* serve_cmd = app.add_subcommand("serve", "Run the checks and serve /health, /readyz, /livez, "
                                                  "/startupz and /metrics (the default)");
    auto* config_cmd = app.add_subcommand("config", "Validate the configuration and print it, secrets masked");

    std::string check_url;
    std::string check_timeout = "2s";
    auto* check_cmd = app.add_subcommand(
        "check", "One GET (default: the local /startupz); exit 0 on 2xx, 1 otherwise: an ECS healthCheck");
    check_cmd->add_option("URL", check_url, "URL to GET");
    check_cmd->add_option("--timeout", check_timeout, "give up after this long (default 2s)");

    std::string wait_timeout = "5m";
    auto* wait_cmd = app.add_subcommand(
        "wait", "Run the checks until every critical startup check passes; exit 0 ready, 1 timed out");
    wait_cmd->add_option("--timeout", wait_timeout, "give up after this long (default 5m)");

    std::string status_url;
    std::string status_timeout = "2s";
    auto* status_cmd =
        app.add_subcommand("status", "Print every check of a running instance (default: the local one)");
    status_cmd->add_option("URL", status_url, "URL of the instance's /health");
    status_cmd->add_option("--timeout", status_timeout, "give up after this long (default 2s)");

    std::string guard_drops;
    std::string guard_url;
    std::string guard_wait;
    std::string guard_sql;
    bool guard_apply = false;
    std::string guard_lock_timeout = "2s";
    std::string guard_statement_timeout = "60s";
    auto* guard_cmd = app.add_subcommand(
        "guard", "Before a migration: exit 1 while a live task's lease (ANNOUNCE) requires what it drops (or a "
                 "long transaction holds a table it alters), 0 when safe");
    guard_cmd->add_option("--drops", guard_drops, "what the migration drops: table.column,table,... ('' for nothing)");
    guard_cmd->add_option("--sql", guard_sql, "the migration's SQL file: try it in a transaction that is rolled back");
    guard_cmd->add_flag("--apply", guard_apply, "with --sql: commit it when nothing refuses it");
    guard_cmd->add_option("--lock-timeout", guard_lock_timeout, "with --sql: SET LOCAL lock_timeout (default 2s)");
    guard_cmd->add_option("--statement-timeout", guard_statement_timeout,
                          "with --sql: SET LOCAL statement_timeout (default 60s)");
    guard_cmd->add_option("--url", guard_url, "the database (default: the first PostgreSQL check of the configuration)");
    guard_cmd->add_option("--wait", guard_wait,
                          "wait this long for those tasks to drain or their leases to expire (with --sql: also for "
                          "transactions holding a table it alters)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "readyprobe: " << without_secrets(e.what(), argc, argv) << " (see readyprobe --help)\n";
        return cli::kExitBadConfig;
    }

    try {
        const Environment env = current_environment();
        if (*check_cmd) {
            return cli::check(check_url.empty() ? cli::local_url(env, "/startupz") : check_url,
                              duration_option("--timeout", check_timeout));
        }
        if (*status_cmd) {
            return cli::status(status_url.empty() ? cli::local_url(env, "/health") : status_url,
                               duration_option("--timeout", status_timeout));
        }
        if (*guard_cmd) {
            // `--drops ''` (given, empty) is a release whose migration drops nothing: not absent.
            const bool drops_given = guard_cmd->count("--drops") > 0;
            if (drops_given == !guard_sql.empty()) {
                throw ConfigError("guard", "give one of --drops LIST or --sql FILE");
            }
            if (guard_apply && guard_sql.empty()) throw ConfigError("--apply", "needs --sql FILE");
            std::vector<std::string> drops;
            if (!guard_drops.empty()) {
                try {
                    drops = parse_drops(guard_drops);
                } catch (const std::invalid_argument& e) {
                    throw ConfigError("--drops", e.what());
                }
            }
            SqlGuardOptions sql_options;
            sql_options.apply = guard_apply;
            sql_options.lock_timeout = duration_option("--lock-timeout", guard_lock_timeout);
            sql_options.statement_timeout = duration_option("--statement-timeout", guard_statement_timeout);
            std::optional<Duration> wait;
            if (!guard_wait.empty()) wait = duration_option("--wait", guard_wait);
            CheckSpec database;
            if (!guard_url.empty()) {
                database = check_spec("guard", guard_url);
                if (database.kind != "postgres") {
                    throw ConfigError("--url", "must be a postgres:// or postgresql:// URL, not " +
                                                   database.url.scheme + "://");
                }
            } else {
                const Settings settings = load_settings(env);
                const auto pg = std::find_if(settings.checks.begin(), settings.checks.end(),
                                             [](const CheckSpec& c) { return c.kind == "postgres"; });
                if (pg == settings.checks.end()) {
                    throw ConfigError("guard", "no database: give --url or configure a PostgreSQL check");
                }
                database = *pg;
            }
            if (!guard_sql.empty()) {
                sql_options.wait = wait;
                return cli::guard_file(database, guard_sql, sql_options);
            }
            return cli::guard(database, drops, wait);
        }
        const Duration wait_for = duration_option("--timeout", wait_timeout);
        const Settings settings = load_settings(env);
        if (*config_cmd) {
            std::cout << settings.to_json() << "\n";
            return 0;
        }
        cli::setup_logging(settings);
        if (*wait_cmd) return cli::wait(settings, wait_for);
        (void)serve_cmd;
        return cli::serve(settings);
    } catch (const ConfigError& e) {
        std::cerr << "readyprobe: " << e.what() << "\n";
        return cli::kExitBadConfig;
    } catch (const std::exception& e) {
        std::cerr << "readyprobe: " << e.what() << "\n";
        return 1;
    }
}
