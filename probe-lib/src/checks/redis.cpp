// Redis: PING must answer PONG, over plain TCP (redis://) or TLS (rediss://), one code path.
// The bytes go through a Transport (non-blocking socket, OpenSSL for TLS) whose every step waits
// with poll() against the run's deadline; hiredis does the protocol only: redisFormatCommandArgv
// encodes commands, its reply reader parses what comes back. (Debian 12's hiredis 0.14 has no
// TLS, and its blocking calls could only be bounded by socket timeouts.)
#include "redis.hpp"

#include "../text.hpp"
#include "io.hpp"
#include "transport.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>

#include <hiredis/hiredis.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace readyprobe {
namespace {

struct ReaderDeleter {
    void operator()(redisReader* r) const { redisReaderFree(r); }
};
using Reader = std::unique_ptr<redisReader, ReaderDeleter>;

struct ReplyDeleter {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// A reply to PING, AUTH or SELECT is a few bytes; a peer that sends more than this is not Redis.
constexpr std::size_t kMaxReplyBytes = 1 << 20;

class RedisCheck final : public Check {
public:
    explicit RedisCheck(const CheckSpec& spec) : spec_(spec) {
        const std::string& path = spec.url.path;
        if (path.size() > 1) db_ = path.substr(1);
        port_ = spec.url.port ? spec.url.port : 6379;
        // One TLS context per check, shared by its connections (not one per run).
        if (spec.url.scheme == "rediss") tls_ = std::make_unique<detail::TlsConfig>(spec.ca_file);
    }

    std::string kind() const override { return "redis"; }

    std::vector<int> idle_fds() const override {
        if (!conn_.is_open()) return {};
        return {conn_.fd()};
    }

    Result run(Deadline deadline) override {
        const bool reused = conn_.is_open();
        Result r = attempt(deadline);
        if (!r.ok && !r.timed_out && reused && detail::remaining_ms(deadline) > 0) {
            r = attempt(deadline);  // the kept connection may be stale after a restart
        }
        if (!r.ok) r.message = mask(r.message, {spec_.url.password});
        return r;
    }

private:
    // Drops the connection (its reader may hold half a reply) and reports why.
    Result broken(const detail::IoStatus& st) {
        conn_.close();
        reader_.reset();
        if (st.kind == detail::IoStatus::timeout) {
            return Result::deadline_passed(st.message);
        }
        return Result::fail(st.message);
    }

    Result failed(std::string message) {
        conn_.close();
        reader_.reset();
        return Result::fail(std::move(message));
    }

    // Sends one command and waits for its reply; nullptr with `st` set when the connection failed.
    Reply command(const std::vector<std::string>& args, Deadline deadline, detail::IoStatus& st) {
        std::vector<const char*> argv;
        std::vector<size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        char* cmd = nullptr;
        const int len = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), argv.data(), lens.data());
        if (len < 0 || !cmd) {
            st = detail::IoStatus::fail("cannot encode the command");
            return nullptr;
        }
        st = conn_.write_all(cmd, static_cast<std::size_t>(len), deadline);
        // The encoded AUTH holds the password: wipe it before it goes back to the allocator.
        volatile char* wipe = cmd;
        for (int i = 0; i < len; ++i) wipe[i] = 0;
        redisFreeCommand(cmd);
        if (!st) return nullptr;

        std::size_t total = 0;
        for (;;) {
            void* out = nullptr;
            if (redisReaderGetReply(reader_.get(), &out) != REDIS_OK) {
                st = detail::IoStatus::fail("protocol error: " + detail::one_sentence(reader_->errstr) +
                                            (tls_ ? "" : " (a TLS port? use rediss://)"));
                return nullptr;
            }
            if (out) return Reply(static_cast<redisReply*>(out));
            char buf[16384];
            std::size_t got = 0;
            st = conn_.read_some(buf, sizeof buf, got, deadline);
            if (!st) return nullptr;
            total += got;
            if (total > kMaxReplyBytes) {
                st = detail::IoStatus::fail("reply too large (not a Redis server?)");
                return nullptr;
            }
            if (redisReaderFeed(reader_.get(), buf, got) != REDIS_OK) {
                st = detail::IoStatus::fail("cannot buffer the reply");
                return nullptr;
            }
        }
    }

    static std::string error_text(const redisReply& reply, const char* fallback) {
        return reply.str && reply.len > 0 ? detail::one_sentence(std::string(reply.str, reply.len)) : fallback;
    }

    Result attempt(Deadline deadline) {
        detail::IoStatus st;
        if (!conn_.is_open()) {
            if (detail::remaining_ms(deadline) == 0) return Result::deadline_passed();
            reader_.reset(redisReaderCreate());
            if (!reader_) return Result::fail("cannot allocate a Redis reply reader");
            st = conn_.connect(spec_.url.host, port_, tls_.get(), deadline);
            if (!st) return broken(st);

            if (!spec_.url.password.empty()) {
                std::vector<std::string> auth{"AUTH"};
                if (!spec_.url.user.empty()) auth.push_back(spec_.url.user);
                auth.push_back(spec_.url.password.reveal());
                Reply reply = command(auth, deadline, st);
                for (auto& a : auth) {
                    volatile char* wipe = a.data();
                    for (std::size_t i = 0; i < a.size(); ++i) wipe[i] = 0;
                }
                if (!reply) return broken(st);
                if (reply->type == REDIS_REPLY_ERROR) return failed("AUTH failed: " + error_text(*reply, "error"));
            }
            if (!db_.empty() && db_ != "0") {
                Reply reply = command({"SELECT", db_}, deadline, st);
                if (!reply) return broken(st);
                if (reply->type == REDIS_REPLY_ERROR) {
                    return failed("SELECT " + db_ + " failed: " + error_text(*reply, "error"));
                }
            }
        }
        Reply reply = command({"PING"}, deadline, st);
        if (!reply) return broken(st);
        if (reply->type == REDIS_REPLY_STATUS && reply->str && std::string(reply->str, reply->len) == "PONG") {
            return Result::pass();
        }
        // e.g. "NOAUTH Authentication required.", a 900-character "DENIED Redis is running in
        // protected mode ..." cut to its first sentence.
        return failed(reply->type == REDIS_REPLY_ERROR ? error_text(*reply, "error")
                                                       : "unexpected reply to PING");
    }

    CheckSpec spec_;
    std::string db_;
    int port_ = 6379;
    std::unique_ptr<detail::TlsConfig> tls_;
    detail::Transport conn_;
    Reader reader_;
};

void check_redis_url(const Url& u, const std::string& where) {
    if (u.host.empty()) throw ConfigError(where, "URL has no host");
    if (!u.path.empty() && u.path != "/") {
        const std::string db = u.path.substr(1);
        if (db.size() > 5 || !std::all_of(db.begin(), db.end(), [](unsigned char c) { return std::isdigit(c); })) {
            throw ConfigError(where, "the path of a redis URL is a database number");
        }
    }
}

// CA_FILE: the CA certificate(s), PEM, a rediss:// check trusts instead of the system store.
void parse_ca_file(CheckSpec& spec, const detail::RawOption& raw) {
    using detail::shown;
    if (spec.url.scheme != "rediss") {
        throw ConfigError(raw.where, "CA_FILE needs a TLS URL: rediss:// (this check's URL is redis://)");
    }
    const std::string path = detail::trim(raw.value);
    if (path.empty()) throw ConfigError(raw.where, "must be the path of a PEM file of CA certificates");
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw ConfigError(raw.where, shown(path) + " is a directory, not a PEM file of CA certificates");
    }
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(raw.where, "cannot read " + shown(path) + (errno ? ": " + detail::errno_text(errno) : ""));
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    if (buf.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        throw ConfigError(raw.where, shown(path) + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    spec.ca_file = path;
}

void describe_redis(const CheckSpec& spec, nlohmann::json& out) {
    if (!spec.ca_file.empty()) out["ca_file"] = spec.ca_file;
}

}  // namespace

std::unique_ptr<Check> make_redis_check(const CheckSpec& spec) {
    return std::make_unique<RedisCheck>(spec);
}

const detail::Kind& detail::redis_kind() {
    static const Kind kind = [] {
        Kind k;
        k.name = "redis";
        k.schemes = {"redis", "rediss"};
        k.options = {{"CA_FILE", 13, parse_ca_file, "CA_FILE is for redis checks only (rediss://)"}};
        k.check_url = check_redis_url;
        k.describe = describe_redis;
        k.make = make_redis_check;
        return k;
    }();
    return kind;
}

}  // namespace readyprobe
