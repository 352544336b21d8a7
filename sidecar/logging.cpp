#include "commands.hpp"

#include <readyprobe/log.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <ctime>

namespace readyprobe::cli {
namespace {

// One JSON object per line (CloudWatch): {"time": "...", "level": "info", "message": "..."} and,
// for the lines that report an event, its fields: {"event": "transition", "check": "db",
// "kind": "postgres", "from": "up", "to": "down", "reason": "...", "latency_ms": 1000.3}.
class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto since_epoch = msg.time.time_since_epoch();
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
        const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs);
        const std::time_t t = static_cast<std::time_t>(secs.count());
        std::tm tm{};
        gmtime_r(&t, &tm);
        char stamp[40];
        const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(millis.count()));
        nlohmann::json line;
        line["time"] = stamp;
        const auto level = spdlog::level::to_string_view(msg.level);
        line["level"] = std::string(level.data(), level.size());
        line["message"] = std::string(msg.payload.data(), msg.payload.size());
        if (const LogEvent* e = current_log_event()) {
            const std::pair<const char*, const std::string*> fields[] = {
                {"event", &e->event}, {"check", &e->check}, {"kind", &e->kind},
                {"from", &e->from},   {"to", &e->to},       {"reason", &e->reason}};
            for (const auto& [key, value] : fields) {
                if (!value->empty()) line[key] = *value;
            }
            if (e->latency_ms) line["latency_ms"] = std::round(*e->latency_ms * 10) / 10;
        }
        const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        dest.append(text.data(), text.data() + text.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

// The text format's `%*`: an event's fields as key=value pairs after the message.
class EventFields final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
        if (const LogEvent* e = current_log_event()) {
            const std::string text = to_logfmt(*e);
            dest.append(text.data(), text.data() + text.size());
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EventFields>(); }
};

}  // namespace

void setup_logging(const Settings& settings) {
    auto logger = spdlog::stderr_logger_mt("readyprobe");
    if (settings.log_format == LogFormat::json) {
        logger->set_formatter(std::make_unique<JsonFormatter>());
    } else {
        auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
        formatter->add_flag<EventFields>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v%*");
        logger->set_formatter(std::move(formatter));
    }
    logger->set_level(spdlog::level::from_str(settings.log_level));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

}  // namespace readyprobe::cli
