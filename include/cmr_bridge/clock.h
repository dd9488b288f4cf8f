// Time source seam. The core never reads the system clock directly, so tests can pin "now".
#pragma once

#include <chrono>

namespace cmr_bridge {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time; must be safe to call from any thread.
  virtual std::chrono::system_clock::time_point now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace cmr_bridge
