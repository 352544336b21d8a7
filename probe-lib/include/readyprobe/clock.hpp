// Time, injectable so threshold, latch, drain and staleness logic is tested without sleeping.
#pragma once

#include <readyprobe/spec.hpp>

#include <atomic>
#include <chrono>

namespace readyprobe {

class Clock {
public:
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
};

class RealClock final : public Clock {
public:
    TimePoint now() const override { return SteadyClock::now(); }
};

// A clock that only moves when told to (tests).
class ManualClock final : public Clock {
public:
    TimePoint now() const override { return TimePoint(Duration(ticks_.load())); }
    void advance(Duration d) { ticks_ += d.count(); }

private:
    std::atomic<Duration::rep> ticks_{Duration(std::chrono::hours(1)).count()};
};

}  // namespace readyprobe
