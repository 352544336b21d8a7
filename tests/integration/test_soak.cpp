// Soak: the real readyprobe binary with checks every 50 ms while its dependencies flap every
// second (Redis SIGSTOP/SIGCONT, PostgreSQL SIGSTOP/SIGCONT, an HTTP dependency 200/500).
// After a warm-up its memory and descriptors stay flat, and every flap long enough to be
// seen is logged once as "is down" and once as "is up".
//
// Bounded to about two minutes in the suite; longer by hand:
//   RPTEST_SOAK_SECONDS=600 build/tests/integration_tests "[soak]"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

using namespace rptest;

namespace {

// Under sanitizers (kSanitized): a shorter soak with slower flaps and wider timeouts, and no
// bound on RSS.

long rss_kb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, 6, "VmRSS:") == 0) return std::atol(line.c_str() + 6);
    }
    return -1;
}

std::vector<std::string> lines_with(const std::string& log, const std::string& needle) {
    std::vector<std::string> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
        if (line.find(needle) != std::string::npos) out.push_back(line);
    }
    return out;
}

int count_lines(const std::string& log, const std::string& needle) {
    return static_cast<int>(lines_with(log, needle).size());
}

// HH:MM:SS.mmm (UTC), as in the sidecar's text log, to line outages up with its lines.
std::string utc(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

struct Sample {
    double t;  // seconds since the flapping started
    long rss;
    int fds;
};

// Median of the samples with t in [from, to).
template <typename F>
double median_of(const std::vector<Sample>& samples, double from, double to, F field) {
    std::vector<double> v;
    for (const auto& s : samples) {
        if (s.t >= from && s.t < to) v.push_back(static_cast<double>(field(s)));
    }
    if (v.empty()) return -1;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <typename F>
double max_of(const std::vector<Sample>& samples, double from, double to, F field) {
    double m = -1;
    for (const auto& s : samples) {
        if (s.t >= from && s.t < to) m = std::max(m, static_cast<double>(field(s)));
    }
    return m;
}

// One dependency that goes down and up on a schedule, remembering how long each outage lasted.
struct Flapper {
    std::string check;
    std::function<void(bool down)> set;
    bool down = false;
    Clock::time_point since;
    std::vector<std::pair<Clock::time_point, Clock::time_point>> outages;  // completed ones
    std::string history;  // "HH:MM:SS.mmm down, ... up" for failure messages

    // The outage counts from when the dependency is down (SIGSTOP sent to every process) to
    // when it is up again.
    void toggle() {
        down = !down;
        set(down);
        const auto now = Clock::now();
        if (!down) outages.emplace_back(since, now);
        since = now;
        history += utc(std::chrono::system_clock::now()) + (down ? " down, " : " up; ");
    }
};

// Moments the machine did not run this process for more than 100 ms (other work on a shared
// machine, a parallel test): the sidecar was likely starved too, so a check could time out
// while its dependency was up, and an outage may pass unseen. Such flaps are excused (and
// counted in the report); everything else must be exact.
class StallWatch {
public:
    StallWatch() : thread_([this] { loop(); }) {}
    ~StallWatch() { stop(); }
    void stop() {
        if (thread_.joinable()) {
            stop_ = true;
            thread_.join();
        }
    }
    const std::vector<std::pair<Clock::time_point, Clock::time_point>>& stalls() const { return stalls_; }
    bool overlaps(Clock::time_point from, Clock::time_point to) const {
        return std::any_of(stalls_.begin(), stalls_.end(),
                           [&](const auto& st) { return st.first < to && st.second > from; });
    }

private:
    void loop() {
        while (!stop_) {
            const auto before = Clock::now();
            std::this_thread::sleep_for(5ms);
            const auto after = Clock::now();
            if (after - before > 105ms) stalls_.emplace_back(before, after);
        }
    }
    std::atomic<bool> stop_{false};
    std::vector<std::pair<Clock::time_point, Clock::time_point>> stalls_;
    std::thread thread_;
};

}  // namespace

TEST_CASE("soak: dependencies flapping every second at a 50 ms interval: RSS and fds stay flat and no "
          "transition is missed",
          "[soak]") {
    int seconds = kSanitized ? 30 : 120;
    if (const char* s = std::getenv("RPTEST_SOAK_SECONDS")) seconds = std::max(30, std::atoi(s));
    const auto period = kSanitized ? 2000ms : 1000ms;  // each dependency flips this often
    const auto interval = kSanitized ? 100ms : 50ms;
    const auto timeout = kSanitized ? 400ms : 150ms;
    const int fall = 2;
    const double warmup_s = std::min(20.0, seconds / 4.0);
    // A flap is seen when it outlasts fall x (interval + timeout), plus the 10% interval jitter.
    const double visible_ms = fall * (1.1 * static_cast<double>(interval.count()) + static_cast<double>(timeout.count()));

    Redis redis;
    Postgres pg;
    FakeHttp api(200);
    Sidecar rp({{"READYPROBE_CHECK_CACHE", redis.url()},
                {"READYPROBE_CHECK_DB", pg.url()},
                {"READYPROBE_CHECK_API", "http://127.0.0.1:" + std::to_string(api.port()) + "/ready"},
                {"READYPROBE_CHECK_FLAG", "file://" + binary()},
                {"READYPROBE_INTERVAL", std::to_string(interval.count()) + "ms"},
                {"READYPROBE_TIMEOUT", std::to_string(timeout.count()) + "ms"},
                {"READYPROBE_FALL", std::to_string(fall)},
                {"READYPROBE_RISE", "1"},
                {"READYPROBE_DETAILS", "full"},
                {"READYPROBE_DRAIN", "0s"}});
    const pid_t pid = rp.process().pid();
    REQUIRE(eventually([&] { return rp.status("/health") == 200; }, 10000ms));

    std::vector<Flapper> flappers = {
        {"cache", [&](bool down) { down ? redis.pause() : redis.resume(); }, false, {}, {}, {}},
        {"api", [&](bool down) { api.set_status(down ? 500 : 200); }, false, {}, {}, {}},
        {"db", [&](bool down) { down ? pg.pause() : pg.resume(); }, false, {}, {}, {}},
    };
    StallWatch stalls;

    // The flapping thread: each dependency flips every `period`, a third of a period apart.
    std::atomic<bool> stop{false};
    const auto t0 = Clock::now();
    const auto end = t0 + std::chrono::seconds(seconds);
    std::thread flapping([&] {
        for (long step = 0;; ++step) {
            const auto at = t0 + step * period / 3;
            while (Clock::now() < at && !stop) std::this_thread::sleep_for(5ms);
            if (stop || at >= end) break;
            flappers[static_cast<std::size_t>(step % 3)].toggle();
        }
        for (auto& f : flappers) {
            if (f.down) f.toggle();  // everything back up
        }
    });

    // Meanwhile: requests like a load balancer's (and a scraper's), and a sample every second.
    std::vector<Sample> samples;
    int requests = 0;
    int bad_requests = 0;
    double slowest_ms = 0;
    auto next_sample = t0;
    while (Clock::now() < end) {
        const Reply r = rp.get(requests % 4 == 3 ? "/metrics" : "/health?verbose");
        ++requests;
        slowest_ms = std::max(slowest_ms, r.ms);
        if (r.status != 200 && r.status != 503) ++bad_requests;
        if (Clock::now() >= next_sample) {
            samples.push_back({std::chrono::duration<double>(Clock::now() - t0).count(), rss_kb(pid), open_fds(pid)});
            next_sample += 1s;
        }
        if (!rp.process().running()) break;
        std::this_thread::sleep_for(100ms);
    }
    stop = true;
    flapping.join();
    stalls.stop();
    REQUIRE(rp.process().running());
    // Everything up again: /health turns 200 and the last "is up" lines are written.
    CHECK(eventually([&] { return rp.status("/health") == 200; }, 5000ms));
    std::this_thread::sleep_for(1s);
    const int final_fds = open_fds(pid);
    const long final_rss = rss_kb(pid);
    const std::string metrics = rp.get("/metrics").body;
    rp.process().signal(SIGTERM);
    CHECK(rp.process().wait_for(10000ms) == std::optional<int>(0));
    const std::string log = rp.process().err();

    // ---------------------------------------------------------------------- memory and fds
    const double total = std::chrono::duration<double>(end - t0).count();
    const double window = std::min(10.0, (total - warmup_s) / 3);
    auto rss = [](const Sample& s) { return s.rss; };
    auto fds = [](const Sample& s) { return s.fds; };
    const double rss_start = median_of(samples, warmup_s, warmup_s + window, rss);
    const double rss_end = median_of(samples, total - window, total + 1, rss);
    const double fds_start_max = max_of(samples, warmup_s, warmup_s + window, fds);
    const double fds_end_max = max_of(samples, total - window, total + 1, fds);
    std::ostringstream report;
    report << "soak " << seconds << " s (flap every " << period.count() << " ms, interval " << interval.count()
           << " ms, timeout " << timeout.count() << " ms): RSS after warm-up " << rss_start << " kB, at the end "
           << rss_end << " kB (growth " << rss_end - rss_start << " kB), final " << final_rss
           << " kB; fds max after warm-up " << fds_start_max << ", max at the end " << fds_end_max << ", final "
           << final_fds << "; " << requests << " requests, " << bad_requests << " bad, slowest " << slowest_ms
           << " ms";
    INFO(report.str());
    CHECK(samples.size() >= static_cast<std::size_t>(seconds - 2));
    CHECK(bad_requests == 0);
    CHECK(slowest_ms < 2000);
    if (!kSanitized) CHECK(rss_end - rss_start < 1024);
    CHECK(fds_end_max <= fds_start_max + 2);
    CHECK(final_fds <= fds_start_max);

    // ------------------------------------------------------------------------ transitions
    const int stall_count = static_cast<int>(stalls.stalls().size());
    report << "; " << stall_count << " stall(s) of this process over 100 ms";
    for (const auto& f : flappers) {
        const int downs = count_lines(log, "check " + f.check + " is down");
        const int ups = count_lines(log, "check " + f.check + " is up");
        int visible = 0;  // outages long enough to be seen
        int excused = 0;  // of those, ones during which the machine stalled
        for (const auto& [from, to] : f.outages) {
            if (std::chrono::duration<double, std::milli>(to - from).count() <= visible_ms) continue;
            ++visible;
            if (stalls.overlaps(from, to)) ++excused;
        }
        const int outages = static_cast<int>(f.outages.size());
        std::string transitions;
        for (const auto& line : lines_with(log, "check " + f.check + " is ")) transitions += "\n    " + line;
        INFO(f.check << ": " << outages << " outages (" << visible << " longer than " << visible_ms << " ms, "
                     << excused << " of them during a stall); log: " << downs << " down, " << ups
                     << " up\n  flaps: " << f.history << "\n  log:" << transitions);
        report << "; " << f.check << " " << outages << " outages (" << visible << " visible, " << excused
               << " excused), logged " << downs << " down / " << ups << " up";
        CHECK(downs >= visible - excused);       // none missed
        CHECK(downs <= outages + stall_count);   // none invented
        CHECK(ups == downs + 1);                 // each recovered (plus the first up)
    }
    CHECK(count_lines(log, "check flag is down") <= stall_count);
    CHECK(metrics.find("readyprobe_check_up{check=\"flag\",kind=\"file\"} 1") != std::string::npos);
    WARN(report.str());
}
