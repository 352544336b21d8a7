// Polling helper for unit tests that run real threads.
#pragma once

#include <readyprobe/clock.hpp>

#include <chrono>
#include <thread>

namespace rptest_unit {

// Polls `pred` until it holds or `limit` passes; returns whether it held.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) {
    const auto deadline = readyprobe::SteadyClock::now() + limit;
    while (readyprobe::SteadyClock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return pred();
}

}  // namespace rptest_unit
