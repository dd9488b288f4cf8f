#include "kafka/delivery_signal.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

namespace cmr_bridge {
namespace {

uint32_t* futex_word(std::atomic<uint32_t>& state) {
  // std::atomic<uint32_t> is a plain 32-bit word on Linux (static_assert in the header); this is
  // how libstdc++ itself hands atomics to the futex call.
  return reinterpret_cast<uint32_t*>(&state);
}

}  // namespace

void DeliverySignal::set() {
  const uint32_t before = state_.exchange(kSet, std::memory_order_acq_rel);
  if (before == kPendingWithSleeper) {
    syscall(SYS_futex, futex_word(state_), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  }
}

bool DeliverySignal::wait_until(std::chrono::steady_clock::time_point deadline) {
  uint32_t state = state_.load(std::memory_order_acquire);
  while (state != kSet) {
    if (state == kPending &&
        !state_.compare_exchange_weak(state, kPendingWithSleeper, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;  // `state` was reloaded: set meanwhile, or a spurious failure
    }
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero())
      return false;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec relative{};
    relative.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    relative.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    // Sleeps only while the word still says "pending with a sleeper"; EAGAIN (already set),
    // EINTR and ETIMEDOUT all lead back to the check above.
    syscall(SYS_futex, futex_word(state_), FUTEX_WAIT_PRIVATE, kPendingWithSleeper, &relative,
            nullptr, 0);
    state = state_.load(std::memory_order_acquire);
  }
  return true;
}

}  // namespace cmr_bridge
