#include <readyprobe/checks.hpp>
#include <readyprobe/log.hpp>
#include <readyprobe/prober.hpp>
#include <readyprobe/state.hpp>

#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <fcntl.h>

namespace readyprobe {

namespace {
// How long past its deadline a check may take to return before the scheduler reports the
// timeout itself and abandons the run (the check's own deadline handling normally wins).
constexpr auto kOverrunGrace = std::chrono::milliseconds(50);
}  // namespace

// Threads: one scheduler, one worker per check, one watcher. The worker is the only thread that
// touches its Check object. The scheduler hands a worker a run (`go`) only when the worker is idle
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
    // The check's kept connections between runs, as the watcher's own dup()s (so a connection
    // the check closes can never be confused with a new file that reuses its number).
    std::vector<int> watched;
    std::uint64_t watch_generation = 0;
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
    std::thread watcher;
    int watcher_wake = -1;     // eventfd: the watched set changed, or stopping
    std::vector<int> to_close; // dups no longer watched; closed by the watcher, never under its poll

    ~Impl() {
        for (int fd : to_close) ::close(fd);
        for (auto& e : entries) {
            for (int fd : e->watched) ::close(fd);
        }
        if (watcher_wake >= 0) ::close(watcher_wake);
    }

    void poke_watcher() const {
        if (watcher_wake < 0) return;
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(watcher_wake, &one, sizeof one);
    }

    // Called with `mu` held.
    void unwatch(Entry& e) {
        if (e.watched.empty()) return;
        to_close.insert(to_close.end(), e.watched.begin(), e.watched.end());
        e.watched.clear();
        ++e.watch_generation;
        poke_watcher();
    }

    // Called with `mu` held, on the worker thread right after a run.
    void watch(Entry& e, const std::vector<int>& fds) {
        unwatch(e);
        for (int fd : fds) {
            const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
            if (copy >= 0) e.watched.push_back(copy);
        }
        ++e.watch_generation;
        poke_watcher();
    }

    // One thread polls every kept connection of every idle check (and its eventfd); no timeout,
    // no busy loop. A peer that closes, resets or writes to an idle connection (PostgreSQL sends
    // a FATAL before it closes) makes that check due at once.
    void watcher_loop() {
        std::unique_lock<std::mutex> lock(mu);
        while (!stopping) {
            for (int fd : to_close) ::close(fd);
            to_close.clear();
            std::vector<pollfd> fds{{watcher_wake, POLLIN, 0}};
            std::vector<std::pair<Entry*, std::uint64_t>> owners{{nullptr, 0}};
            for (auto& entry : entries) {
                for (int fd : entry->watched) {
                    fds.push_back({fd, POLLIN | POLLRDHUP, 0});
                    owners.emplace_back(entry.get(), entry->watch_generation);
                }
            }
            lock.unlock();
            const int rc = ::poll(fds.data(), fds.size(), -1);
            lock.lock();
            if (rc < 0) continue;  // EINTR
            if (fds[0].revents != 0) {
                std::uint64_t count = 0;
                [[maybe_unused]] const auto n = ::read(watcher_wake, &count, sizeof count);
            }
            bool any = false;
            for (std::size_t i = 1; i < fds.size(); ++i) {
                Entry* e = owners[i].first;
                if (fds[i].revents == 0 || e->watch_generation != owners[i].second || e->busy) continue;
                {
                    const LogEvent event{"peer_closed", e->state.name, e->state.kind, {}, {},
                                         "a kept connection was closed by the peer", std::nullopt};
                    const LogEventScope scope(event);
                    spdlog::info("check {}: a kept connection was closed by the peer; running it now",
                                 e->state.name);
                }
                unwatch(*e);
                // At once, but never more often than the fast interval: a check that hands back a
                // connection that is still closed must not spin.
                e->next_due = std::max(SteadyClock::now(),
                                       e->started + std::min(e->state.schedule.fast_interval,
                                                             e->state.schedule.interval));
                any = true;
            }
            if (any) scheduler_wake.notify_one();
        }
    }

    TimePoint stamp() const { return options.clock->now(); }

    // The next run's delay after the newest result (snapshot.hpp's next_run_delay), jittered:
    // 0..jitter extra on a steady cadence; 50-100 % of a backoff delay, so that a fleet retrying
    // a shared database that went away does not come back to it in lock-step.
    Duration delay_after(const CheckState& state) {
        const RunDelay d = next_run_delay(state);
        if (!d.backoff) return jittered(d.delay);
        std::uniform_real_distribution<double> dist(0.5, 1.0);
        return std::chrono::duration_cast<Duration>(d.delay * dist(rng));
    }

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
            unwatch(e);
            lock.unlock();

            const TimePoint t0 = stamp();
            const Result result = run_check(*e.check, deadline, timeout);
            const Duration took = stamp() - t0;
            const std::vector<int> keep = e.check->idle_fds();

            lock.lock();
            std::vector<Transition> transitions;
            bool just_latched = false;
            if (!e.overrun_reported) apply(e, result, took, transitions, just_latched);
            e.busy = false;
            e.overrun_reported = false;
            watch(e, keep);
            const TimePoint now = SteadyClock::now();
            e.next_due = std::max(started + delay_after(e.state), now);
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

void Prober::add(const CheckSpec& spec) { add(spec.name, make_check(spec), spec.schedule); }

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
    impl_->watcher_wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (impl_->watcher_wake < 0) throw std::runtime_error("Prober::start: eventfd failed");
    impl_->watcher = std::thread([impl = impl_.get()] { impl->watcher_loop(); });
}

void Prober::stop() {
    {
        std::lock_guard<std::mutex> lock(impl_->mu);
        if (!impl_->started || impl_->stopping) return;
        impl_->stopping = true;
        for (auto& e : impl_->entries) e->wake.notify_one();
        impl_->scheduler_wake.notify_one();
        impl_->poke_watcher();
    }
    impl_->scheduler.join();
    impl_->watcher.join();
    // Each worker returns when its current run does, which the run's deadline bounds.
    for (auto& e : impl_->entries) {
        if (e->thread.joinable()) e->thread.join();
    }
    // The end of the drain is here, in the library, rather than in the sidecar: an embedding
    // application drains and then stops (or destroys) its Prober just as `serve` does, and gets
    // the same clean-up (a lease deleted) without a call of its own. Every worker has returned,
    // so each check is touched by this thread only.
    bool drained = false;
    {
        std::lock_guard<std::mutex> lock(impl_->mu);
        drained = impl_->draining;
    }
    if (!drained) return;
    for (auto& e : impl_->entries) {
        try {
            e->check->on_drained(SteadyClock::now() + e->state.schedule.timeout);
        } catch (const std::exception& ex) {
            spdlog::warn("check {}: after the drain: {}", e->state.name, ex.what());
        } catch (...) {
        }
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

void add_checks(Prober& prober, const std::vector<CheckSpec>& specs) {
    for (const auto& spec : specs) prober.add(spec);
}

Result run_check(Check& check, Deadline deadline, Duration budget) {
    Result result;
    try {
        result = check.run(deadline);
    } catch (const std::exception& ex) {
        return Result::fail(std::string("check failed: ") + ex.what());
    } catch (...) {
        return Result::fail("check failed with an unknown exception");
    }
    // A result that arrives after the deadline is a timeout, whatever it says.
    if (SteadyClock::now() > deadline + std::chrono::milliseconds(5)) return Result::timeout(budget);
    // deadline_passed() said "timeout[ <where>]"; an application's function check may have worded
    // its timeout itself (Result::timeout: kept as it is).
    if (result.timed_out && result.message.rfind("timeout after ", 0) != 0) {
        std::string where = result.message;
        if (where.rfind("timeout", 0) == 0) where.erase(0, where.size() > 7 && where[7] == ' ' ? 8 : 7);
        return Result::timeout(budget, where);
    }
    return result;
}

}  // namespace readyprobe
