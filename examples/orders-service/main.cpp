// orders-service: a small real service that embeds readyprobe. It models the most common
// breaking change, a column rename, done as expand -> backfill -> contract:
//   v1 reads and writes orders.customer_name
//   v2 writes customer_name and customer, reads COALESCE(customer, customer_name)
//   v3 reads and writes customer only
// Safe order: v1 -> migrate 2 -> v2 -> migrate 3 -> v3 -> migrate 4.
#include "migrations.hpp"

#include <readyprobe/guard.hpp>
#include <readyprobe/readyprobe.hpp>

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

// A few libpqxx connections shared by the request threads.
class Pool {
public:
    Pool(std::string url, std::size_t size) : url_(std::move(url)), size_(size) {}

    template <typename Fn>
    auto with(Fn&& fn) {
        std::unique_ptr<pqxx::connection> conn = acquire();
        struct Return {
            Pool* pool;
            std::unique_ptr<pqxx::connection>* conn;
            ~Return() { pool->release(std::move(*conn)); }
        } giveback{this, &conn};
        try {
            return fn(*conn);
        } catch (const pqxx::broken_connection&) {
            conn.reset();  // do not hand a broken connection to the next request
            throw;
        }
    }

private:
    std::unique_ptr<pqxx::connection> acquire() {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_for(lock, std::chrono::seconds(2), [&] { return !idle_.empty() || open_ < size_; })) {
            throw std::runtime_error("no database connection free");
        }
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return c;
        }
        ++open_;
        lock.unlock();
        try {
            return std::make_unique<pqxx::connection>(url_);
        } catch (...) {
            lock.lock();
            --open_;
            cv_.notify_one();
            throw;
        }
    }

    void release(std::unique_ptr<pqxx::connection> conn) {
        std::lock_guard<std::mutex> lock(mu_);
        if (conn && conn->is_open()) {
            idle_.push_back(std::move(conn));
        } else {
            --open_;
        }
        cv_.notify_one();
    }

    std::string url_;
    std::size_t size_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<pqxx::connection>> idle_;
    std::size_t open_ = 0;
};

struct Version {
    std::string name;
    std::vector<std::string> requires_columns;  // what this version reads and writes
    std::string insert;
    std::string select_one;
    std::string select_many;
};

Version version_of(const std::string& name) {
    if (name == "v1") {
        return {name, {"orders.customer_name"},
                "INSERT INTO orders (customer_name) VALUES ($1) RETURNING id",
                "SELECT id, customer_name FROM orders WHERE id = $1",
                "SELECT id, customer_name FROM orders ORDER BY id DESC LIMIT $1"};
    }
    if (name == "v2") {
        return {name, {"orders.customer_name", "orders.customer"},
                "INSERT INTO orders (customer_name, customer) VALUES ($1, $1) RETURNING id",
                "SELECT id, COALESCE(customer, customer_name) FROM orders WHERE id = $1",
                "SELECT id, COALESCE(customer, customer_name) FROM orders ORDER BY id DESC LIMIT $1"};
    }
    if (name == "v3") {
        return {name, {"orders.customer"},
                "INSERT INTO orders (customer) VALUES ($1) RETURNING id",
                "SELECT id, customer FROM orders WHERE id = $1",
                "SELECT id, customer FROM orders ORDER BY id DESC LIMIT $1"};
    }
    throw readyprobe::ConfigError("ORDERS_VERSION", "must be v1, v2 or v3, not \"" + name + "\"");
}

void json_reply(httplib::Response& res, int status, const nlohmann::json& body) {
    res.status = status;
    res.set_content(body.dump() + "\n", "application/json");
}

void db_error(httplib::Response& res, const std::exception& e) {
    spdlog::warn("request failed: {}", e.what());
    json_reply(res, 503, {{"error", "database unavailable"}});
}

int serve(const std::string& database_url, const std::string& version_name) {
    const Version version = version_of(version_name);
    readyprobe::LoadOptions load;
    load.ignore_listen = true;  // the probe answers on the service's own port
    readyprobe::Settings settings = readyprobe::load_settings(readyprobe::current_environment(), load);
    const std::string listen = env_or("ORDERS_LISTEN", "0.0.0.0:8080");
    const auto colon = listen.rfind(':');
    int port = 0;
    try {
        port = colon == std::string::npos ? -1 : std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
        port = -1;
    }
    if (port < 1 || port > 65535) throw readyprobe::ConfigError("ORDERS_LISTEN", "must be host:port");
    std::string host = listen.substr(0, colon);
    if (host.empty()) host = "0.0.0.0";

    // Naive baseline, only for the comparison in tests/zero-downtime (ORDERS_NAIVE_HEALTH=1): what
    // a typical hand-written service does. /health answers 200 as soon as the port listens (no
    // probe, no schema check), and SIGTERM keeps its default action: the process dies at once,
    // in-flight requests and all. Everything else (the /orders handlers) is the same.
    const bool naive = env_or("ORDERS_NAIVE_HEALTH", "") == "1";

    // The probe: the operator's READYPROBE_CHECK_* checks, plus the schema this version needs.
    // A PostgreSQL check the operator made announce (ANNOUNCE, a lease for `readyprobe guard`)
    // also requires what this version reads and writes, so the lease says it without the
    // operator repeating the columns in its REQUIRE.
    for (auto& spec : settings.checks) {
        if (spec.kind != "postgres" || spec.announce.empty()) continue;
        for (const auto& column : version.requires_columns) {
            if (std::find(spec.require.begin(), spec.require.end(), column) == spec.require.end()) {
                spec.require.push_back(column);
            }
        }
    }
    readyprobe::Prober prober;
    readyprobe::add_checks(prober, settings.checks);
    readyprobe::Schedule schedule;
    schedule.interval = settings.interval;
    schedule.timeout = settings.timeout;
    schedule.rise = settings.rise;
    schedule.fall = settings.fall;
    readyprobe::CheckSpec schema = readyprobe::check_spec("schema", database_url, schedule);
    schema.require = version.requires_columns;
    prober.add("schema", readyprobe::make_check(schema), schema.schedule);

    Pool pool(database_url, 8);
    // The library's serving lifecycle (readyprobe/serve.hpp): the probe endpoints mounted beside
    // /orders, readyprobe's server settings with an application's timeouts (request bodies may
    // arrive in several segments, keep-alive connections may idle between requests: cpp-httplib's
    // 5 s defaults), and the drain on SIGTERM.
    readyprobe::ServeOptions options;
    options.host = host;
    options.port = port;
    options.drain = settings.drain;
    options.endpoints.details = settings.details;
    options.tuning.max_body = 64 * 1024;
    options.tuning.read_timeout = std::chrono::seconds(5);
    options.tuning.write_timeout = std::chrono::seconds(5);
    options.tuning.keep_alive = std::chrono::seconds(5);
    // The naive baseline has a plain server with the same settings (applied at bind time) and the
    // same /orders routes: only /health and SIGTERM differ.
    std::optional<readyprobe::Service> service;
    httplib::Server naive_server;
    if (naive) {
        naive_server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("ok\n", "text/plain");
        });
    } else {
        service.emplace(prober, options);  // blocks SIGTERM/SIGINT before any thread starts
    }
    httplib::Server& server = naive ? naive_server : service->server();

    server.Post("/orders", [&](const httplib::Request& req, httplib::Response& res) {
        nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("customer") || !body["customer"].is_string() ||
            body["customer"].get<std::string>().empty() || body["customer"].get<std::string>().size() > 200) {
            return json_reply(res, 400, {{"error", "body must be {\"customer\": \"<name>\"}"}});
        }
        const std::string customer = body["customer"];
        try {
            const long long id = pool.with([&](pqxx::connection& c) {
                pqxx::work tx(c);
                const pqxx::result r = tx.exec_params(version.insert, customer);
                tx.commit();
                return r[0][0].as<long long>();
            });
            json_reply(res, 201, {{"id", id}});
        } catch (const std::exception& e) {
            db_error(res, e);
        }
    });
    server.Get(R"(/orders/(\d{1,18}))", [&](const httplib::Request& req, httplib::Response& res) {
        const long long id = std::stoll(req.matches[1]);
        try {
            const pqxx::result r = pool.with([&](pqxx::connection& c) {
                pqxx::read_transaction tx(c);
                return tx.exec_params(version.select_one, id);
            });
            if (r.empty()) return json_reply(res, 404, {{"error", "no such order"}});
            json_reply(res, 200, {{"id", r[0][0].as<long long>()}, {"customer", r[0][1].as<std::string>("")}});
        } catch (const std::exception& e) {
            db_error(res, e);
        }
    });
    server.Get("/orders", [&](const httplib::Request& req, httplib::Response& res) {
        long long limit = 20;
        if (req.has_param("limit")) {
            const std::string v = req.get_param_value("limit");
            if (v.empty() || v.size() > 4 || !std::all_of(v.begin(), v.end(), ::isdigit)) {
                return json_reply(res, 400, {{"error", "limit must be a number from 1 to 1000"}});
            }
            limit = std::clamp(std::stoll(v), 1LL, 1000LL);
        }
        try {
            const pqxx::result r = pool.with([&](pqxx::connection& c) {
                pqxx::read_transaction tx(c);
                return tx.exec_params(version.select_many, limit);
            });
            nlohmann::json list = nlohmann::json::array();
            for (const auto& row : r) list.push_back({{"id", row[0].as<long long>()}, {"customer", row[1].as<std::string>("")}});
            json_reply(res, 200, list);
        } catch (const std::exception& e) {
            db_error(res, e);
        }
    });

    if (!(naive ? readyprobe::tune_and_bind(server, host, port, options.tuning) : service->bind())) {
        std::cerr << "orders-service: ORDERS_LISTEN: cannot listen on " << listen << "\n";
        return kExitUsage;
    }
    if (naive) {
        spdlog::info("orders-service {} listening on {} (naive baseline: no probe, no drain)", version.name, listen);
        server.listen_after_bind();
        return 0;
    }
    spdlog::info("orders-service {} listening on {}", version.name, listen);
    // Readiness fails at once on SIGTERM; requests keep being served while the load balancer
    // notices, then the server stops (in-flight requests finish) and the process exits 0.
    return service->run();
}

// The batch pause and size of the backfill (migration 3), from ORDERS_MIGRATE_BATCH_PAUSE (a
// duration, e.g. 200ms; default none) and ORDERS_MIGRATE_BATCH_SIZE (rows, default 1000). They let a
// rollout rehearsal make the backfill take as long as a big table's would.
struct BatchSettings {
    long long pause_ms = 0;
    long long size = 1000;
};

BatchSettings batch_settings() {
    BatchSettings b;
    const std::string pause = env_or("ORDERS_MIGRATE_BATCH_PAUSE", "");
    if (!pause.empty()) {
        try {
            b.pause_ms = readyprobe::to_ms(readyprobe::parse_duration(pause));
        } catch (const std::exception& e) {
            throw readyprobe::ConfigError("ORDERS_MIGRATE_BATCH_PAUSE", e.what());
        }
    }
    const std::string size = env_or("ORDERS_MIGRATE_BATCH_SIZE", "");
    if (!size.empty()) {
        if (size.size() > 7 || !std::all_of(size.begin(), size.end(), [](unsigned char c) { return std::isdigit(c); }) ||
            std::stoll(size) < 1) {
            throw readyprobe::ConfigError("ORDERS_MIGRATE_BATCH_SIZE", "must be a number of rows from 1 to 9999999");
        }
        b.size = std::stoll(size);
    }
    return b;
}

// golang-migrate's protocol (migrate.go runMigrations; database/postgres SetVersion): one run at a
// time (a session advisory lock), and for each migration N: SetVersion(N, dirty=true) committed
// in its own transaction (TRUNCATE + INSERT), then N's body in a transaction, then
// SetVersion(N, dirty=false). While N runs the row says "N, dirty": every gate on N-1 or earlier
// stays up, gates on N wait. N's body runs through readyprobe's migration guard
// (readyprobe/guard.hpp), the same code as `readyprobe guard --sql FILE --apply`, in one
// transaction: committed only when no live lease (ANNOUNCE) requires what it removes and no
// transaction would make its locks queue. Refused or failed, nothing of N was committed, so the
// version goes back to N-1 clean (CONTRACT: "the version stays where it was") and migrate exits 1.
// A COMMIT that got no answer leaves N dirty (it may be in). A row still dirty (a run killed in
// the middle, or the database lost before it could be reset)
// makes migrate refuse to run until someone fixes it, as golang-migrate does ("Dirty database
// version N"). `wait`: retry refused attempts this long.
int migrate(const std::string& database_url, int target, std::optional<readyprobe::Duration> wait) {
    std::vector<std::pair<int, const Migration*>> ordered;
    for (const auto& m : migrations()) ordered.emplace_back(std::stoi(m.file), &m);
    std::sort(ordered.begin(), ordered.end());
    const int latest = ordered.empty() ? 0 : ordered.back().first;
    if (target < 1 || target > latest) {
        std::cerr << "orders-service: --to must be a version from 1 to " << latest << "\n";
        return kExitUsage;
    }
    BatchSettings batch;
    try {
        batch = batch_settings();
    } catch (const readyprobe::ConfigError& e) {
        std::cerr << "orders-service: " << e.what() << "\n";
        return kExitUsage;
    }
    readyprobe::CheckSpec database;
    try {
        database = readyprobe::check_spec("migrate", database_url);
    } catch (const std::exception& e) {
        std::cerr << "orders-service: ORDERS_DATABASE_URL: " << e.what() << "\n";
        return kExitUsage;
    }
    readyprobe::SqlGuardOptions guard;
    guard.apply = true;
    guard.wait = wait;
    guard.statement_timeout = std::chrono::hours(1);  // a long backfill is one DO statement
    try {
        pqxx::connection c(database_url);
        auto exec = [&](const std::string& sql) {
            pqxx::nontransaction n(c);
            n.exec(sql);
        };
        // One migration run at a time across concurrent runs (a second migrate task waits here).
        exec("SELECT pg_advisory_lock(7283101)");
        exec("CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)");
        auto set_version = [&](int version, bool dirty) {
            pqxx::work tx(c);
            tx.exec("TRUNCATE schema_migrations");
            tx.exec("INSERT INTO schema_migrations (version, dirty) VALUES (" + std::to_string(version) + ", " +
                    (dirty ? "true" : "false") + ")");
            tx.commit();
        };
        long long at = 0;
        {
            pqxx::nontransaction n(c);
            const pqxx::result current = n.exec("SELECT version, dirty FROM schema_migrations");
            at = current.empty() ? 0 : current[0][0].as<long long>();
            if (!current.empty() && current[0][1].as<bool>()) {
                std::cerr << "orders-service: the database is dirty at version " << at
                          << " (that migration failed or was interrupted); fix it by hand\n";
                return kExitFailed;
            }
        }
        for (const auto& [number, m] : ordered) {
            if (number > target) break;
            if (at >= number) continue;
            std::cout << "migrate: applying " << m->file << std::endl;
            set_version(number, true);
            const std::string body = "SELECT set_config('orders.batch_pause_ms', '" + std::to_string(batch.pause_ms) +
                                     "', true), set_config('orders.batch_size', '" + std::to_string(batch.size) +
                                     "', true);\n" + m->sql;
            const readyprobe::SqlGuardResult r = readyprobe::guard_migration(
                database, body, guard, [](const std::string& line) { std::cout << line << std::endl; });
            for (const auto& line : readyprobe::report_lines(r, m->file, guard)) std::cout << line << std::endl;
            if (r.maybe_committed) {
                // The COMMIT got no answer: N may be in. Left dirty, as golang-migrate leaves it.
                std::cerr << "orders-service: migration " << number << " failed: " << r.error
                          << "; left dirty at version " << number << ": check the schema, then fix it by hand\n";
                return kExitFailed;
            }
            if (r.outcome != readyprobe::SqlGuardResult::Outcome::applied) {
                // Nothing of N was committed (the guard's one transaction was rolled back, or never
                // began): back to N-1, clean. (golang-migrate leaves N dirty because its body may
                // have run in part; here it cannot have.)
                if (at > 0) {
                    set_version(static_cast<int>(at), false);
                } else {
                    pqxx::nontransaction n(c);
                    n.exec("TRUNCATE schema_migrations");
                }
                if (r.outcome == readyprobe::SqlGuardResult::Outcome::failed) {
                    std::cerr << "orders-service: migration " << number << " failed: " << r.error << "; at version "
                              << at << "\n";
                } else {
                    std::cerr << "orders-service: migration " << number << " refused by the guard; at version " << at
                              << "\n";
                }
                return kExitFailed;
            }
            set_version(number, false);
            at = number;
        }
        std::cout << "migrate: at version " << at << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::string what = e.what();
        what = what.substr(0, what.find('\n'));
        std::cerr << "orders-service: migration failed: " << what << "\n";
        return kExitFailed;
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"orders-service: an example service that embeds readyprobe"};
    app.require_subcommand(0, 1);
    auto* serve_cmd = app.add_subcommand("serve", "Serve /orders and the probe endpoints (the default)");
    int to = 0;
    auto* migrate_cmd = app.add_subcommand("migrate", "Apply the SQL migrations up to --to N");
    migrate_cmd->add_option("--to", to, "target version")->required();
    std::string wait;
    migrate_cmd->add_option("--wait", wait,
                            "while the guard refuses (a live task needs what it removes, a transaction holds a lock "
                            "it needs), retry this long");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "orders-service: " << e.what() << "\n";
        return kExitUsage;
    }
    (void)serve_cmd;
    const std::string url = env_or("ORDERS_DATABASE_URL", "");
    try {
        if (url.empty()) throw readyprobe::ConfigError("ORDERS_DATABASE_URL", "required (a postgres:// URL)");
        if (url.rfind("postgres://", 0) != 0 && url.rfind("postgresql://", 0) != 0) {
            throw readyprobe::ConfigError("ORDERS_DATABASE_URL", "must be a postgres:// URL");
        }
        if (*migrate_cmd) {
            std::optional<readyprobe::Duration> wait_for;
            if (!wait.empty()) {
                try {
                    wait_for = readyprobe::parse_duration(wait);
                } catch (const std::invalid_argument& e) {
                    throw readyprobe::ConfigError("--wait", e.what());
                }
            }
            return migrate(url, to, wait_for);
        }
        const std::string version = env_or("ORDERS_VERSION", "");
        if (version.empty()) throw readyprobe::ConfigError("ORDERS_VERSION", "required (v1, v2 or v3)");
        return serve(url, version);
    } catch (const readyprobe::ConfigError& e) {
        std::cerr << "orders-service: " << e.what() << "\n";
        return kExitUsage;
    }
}
