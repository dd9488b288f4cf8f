#include "core/dedup_cache.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/fakes.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono;

namespace {
const auto kStart = system_clock::time_point(seconds(1'700'000'000));
steady_clock::time_point soon() {
  return steady_clock::now() + milliseconds(200);
}
EventKey key(int i) {
  return event_key("EVENT-" + std::to_string(i));
}
}  // namespace

TEST_SUITE("dedup cache") {
  TEST_CASE("identity hashes are stable across processes (SHA-256 prefixes)") {
    // python3: hashlib.sha256(b"...").digest(), first two 8-byte words read little-endian
    const EventKey k = event_key("6SSHBXWR3N4JEKGRQSG3KW3D76N6");
    CHECK(k.hi == 0x47e43dad1fb18c3aULL);
    CHECK(k.lo == 0xa704bf73f02d78b0ULL);
    CHECK(body_fingerprint("abc") == 0xeacf018fbf1678baULL);
    CHECK_FALSE(k == event_key("6SSHBXWR3N4JEKGRQSG3KW3D76N7"));
    CHECK(body_fingerprint("a") != body_fingerprint("b"));
  }

  TEST_CASE("claim, complete, then the same event is a duplicate and a different body a conflict") {
    ManualClock clock(kStart);
    DedupCache cache({100, hours(1)}, clock);
    CHECK(cache.claim_or_wait(key(1), 11, soon()) == DedupResult::kClaimed);
    CHECK(cache.in_flight() == 1);
    cache.complete(key(1), 11);
    CHECK(cache.in_flight() == 0);
    CHECK(cache.size() == 1);
    CHECK(cache.claim_or_wait(key(1), 11, soon()) == DedupResult::kDuplicate);
    CHECK(cache.claim_or_wait(key(1), 12, soon()) == DedupResult::kConflict);
  }

  TEST_CASE("a released claim can be claimed again, so a retry after a failed publish succeeds") {
    ManualClock clock(kStart);
    DedupCache cache({100, hours(1)}, clock);
    CHECK(cache.claim_or_wait(key(1), 11, soon()) == DedupResult::kClaimed);
    cache.release(key(1));
    CHECK(cache.size() == 0);
    CHECK(cache.claim_or_wait(key(1), 11, soon()) == DedupResult::kClaimed);
  }

  TEST_CASE("while held, a second claim waits and then sees the first one's outcome") {
    ManualClock clock(kStart);
    DedupCache cache({100, hours(1)}, clock);
    REQUIRE(cache.claim_or_wait(key(1), 11, soon()) == DedupResult::kClaimed);
    CHECK(cache.claim_or_wait(key(1), 11, steady_clock::now() + milliseconds(20)) ==
          DedupResult::kInFlight);
    CHECK(cache.claim_or_wait(key(1), 99, soon()) == DedupResult::kConflict);

    std::thread completer([&] {
      std::this_thread::sleep_for(milliseconds(30));
      cache.complete(key(1), 11);
    });
    CHECK(cache.claim_or_wait(key(1), 11, steady_clock::now() + seconds(5)) ==
          DedupResult::kDuplicate);
    completer.join();

    REQUIRE(cache.claim_or_wait(key(2), 22, soon()) == DedupResult::kClaimed);
    std::thread releaser([&] {
      std::this_thread::sleep_for(milliseconds(30));
      cache.release(key(2));
    });
    CHECK(cache.claim_or_wait(key(2), 22, steady_clock::now() + seconds(5)) ==
          DedupResult::kClaimed);
    releaser.join();
  }

  TEST_CASE("N concurrent claims of one event: exactly one wins, the rest see duplicates") {
    ManualClock clock(kStart);
    DedupCache cache({100, hours(1)}, clock);
    std::atomic<int> claimed{0};
    std::atomic<int> duplicates{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&] {
        const auto status = cache.claim_or_wait(key(7), 77, steady_clock::now() + seconds(5));
        if (status == DedupResult::kClaimed) {
          ++claimed;
          std::this_thread::sleep_for(milliseconds(10));
          cache.complete(key(7), 77);
        } else if (status == DedupResult::kDuplicate) {
          ++duplicates;
        }
      });
    }
    for (auto& t : threads)
      t.join();
    CHECK(claimed == 1);
    CHECK(duplicates == 15);
  }

  TEST_CASE("entries expire after the TTL") {
    ManualClock clock(kStart);
    DedupCache cache({100, seconds(60)}, clock);
    cache.claim_or_wait(key(1), 1, soon());
    cache.complete(key(1), 1);
    clock.advance(seconds(60));
    CHECK(cache.claim_or_wait(key(1), 1, soon()) == DedupResult::kDuplicate);
    clock.advance(seconds(1));
    CHECK(cache.claim_or_wait(key(1), 1, soon()) == DedupResult::kClaimed);
  }

  TEST_CASE("at capacity the oldest entry is evicted first") {
    ManualClock clock(kStart);
    DedupCache cache({3, hours(1)}, clock);
    for (int i = 0; i < 4; ++i) {
      REQUIRE(cache.claim_or_wait(key(i), i, soon()) == DedupResult::kClaimed);
      cache.complete(key(i), i);
      clock.advance(seconds(1));
    }
    CHECK(cache.size() == 3);
    CHECK(cache.claim_or_wait(key(3), 3, soon()) == DedupResult::kDuplicate);
    CHECK(cache.claim_or_wait(key(2), 2, soon()) == DedupResult::kDuplicate);
    CHECK(cache.claim_or_wait(key(1), 1, soon()) == DedupResult::kDuplicate);
    CHECK(cache.claim_or_wait(key(0), 0, soon()) == DedupResult::kClaimed);  // evicted
  }

  TEST_CASE("the index stays consistent through heavy wrap-around and eviction") {
    ManualClock clock(kStart);
    DedupCache cache({1000, hours(1)}, clock);
    for (int i = 0; i < 20000; ++i)
      cache.insert_done(key(i), i, kStart);
    CHECK(cache.size() == 1000);
    for (int i = 0; i < 19000; i += 97) {
      CAPTURE(i);
      CHECK(cache.claim_or_wait(key(i), i, soon()) == DedupResult::kClaimed);
      cache.release(key(i));
    }
    for (int i = 19000; i < 20000; ++i) {
      CAPTURE(i);
      CHECK(cache.claim_or_wait(key(i), i, soon()) == DedupResult::kDuplicate);
    }
  }

  TEST_CASE("markers replayed from the topic are idempotent and expired ones are skipped") {
    ManualClock clock(kStart);
    DedupCache cache({100, seconds(60)}, clock);
    cache.insert_done(key(1), 1, kStart - seconds(10));
    cache.insert_done(key(1), 1, kStart - seconds(10));
    cache.insert_done(key(2), 2, kStart - seconds(61));
    CHECK(cache.size() == 1);
    CHECK(cache.claim_or_wait(key(1), 1, soon()) == DedupResult::kDuplicate);
    CHECK(cache.claim_or_wait(key(2), 2, soon()) == DedupResult::kClaimed);
  }

  TEST_CASE("an expired entry behind a newer one is replaced when its eventId comes again") {
    ManualClock clock(kStart);
    DedupCache cache({100, seconds(60)}, clock);
    // Markers carry the original receive time: key 1 (older) sits behind key 2 (newer) in the
    // ring, so expiry from the head stops at key 2 and leaves key 1 in place.
    cache.insert_done(key(2), 2, kStart);
    cache.insert_done(key(1), 1, kStart - seconds(50));
    clock.advance(seconds(20));
    CHECK_FALSE(cache.lookup_done(key(1), 1));

    SUBCASE("published again") {
      REQUIRE(cache.claim_or_wait(key(1), 1, soon()) == DedupResult::kClaimed);
      cache.complete(key(1), 1);
      CHECK(cache.lookup_done(key(1), 1) == DedupResult::kDuplicate);
      CHECK(cache.claim_or_wait(key(1), 1, soon()) == DedupResult::kDuplicate);
      CHECK(cache.lookup_done(key(2), 2) == DedupResult::kDuplicate);
      // The replacement outlives the stale ring slot: evicting that slot leaves it indexed.
      clock.advance(seconds(45));
      cache.complete(key(3), 3);
      CHECK(cache.lookup_done(key(1), 1) == DedupResult::kDuplicate);
      clock.advance(seconds(16));
      CHECK_FALSE(cache.lookup_done(key(1), 1));
    }
    SUBCASE("a newer marker arrives from the topic") {
      cache.insert_done(key(1), 1, kStart + seconds(15));
      CHECK(cache.lookup_done(key(1), 1) == DedupResult::kDuplicate);
    }
  }

  TEST_CASE("memory reserved stays under 64 bytes per entry") {
    ManualClock clock(kStart);
    for (std::size_t capacity : {1000u, 1'000'000u, 5'000'000u}) {
      DedupCache cache({capacity, hours(1)}, clock);
      CAPTURE(capacity);
      CHECK(cache.reserved_bytes() / capacity <= 48);
    }
  }
}
