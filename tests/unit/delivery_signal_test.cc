#include "kafka/delivery_signal.h"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

using namespace cmr_bridge;
using namespace std::chrono;

TEST_SUITE("delivery signal") {
  TEST_CASE("a signal set before the wait is seen at once, even with a past deadline") {
    DeliverySignal signal;
    signal.set();
    CHECK(signal.is_set());
    CHECK(signal.wait_until(steady_clock::now() - seconds(1)));
  }

  TEST_CASE("an unset signal times out, and not before its deadline") {
    DeliverySignal signal;
    CHECK_FALSE(signal.wait_until(steady_clock::now() - seconds(1)));
    const auto start = steady_clock::now();
    CHECK_FALSE(signal.wait_until(start + milliseconds(30)));
    CHECK(steady_clock::now() - start >= milliseconds(30));
    CHECK_FALSE(signal.is_set());
  }

  TEST_CASE("a sleeping waiter is woken by set() long before its deadline") {
    DeliverySignal signal;
    std::thread setter([&] {
      std::this_thread::sleep_for(milliseconds(20));
      signal.set();
    });
    const auto start = steady_clock::now();
    CHECK(signal.wait_until(start + seconds(30)));
    CHECK(steady_clock::now() - start < seconds(10));
    setter.join();
  }

  TEST_CASE("a timed-out waiter may wait again and still get the signal") {
    DeliverySignal signal;
    CHECK_FALSE(signal.wait_until(steady_clock::now() + milliseconds(5)));
    std::thread setter([&] { signal.set(); });
    CHECK(signal.wait_until(steady_clock::now() + seconds(30)));
    setter.join();
  }

  TEST_CASE("what the setter wrote before set() is what the waiter reads (many hand-offs)") {
    // Under TSan this also proves the happens-before edge the publisher relies on.
    struct Slot {
      DeliverySignal ready;
      std::string payload;
    };
    constexpr int kRounds = 2000;
    std::vector<Slot> slots(kRounds);
    std::thread setter([&] {
      for (int i = 0; i < kRounds; ++i) {
        slots[i].payload = "report-" + std::to_string(i);
        slots[i].ready.set();
      }
    });
    int seen = 0;
    for (int i = 0; i < kRounds; ++i) {
      REQUIRE(slots[i].ready.wait_until(steady_clock::now() + seconds(30)));
      seen += slots[i].payload == "report-" + std::to_string(i) ? 1 : 0;
    }
    setter.join();
    CHECK(seen == kRounds);
  }
}
