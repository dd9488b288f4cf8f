#include "spool/spool_forwarder.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "log/logger.h"
#include "support/fakes.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
namespace fs = std::filesystem;
using namespace std::chrono;

namespace {

// A broker the test switches on and off from its own thread while the forwarder publishes.
class SwitchablePublisher final : public Publisher {
 public:
  DeliveryReport publish(const Record& record, milliseconds) override {
    DeliveryReport report;
    report.topic = record.topic;
    if (acking.load()) {
      report.status = DeliveryStatus::kDelivered;
      report.offset = static_cast<int64_t>(delivered.fetch_add(1));
    } else {
      report.status = DeliveryStatus::kTimedOut;
      report.error = "Local: Message timed out";
    }
    return report;
  }
  std::atomic<bool> acking{false};
  std::atomic<uint64_t> delivered{0};
};

struct ForwarderFixture {
  fs::path dir;
  FixedClock clock{system_clock::time_point(seconds(1709942399))};
  SwitchablePublisher publisher;
  NullObserver observer;
  TopicNames topics;
  RouteTable routes = RouteTable::defaults(topics);
  std::unique_ptr<SignatureVerifier> verifier =
      SignatureVerifier::create({"forwarder-test-key"}, SignatureScheme::kAuto).value();
  IngestPipeline pipeline{PipelineSettings{},
                          {.verifier = *verifier,
                           .routes = routes,
                           .schemas = nullptr,
                           .publisher = publisher,
                           .clock = clock,
                           .observer = observer}};

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
  // `records` spooled requests and a forwarder that met Kafka away on the first of them and
  // now sits in an hour's back-off: from here only a drain forwards anything.
  std::unique_ptr<SpoolForwarder> forwarder_in_back_off(FileSpool& spool, int records) {
    for (int i = 0; i < records; ++i) {
      const std::string body = R"({"event":"domain.order.success","eventId":"E)" +
                               std::to_string(i) + R"(","data":{"orderId":"O1","userId":"U"}})";
      REQUIRE(spool.append({body, "1709942399", "body-hex", system_clock::now()}) ==
              SpoolAppendResult::kDurable);
    }
    auto forwarder = std::make_unique<SpoolForwarder>(spool, pipeline, hours(1));
    // No deadline asserted here: ctest's timeout is the bound.
    while (forwarder->errors() == 0)
      std::this_thread::sleep_for(milliseconds(1));
    return forwarder;
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
    CHECK(publisher.delivered == 5);
    CHECK(spool->stats().records == 0);
  }

  TEST_CASE_FIXTURE(ForwarderFixture,
                    "when Kafka does not acknowledge at shutdown the drain stops at once and "
                    "every record stays on disk for the next start") {
    {
      auto spool = open_spool();
      CHECK(forwarder_in_back_off(*spool, 3)->drain_and_stop(hours(1)) == 3);
    }
    CHECK(publisher.delivered == 0);
    CHECK(open_spool()->recovery().records == 3);
  }

  TEST_CASE_FIXTURE(ForwarderFixture,
                    "a drain whose budget is spent forwards nothing more and reports the rest") {
    auto spool = open_spool();
    auto forwarder = forwarder_in_back_off(*spool, 4);
    publisher.acking = true;

    CHECK(forwarder->drain_and_stop(milliseconds(0)) == 4);
    CHECK(publisher.delivered == 0);
  }
}
