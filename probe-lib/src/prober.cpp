#include <readyprobe/log.hpp>
#include <readyprobe/prober.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

namespace readyprobe {

namespace {
// How long past its deadline a check may take to return before the scheduler reports the
// timeout itself and abandons the run (the check's own deadline handling normally wins).
constexpr auto kOverrunGrace = std::chrono::milliseconds(50);
}  // namespace

// Threads: one scheduler, one worker per check. The worker is the only thread that touches
// its Check object. The scheduler hands a worker a run (`go`) only when the worker is idle
// (`busy` false), so a check that is still unwinding from an overrun is never started twice
// and the number of threads is fixed at start().
struct Entry {
    std::unique_ptr<Check> check;
    CheckState state;
    std::condition_variable wake;
    std::thread thread;

    bool go = false;
    bool busy = false;
    bool overrun_reported = false;
    TimePoint started{};      // steady time the current run started
    Deadline deadline{};      // steady deadline of the current run
    TimePoint next_due{};     // steady time of the next run (or next overrun report)
};

struct Prober::Impl {
    ProberOptions options;
    mutable std::mutex mu;
    std::condition_variable scheduler_wake;
    std::vector<std::shared_ptr<Entry>> entries;
    std::thread scheduler;
    bool started = false;
    bool stopping = false;
    bool latched = false;
    bool draining = false;
    std::uint64_t version = 0;
    std::shared_ptr<const Snapshot> published = std::make_shared<const Snapshot>();
    std::mt19937 rng{std::random_device{}()};

    TimePoint stamp() const { return options.clock->now(); }

    Duration jittered(Duration interval) {
        if (options.jitter <= 0) return interval;
        std::uniform_real_distribution<double> dist(0.0, options.jitter);
        return interval + std::chrono::duration_cast<Duration>(interval * dist(rng));
    }

    // Called with `mu` held. Returns the transitions to report once the lock is released.
    void apply(Entry& e, const Result& result, Duration took, std::vector<Transition>& out,
               bool& just_latched) {
        if (auto t = record(e.state, result, took, stamp())) out.push_back(*t);
        if (result.ok) e.state.last_success = std::chrono::system_clock::now();
        if (!latched && startup_complete()) {
            latched = true;
            just_latched = true;
        }
        publish();
    }

    bool startup_complete() const {
        for (const auto& e : entries) {
            const auto& s = e->state;
            // "Passed once since start": each on its own, not all at the same moment.
            if (s.schedule.critical && s.schedule.in_group("startup") && !s.ever_up) {
                return false;
            }
        }
        return true;
    }

    void publish() {
        auto snap = std::make_shared<Snapshot>();
        snap->checks.reserve(entries.size());
        for (const auto& e : entries) snap->checks.push_back(e->state);
        snap->startup_latched = latched;
        snap->draining = draining;
        snap->version = ++version;
        std::atomic_store(&published, std::shared_ptr<const Snapshot>(std::move(snap)));
    }

    void report(const std::vector<Transition>& transitions, bool just_latched) {
        for (const auto& t : transitions) {
            {
                const LogEvent event{"transition", t.check, t.kind, to_string(t.from), to_string(t.to),
                                     t.reason, std::chrono::duration<double, std::milli>(t.latency).count()};
                const LogEventScope scope(event);
                if (t.to == CheckStatus::up) {
                    spdlog::info("check {} is up (was {}): {}", t.check, to_string(t.from), t.reason);
                } else {
                    spdlog::warn("check {} is down (was {}): {}", t.check, to_string(t.from), t.reason);
                }
            }
            if (options.on_transition) options.on_transition(t);
        }
        if (just_latched) {
            {
                LogEvent event;
                event.event = "startup";
                const LogEventScope scope(event);
                spdlog::info("startup complete: every critical startup check has passed");
            }
            if (options.on_startup) options.on_startup();
        }
    }

    void worker_loop(const std::shared_ptr<Entry>& entry) {
        Entry& e = *entry;
        std::unique_lock<std::mutex> lock(mu);
        for (;;) {
            e.wake.wait(lock, [&] { return stopping || e.go; });
            if (stopping) return;
            e.go = false;
            const Deadline deadline = e.deadline;
            const TimePoint started = e.started;
            const Duration timeout = e.state.schedule.timeout;
            lock.unlock();

            const TimePoint t0 = stamp();
            Result result;
            try {
                result = e.check->run(deadline);
            } catch (const std::exception& ex) {
                result = Result::fail(std::string("check failed: ") + ex.what());
            } catch (...) {
                result = Result::fail("check failed with an unknown exception");
            }
            const Duration took = stamp() - t0;
            const bool late = SteadyClock::now() > deadline + std::chrono::milliseconds(5);

            lock.lock();
            std::vector<Transition> transitions;
            bool just_latched = false;
            if (!e.overrun_reported) {
                // A result that arrives after the deadline is a timeout, whatever it says.
                apply(e, late ? Result::timeout(timeout) : result, took, transitions, just_latched);
            }
            e.busy = false;
            e.overrun_reported = false;
            const TimePoint now = SteadyClock::now();
            e.next_due = std::max(started + jittered(e.state.schedule.interval), now);
            scheduler_wake.notify_one();
            lock.unlock();
            report(transitions, just_latched);
            lock.lock();
        }
    }

    void scheduler_loop() {
        std::unique_lock<std::mutex> lock(mu);
        while (!stopping) {
            const TimePoint now = SteadyClock::now();
            TimePoint wake_at = now + std::chrono::seconds(1);
            std::vector<Transition> transitions;
            bool just_latched = false;
            for (auto& entry : entries) {
                Entry& e = *entry;
                if (!e.busy && now >= e.next_due) {
                    e.busy = true;
                    e.go = true;
                    e.started = now;
                    e.deadline = now + e.state.schedule.timeout;
                    e.next_due = e.deadline + kOverrunGrace;
                    e.wake.notify_one();
                } else if (e.busy && now >= e.next_due) {
                    // The check overran its deadline and has not returned: report a timeout
                    // now, and again every interval for as long as it stays stuck.
                    apply(e, Result::timeout(e.state.schedule.timeout), now - e.started,
                          transitions, just_latched);
                    if (!e.overrun_reported) {
                        const LogEvent event{"overrun", e.state.name, e.state.kind, {}, {},
                                             "overran its deadline",
                                             std::chrono::duration<double, std::milli>(now - e.started).count()};
                        const LogEventScope scope(event);
                        spdlog::warn("check {} overran its {} ms deadline; its run is abandoned "
                                     "and it will not be started again until it returns",
                                     e.state.name, to_ms(e.state.schedule.timeout));
                    }
                    e.overrun_reported = true;
                    e.next_due = now + e.state.schedule.interval;
                }
                wake_at = std::min(wake_at, e.next_due);
            }
            if (!transitions.empty() || just_latched) {
                lock.unlock();
                report(transitions, just_latched);
                lock.lock();
                continue;
            }
            scheduler_wake.wait_until(lock, wake_at);
        }
    }
};

Prober::Prober(ProberOptions options) : impl_(std::make_unique<Impl>()) {
    if (!options.clock) options.clock = std::make_shared<RealClock>();
    impl_->options = std::move(options);
}

Prober::~Prober() { stop(); }

void Prober::add(std::string name, std::unique_ptr<Check> check, Schedule schedule) {
    if (!check) throw std::invalid_argument("Prober::add: null check");
    if (schedule.rise < 1 || schedule.fall < 1) {
        throw std::invalid_argument("Prober::add: rise and fall must be at least 1");
    }
    if (schedule.interval <= Duration::zero() || schedule.timeout <= Duration::zero()) {
        throw std::invalid_argument("Prober::add: interval and timeout must be positive");
    }
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->started) throw std::logic_error("Prober::add: after start()");
    for (const auto& e : impl_->entries) {
        if (e->state.name == name) throw std::invalid_argument("Prober::add: duplicate " + name);
    }
    auto entry = std::make_shared<Entry>();
    entry->state.name = std::move(name);
    entry->state.kind = check->kind();
    entry->state.schedule = std::move(schedule);
    entry->state.since = impl_->stamp();
    entry->check = std::move(check);
    impl_->entries.push_back(std::move(entry));
    impl_->publish();
}

void Prober::start() {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->started) return;
    impl_->started = true;
    if (impl_->startup_complete()) impl_->latched = true;  // nothing gates startup
    impl_->publish();
    // spdlog creates its registry on first use, inside libspdlog.so. Create it here, before the
    // threads that log exist, rather than racing for it in two of them: the library's guard is
    // not instrumented, so TSan would see that first use as a data race.
    spdlog::default_logger_raw();
    for (auto& entry : impl_->entries) {
        entry->thread = std::thread([impl = impl_.get(), entry] { impl->worker_loop(entry); });
    }
    impl_->scheduler = std::thread([impl = impl_.get()] { impl->scheduler_loop(); });
}

void Prober::stop() {
    {
        std::lock_guard<std::mutex> lock(impl_->mu);
        if (!impl_->started || impl_->stopping) return;
        impl_->stopping = true;
        for (auto& e : impl_->entries) e->wake.notify_one();
        impl_->scheduler_wake.notify_one();
    }
    impl_->scheduler.join();
    // Each worker returns when its current run does, which the run's deadline bounds.
    for (auto& e : impl_->entries) {
        if (e->thread.joinable()) e->thread.join();
    }
}

void Prober::drain() {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->draining) return;
    impl_->draining = true;
    impl_->publish();
    LogEvent event;
    event.event = "drain";
    const LogEventScope scope(event);
    spdlog::info("draining: readiness fails from now on");
}

bool Prober::draining() const {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->draining;
}

std::shared_ptr<const Snapshot> Prober::snapshot() const {
    return std::atomic_load(&impl_->published);
}

TimePoint Prober::now() const { return impl_->stamp(); }

}  // namespace readyprobe
