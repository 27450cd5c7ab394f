// The real Clock and Sleeper.

#include <algorithm>
#include <thread>

#include "llmkit/resilience.h"

namespace llmkit {
namespace {

class SystemClockImpl final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::now();
  }
};

class RealSleeperImpl final : public Sleeper {
 public:
  bool Sleep(std::chrono::nanoseconds duration, const Cancellation* cancellation) override {
    auto end = std::chrono::steady_clock::now() + duration;
    while (true) {
      if (cancellation != nullptr && cancellation->cancelled()) return false;
      auto now = std::chrono::steady_clock::now();
      if (now >= end) return true;
      std::this_thread::sleep_for(
          std::min<std::chrono::nanoseconds>(end - now, std::chrono::milliseconds(10)));
    }
  }
};

}  // namespace

std::shared_ptr<Clock> SystemClock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SystemClockImpl>();
  return clock;
}

std::shared_ptr<Sleeper> RealSleeper() {
  static const std::shared_ptr<Sleeper> sleeper = std::make_shared<RealSleeperImpl>();
  return sleeper;
}

}  // namespace llmkit
