#include "spool/spool_forwarder.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "log/logger.h"
#include "support/fakes.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
namespace fs = std::filesystem;
using namespace std::chrono;

namespace {

// Bounds for waits on other threads. Not timing checks: a healthy run passes each at once; the
// bound only ends a run that would otherwise hang, on a loaded 2-core machine.
constexpr auto kGenerousBound = seconds(60);

template <typename Predicate>
bool eventually(Predicate predicate) {
  const auto deadline = steady_clock::now() + kGenerousBound;
  while (!predicate()) {
    if (steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// "EVT000123" for 123: fixed width, so one eventId is never a prefix of another.
std::string event_id(int i) {
  std::string digits = std::to_string(i);
  return "EVT" + std::string(6 - digits.size(), '0') + digits;
}

std::string order_body(int i, const std::string& order_id) {
  return R"({"event":"domain.order.success","eventId":")" + event_id(i) +
         R"(","data":{"orderId":")" + order_id + R"(","userId":"U"}})";
}

// A broker the test scripts from its own thread while the forwarder publishes from many: it can
// be switched off, hold every publish until released, or fail chosen eventIds a number of times.
// Records who published what, in which order, and how many were in flight (per key too).
class ScriptedPublisher final : public Publisher {
 public:
  DeliveryReport publish(const Record& record, milliseconds) override {
    const std::string id = record.value.substr(record.value.find("EVT"), 9);
    std::unique_lock lock(mutex_);
    ++in_flight_;
    max_in_flight = std::max(max_in_flight, in_flight_);
    if (++in_flight_per_key_[record.key] > 1)
      same_key_overlaps++;
    attempts.push_back(id);
    changed_.notify_all();
    changed_.wait(lock, [this] { return !holding; });
    DeliveryReport report;
    report.topic = record.topic;
    const bool fail = !acking || (fail_times.count(id) > 0 && fail_times[id]-- > 0);
    if (fail) {
      report.status = DeliveryStatus::kTimedOut;
      report.error = "Local: Message timed out";
    } else {
      report.status = DeliveryStatus::kDelivered;
      report.offset = static_cast<int64_t>(delivered_order.size());
      delivered_order.push_back(id);
      delivered_keys.push_back(record.key);
    }
    --in_flight_;
    --in_flight_per_key_[record.key];
    changed_.notify_all();
    return report;
  }

  // Waits (bounded) until `n` publishes are held at once.
  bool wait_in_flight(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kGenerousBound, [&] { return in_flight_ >= n; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    holding = false;
    changed_.notify_all();
  }
  template <typename F>
  auto with_lock(F f) {
    std::lock_guard lock(mutex_);
    return f();
  }

  // Set before the forwarder starts, or read under with_lock().
  std::atomic<bool> acking{true};
  bool holding = false;
  std::map<std::string, int> fail_times;  // eventId → how many attempts fail
  std::vector<std::string> attempts;      // eventIds in the order publish() was called
  std::vector<std::string> delivered_order;
  std::vector<std::string> delivered_keys;
  int max_in_flight = 0;
  int same_key_overlaps = 0;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int in_flight_ = 0;
  std::map<std::string, int> in_flight_per_key_;
};

struct ForwarderFixture {
  fs::path dir;
  FixedClock clock{system_clock::time_point(seconds(1709942399))};
  ScriptedPublisher publisher;
  NullObserver observer;
  TopicNames topics;
  RouteTable routes = RouteTable::defaults(topics);
  std::unique_ptr<SignatureVerifier> verifier =
      SignatureVerifier::create({"forwarder-test-key"}, SignatureScheme::kAuto).value();
  DedupCache dedup{{1000, hours(24)}, clock};
  // Without dedup: what the forwarder itself guarantees, with no duplicate check to hide behind.
  IngestPipeline pipeline{PipelineSettings{},
                          {.verifier = *verifier,
                           .routes = routes,
                           .schemas = nullptr,
                           .publisher = publisher,
                           .clock = clock,
                           .observer = observer}};
  IngestPipeline deduped{PipelineSettings{},
                         {.verifier = *verifier,
                          .routes = routes,
                          .schemas = nullptr,
                          .publisher = publisher,
                          .clock = clock,
                          .observer = observer,
                          .dedup = &dedup}};

  ForwarderFixture() {
    char templ[] = "/tmp/cmr-forwarder-test-XXXXXX";
    dir = mkdtemp(templ);
    set_log_fd(-1);
  }
  ~ForwarderFixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
    set_log_fd(1);
  }
  std::unique_ptr<FileSpool> open_spool() const {
    auto spool = FileSpool::open({dir.string()});
    REQUIRE_MESSAGE(spool, (spool ? "" : spool.error().message()));
    return std::move(spool).value();
  }
  // Spools record i with Kafka key order_ids[i].
  static void spool_orders(FileSpool& spool, const std::vector<std::string>& order_ids) {
    for (std::size_t i = 0; i < order_ids.size(); ++i) {
      REQUIRE(spool.append({order_body(static_cast<int>(i), order_ids[i]), "1709942399", "body-hex",
                            system_clock::now()}) == SpoolAppendResult::kDurable);
    }
  }
  static std::vector<std::string> distinct_keys(int n) {
    std::vector<std::string> keys;
    for (int i = 0; i < n; ++i)
      keys.push_back("O" + std::to_string(i));
    return keys;
  }
  std::unique_ptr<SpoolForwarder> forwarder(FileSpool& spool, std::size_t window,
                                            milliseconds backoff = milliseconds(10),
                                            const IngestPipeline* through = nullptr) {
    return std::make_unique<SpoolForwarder>(spool, through ? *through : pipeline,
                                            SpoolForwarderSettings{window, backoff, nullptr});
  }
  // `records` spooled requests and a forwarder that met Kafka away and now sits in an hour's
  // back-off: from here only a drain forwards anything.
  std::unique_ptr<SpoolForwarder> forwarder_in_back_off(FileSpool& spool, int records) {
    spool_orders(spool, std::vector<std::string>(static_cast<std::size_t>(records), "O1"));
    publisher.acking = false;
    auto started = forwarder(spool, 64, hours(1));
    REQUIRE(eventually([&] { return started->errors() > 0; }));
    return started;
  }
};

}  // namespace

TEST_SUITE("spool forwarder") {
  TEST_CASE_FIXTURE(ForwarderFixture,
                    "at shutdown the forwarder empties the spool while Kafka acknowledges, "
                    "without waiting out its back-off") {
    auto spool = open_spool();
    auto forwarder = forwarder_in_back_off(*spool, 5);
    publisher.acking = true;

    CHECK(forwarder->drain_and_stop(minutes(10)) == 0);
    CHECK(publisher.delivered_order.size() == 5);
    CHECK(spool->stats().records == 0);
  }

  TEST_CASE_FIXTURE(ForwarderFixture,
                    "when Kafka does not acknowledge at shutdown the drain stops at once and "
                    "every record stays on disk for the next start") {
    {
      auto spool = open_spool();
      CHECK(forwarder_in_back_off(*spool, 3)->drain_and_stop(hours(1)) == 3);
    }
    CHECK(publisher.delivered_order.empty());
    CHECK(open_spool()->recovery().records == 3);
  }

  TEST_CASE_FIXTURE(ForwarderFixture,
                    "a drain whose budget is spent forwards nothing more and reports the rest") {
    auto spool = open_spool();
    auto forwarder = forwarder_in_back_off(*spool, 4);
    publisher.acking = true;

    CHECK(forwarder->drain_and_stop(milliseconds(0)) == 4);
    CHECK(publisher.delivered_order.empty());
  }

  TEST_CASE_FIXTURE(ForwarderFixture,
                    "a drain that begins before publishing is ready waits for it within its "
                    "budget, then forwards") {
    std::atomic<bool> ready{false};
    auto spool = open_spool();
    spool_orders(*spool, distinct_keys(5));
    SpoolForwarder forwarding(*spool, pipeline,
                              {8, milliseconds(10), [&] { return ready.load(); }});
    std::thread kafka_back([&] {
      std::this_thread::sleep_for(milliseconds(100));
      ready = true;
    });
    CHECK(forwarding.drain_and_stop(minutes(10)) == 0);
    kafka_back.join();
    CHECK(publisher.delivered_order.size() == 5);
  }

  TEST_CASE_FIXTURE(ForwarderFixture,
                    "many records are in flight at once, never more than the window") {
    auto spool = open_spool();
    spool_orders(*spool, distinct_keys(40));
    publisher.holding = true;
    auto forwarding = forwarder(*spool, 8);

    CHECK(publisher.wait_in_flight(8));
    // Nothing is committed while the oldest record has no answer.
    CHECK(spool->stats().records == 40);
    publisher.release();
    CHECK(forwarding->drain_and_stop(minutes(10)) == 0);
    CHECK(publisher.max_in_flight == 8);
    CHECK(forwarding->peak_in_flight() == 8);
    CHECK(publisher.delivered_order.size() == 40);
  }

  TEST_CASE_FIXTURE(ForwarderFixture,
                    "records of one Kafka key are never in flight together and reach Kafka in "
                    "spool order; other keys pass them") {
    auto spool = open_spool();
    std::vector<std::string> keys;
    for (int i = 0; i < 60; ++i)
      keys.push_back(i % 3 == 0 ? "HOT" : "O" + std::to_string(i));
    spool_orders(*spool, keys);
    auto forwarding = forwarder(*spool, 16);

    CHECK(forwarding->drain_and_stop(minutes(10)) == 0);
    CHECK(publisher.same_key_overlaps == 0);
    std::vector<std::string> hot_order;
    std::vector<std::string> hot_expected;
    for (std::size_t i = 0; i < publisher.delivered_order.size(); ++i) {
      if (publisher.delivered_keys[i] == "HOT")
        hot_order.push_back(publisher.delivered_order[i]);
    }
    for (int i = 0; i < 60; i += 3)
      hot_expected.push_back(event_id(i));
    CHECK(hot_order == hot_expected);
  }

  TEST_CASE_FIXTURE(ForwarderFixture,
                    "a failed record is retried first and alone, a later record of its key "
                    "never overtakes it, and records already delivered are not sent again") {
    auto spool = open_spool();
    std::vector<std::string> keys = distinct_keys(20);
    keys[5] = keys[0];  // record 5 waits for record 0
    publisher.fail_times[event_id(0)] = 2;
    spool_orders(*spool, keys);
    auto forwarding = forwarder(*spool, 8);

    CHECK(eventually([&] { return spool->stats().records == 0; }));
    forwarding->stop();
    CHECK(forwarding->errors() == 2);
    // Every record delivered exactly once (no dedup here to hide a second copy).
    const auto delivered = publisher.delivered_order;
    CHECK(delivered.size() == 20);
    CHECK(std::set<std::string>(delivered.begin(), delivered.end()).size() == 20);
    // Attempts of record 0: the first (failed), then two retries back to back, alone (nothing
    // else was sent between them), the last delivered; record 5 was sent once, after that.
    const auto& attempts = publisher.attempts;
    std::vector<std::size_t> attempts_of_0;
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      if (attempts[i] == event_id(0))
        attempts_of_0.push_back(i);
    }
    REQUIRE(attempts_of_0.size() == 3);
    CHECK(attempts_of_0[2] == attempts_of_0[1] + 1);
    const auto attempt_of_5 = std::find(attempts.begin(), attempts.end(), event_id(5));
    CHECK(std::count(attempts.begin(), attempts.end(), event_id(5)) == 1);
    CHECK(static_cast<std::size_t>(attempt_of_5 - attempts.begin()) > attempts_of_0[2]);
    CHECK(attempts.size() == 22);
  }

  TEST_CASE_FIXTURE(ForwarderFixture,
                    "records delivered but not committed when the forwarder stopped are "
                    "duplicates on the next start, not second copies") {
    std::vector<std::string> keys = distinct_keys(10);
    publisher.fail_times[event_id(0)] = 1000;
    {
      auto spool = open_spool();
      spool_orders(*spool, keys);
      // A window wider than the spool: all ten are sent before the first failure stops it.
      auto forwarding = forwarder(*spool, 16, hours(1), &deduped);
      REQUIRE(eventually([&] {
        return publisher.with_lock([&] { return publisher.delivered_order.size() == 9; });
      }));
      forwarding->stop();
      CHECK(spool->stats().records == 10);  // the head failed: nothing committed
    }
    publisher.fail_times.clear();
    auto reopened = open_spool();
    REQUIRE(reopened->recovery().records == 10);
    // The same dedup cache: what the marker topic gives the next process.
    CHECK(forwarder(*reopened, 8, milliseconds(10), &deduped)->drain_and_stop(minutes(10)) == 0);
    const auto delivered = publisher.delivered_order;
    CHECK(delivered.size() == 10);
    CHECK(std::set<std::string>(delivered.begin(), delivered.end()).size() == 10);
    CHECK(delivered.back() == event_id(0));
  }

  TEST_CASE_FIXTURE(ForwarderFixture,
                    "nothing is forwarded before publishing is ready (dedup warm-up, topic "
                    "metadata); a drain whose budget ends first leaves every record on disk") {
    std::atomic<bool> ready{false};
    const SpoolForwarderSettings waiting{8, milliseconds(10), [&] { return ready.load(); }};
    {
      auto spool = open_spool();
      spool_orders(*spool, distinct_keys(5));
      SpoolForwarder forwarding(*spool, pipeline, waiting);
      CHECK(forwarding.drain_and_stop(milliseconds(100)) == 5);
    }
    CHECK(publisher.attempts.empty());
    auto spool = open_spool();
    SpoolForwarder forwarding(*spool, pipeline, waiting);
    // Long enough for an unguarded forwarder to have sent all five many times over.
    std::this_thread::sleep_for(milliseconds(200));
    CHECK(publisher.with_lock([&] { return publisher.attempts.size(); }) == 0);
    ready = true;
    CHECK(eventually([&] { return spool->stats().records == 0; }));
    CHECK(publisher.with_lock([&] { return publisher.delivered_order.size(); }) == 5);
  }
}
