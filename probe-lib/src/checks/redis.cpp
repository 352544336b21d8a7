// Redis: PING must answer PONG. hiredis 0.14 is blocking, so every call is bounded by socket
// timeouts set to the time left before the deadline.
#include "io.hpp"

#include <readyprobe/checks.hpp>

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cerrno>
#include <memory>
#include <vector>

namespace readyprobe {
namespace {

struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(long long ms) {
    if (ms < 1) ms = 1;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
    return tv;
}

class RedisCheck final : public Check {
public:
    explicit RedisCheck(const CheckSpec& spec) : spec_(spec) {
        const std::string& path = spec.url.path;
        if (path.size() > 1) db_ = path.substr(1);
        port_ = spec.url.port ? spec.url.port : 6379;
    }

    std::string kind() const override { return "redis"; }

    Result run(Deadline deadline) override {
        const bool reused = static_cast<bool>(ctx_);
        Result r = attempt(deadline);
        if (!r.ok && !r.timed_out && reused && detail::remaining_ms(deadline) > 0) {
            r = attempt(deadline);  // the kept connection may be stale after a restart
        }
        if (!r.ok) r.message = mask(r.message, {spec_.url.password});
        return r;
    }

private:
    // Text for a context error; timeouts surface as EAGAIN from the socket timeouts.
    Result context_error(Deadline deadline) {
        const int err = ctx_ ? ctx_->err : REDIS_ERR_OTHER;
        std::string text = ctx_ ? ctx_->errstr : "cannot allocate redis context";
        ctx_.reset();
        if (detail::remaining_ms(deadline) == 0 || text.find("temporarily unavailable") != std::string::npos ||
            text.find("timed out") != std::string::npos) {
            return Result::timeout(spec_.schedule.timeout);
        }
        if (err == REDIS_ERR_EOF || text == "Server closed the connection") {
            return Result::fail("connection closed by server");
        }
        if (text.find("Name or service not known") != std::string::npos ||
            text.find("name resolution") != std::string::npos ||
            text.find("No address associated") != std::string::npos) {
            return Result::fail("name not resolved: " + spec_.url.host);
        }
        return Result::fail(detail::lower_first(text));
    }

    // Sends one command; nullptr means the context failed (see context_error).
    Reply command(const std::vector<std::string>& args, Deadline deadline) {
        redisSetTimeout(ctx_.get(), to_timeval(detail::remaining_ms(deadline)));
        std::vector<const char*> argv;
        std::vector<size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        return Reply(static_cast<redisReply*>(
            redisCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    }

    Result attempt(Deadline deadline) {
        if (!ctx_) {
            const long long left = detail::remaining_ms(deadline);
            if (left == 0) return Result::timeout(spec_.schedule.timeout);
            ctx_.reset(redisConnectWithTimeout(spec_.url.host.c_str(), port_, to_timeval(left)));
            if (!ctx_ || ctx_->err) return context_error(deadline);

            if (!spec_.url.password.empty()) {
                std::vector<std::string> auth{"AUTH"};
                if (!spec_.url.user.empty()) auth.push_back(spec_.url.user);
                auth.push_back(spec_.url.password.reveal());
                Reply reply = command(auth, deadline);
                if (!reply) return context_error(deadline);
                if (reply->type == REDIS_REPLY_ERROR) {
                    std::string msg = reply->str ? reply->str : "AUTH failed";
                    ctx_.reset();
                    return Result::fail("AUTH failed: " + msg);
                }
            }
            if (!db_.empty() && db_ != "0") {
                Reply reply = command({"SELECT", db_}, deadline);
                if (!reply) return context_error(deadline);
                if (reply->type == REDIS_REPLY_ERROR) {
                    std::string msg = reply->str ? reply->str : "SELECT failed";
                    ctx_.reset();
                    return Result::fail("SELECT " + db_ + " failed: " + msg);
                }
            }
        }
        Reply reply = command({"PING"}, deadline);
        if (!reply) return context_error(deadline);
        if (reply->type == REDIS_REPLY_STATUS && reply->str && std::string(reply->str) == "PONG") {
            return Result::pass();
        }
        std::string msg = reply->str ? reply->str : "unexpected reply to PING";
        ctx_.reset();
        return Result::fail(msg);  // e.g. "NOAUTH Authentication required."
    }

    CheckSpec spec_;
    std::string db_;
    int port_ = 6379;
    Context ctx_;
};

}  // namespace

std::unique_ptr<Check> make_redis_check(const CheckSpec& spec) {
    return std::make_unique<RedisCheck>(spec);
}

}  // namespace readyprobe
