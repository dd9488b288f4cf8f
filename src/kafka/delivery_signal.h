// A one-shot, set-once event for handing one delivery report from librdkafka's poll thread to
// the request thread that waits for it, built on a Linux futex.
//
// Why not a mutex + condition_variable: with one of those per record, the waker holds the mutex
// while it notifies, so the woken request thread wakes only to block again on the mutex (two more
// futex calls and a context switch per event, measured as the largest avoidable cost on the
// publish path). Here the waker never blocks, and makes no system call at all when the report
// arrives before the waiter went to sleep.
//
// Contract: set() is called at most once, by any thread; wait_until() by one thread. What the
// setter wrote before set() is visible to the waiter after wait_until() returned true.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cmr_bridge {

class DeliverySignal {
 public:
  DeliverySignal() = default;
  DeliverySignal(const DeliverySignal&) = delete;
  DeliverySignal& operator=(const DeliverySignal&) = delete;

  void set();
  // True once set; false when `deadline` passed first.
  bool wait_until(std::chrono::steady_clock::time_point deadline);
  bool is_set() const { return state_.load(std::memory_order_acquire) == kSet; }

 private:
  static constexpr uint32_t kPending = 0;
  static constexpr uint32_t kPendingWithSleeper = 1;
  static constexpr uint32_t kSet = 2;
  std::atomic<uint32_t> state_{kPending};
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
};

}  // namespace cmr_bridge
