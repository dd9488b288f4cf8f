// Kafka tier: a fatal error of the idempotent producer (raised through librdkafka's
// rd_kafka_test_fatal_error() on the real producer, against the real broker) ends in the
// documented state: the bridge reports it once through on_fatal (serve exits 1 on it),
// /healthz fails, and no request is answered 200 without being durable.
#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "app/bridge.h"
#include "kafka/kafka_publisher.h"
#include "log/logger.h"
#include "support/kafka_reader.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;

namespace {

const std::string kSecondOrder = [] {
  std::string body = kDomainOrderSuccess;
  const std::string id = "6SSHBXWR3N4JEKGRQSG3KW3D76N6";
  body.replace(body.find(id), id.size(), "FATAL0000000000000000000002");
  return body;
}();

// Records every on_fatal call; thread-safe (the producer's poll thread calls it).
struct FatalRecorder {
  std::mutex mutex;
  std::vector<std::string> reasons;
  void operator()(const std::string& reason) {
    std::lock_guard lock(mutex);
    reasons.push_back(reason);
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mutex);
    return reasons;
  }
};

struct FatalFixture {
  const std::string brokers = test_brokers();
  const std::string prefix = unique_topic_prefix("fatal");
  const std::string spool_dir = "/tmp/cmr-bridge-fatal-spool-" + prefix;
  FatalRecorder fatal;

  ~FatalFixture() { std::filesystem::remove_all(spool_dir); }

  std::map<std::string, std::string> env() const {
    return {{"CMR_BRIDGE_SIGNING_KEYS", kTestKey},
            {"CMR_BRIDGE_KAFKA_BROKERS", brokers},
            {"CMR_BRIDGE_TOPIC_PREFIX", prefix},
            {"CMR_BRIDGE_TOPIC_PARTITIONS", "1"},
            {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "5000"},
            {"CMR_BRIDGE_LISTEN", "127.0.0.1:0"},
            {"CMR_BRIDGE_ADMIN_LISTEN", "127.0.0.1:0"},
            {"CMR_BRIDGE_SCHEMA_DIR", std::string(CMR_BRIDGE_SOURCE_DIR) + "/schemas"}};
  }

  std::unique_ptr<Bridge> build(std::map<std::string, std::string> environment) {
    auto state = load_startup_state("cmr-bridge", std::move(environment));
    REQUIRE(state);
    auto built = Bridge::build(
        std::move(*state),
        {.role = BridgeRole::kServe, .publisher = nullptr, .on_fatal = std::ref(fatal)});
    REQUIRE(built);
    return std::move(built).value();
  }

  static bool wait_ready(int admin_port) {
    httplib::Client admin("127.0.0.1", admin_port);
    for (int attempt = 0; attempt < 600; ++attempt) {
      const auto res = admin.Get("/readyz");
      if (res && res->status == 200)
        return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // Raises the fatal error and waits (bounded) until on_fatal has seen it.
  void raise_fatal(Bridge& bridge) {
    REQUIRE(bridge.kafka_publisher()->raise_fatal_error_for_test());
    for (int attempt = 0; attempt < 200 && fatal.seen().empty(); ++attempt)
      std::this_thread::sleep_for(50ms);
    const auto reasons = fatal.seen();
    REQUIRE(reasons.size() == 1);
    CHECK(reasons[0].find("OUT_OF_ORDER_SEQUENCE_NUMBER") != std::string::npos);
  }
};

}  // namespace

TEST_SUITE("kafka") {
  TEST_CASE_FIXTURE(FatalFixture,
                    "a fatal producer error: on_fatal once, /healthz fails, later events get 503 "
                    "and are not on Kafka") {
    auto bridge = build(env());
    const auto ports = bridge->listen();
    REQUIRE(ports);
    REQUIRE(wait_ready(ports->admin));
    httplib::Client admin("127.0.0.1", ports->admin);
    const auto first = post_signed(ports->webhook, kDomainOrderSuccess);
    REQUIRE(first);
    CHECK(first->status == 200);
    const auto healthy = admin.Get("/healthz");
    REQUIRE(healthy);
    CHECK(healthy->status == 200);

    raise_fatal(*bridge);
    CHECK(bridge->kafka_publisher()->fatal());
    const auto failing = admin.Get("/healthz");
    REQUIRE(failing);
    CHECK(failing->status == 503);
    CHECK(failing->body == R"({"status":"failing","checks":{"kafka_producer":false}})");
    for (int attempt = 0; attempt < 2; ++attempt) {
      const auto refused = post_signed(ports->webhook, kSecondOrder);
      REQUIRE(refused);
      CHECK(refused->status == 503);
      CHECK(refused->body.find(R"("error":"delivery_failed")") != std::string::npos);
    }
    bridge->shutdown(false);
    const auto published = read_topic(brokers, prefix + "order.events");
    REQUIRE(published.size() == 1);
    CHECK(published[0].value.find("FATAL0000000000000000000002") == std::string::npos);
    CHECK(fatal.seen().size() == 1);
  }

  TEST_CASE_FIXTURE(FatalFixture,
                    "a fatal producer error with the spool on: later events are spooled (200 only "
                    "once fsync'd) and published once by the next start") {
    auto environment = env();
    environment["CMR_BRIDGE_SPOOL_DIR"] = spool_dir;
    {
      auto bridge = build(environment);
      const auto ports = bridge->listen();
      REQUIRE(ports);
      REQUIRE(wait_ready(ports->admin));
      raise_fatal(*bridge);
      const auto spooled = post_signed(ports->webhook, kSecondOrder);
      REQUIRE(spooled);
      CHECK(spooled->status == 200);
      CHECK(spooled->body.find(R"("spooled":true)") != std::string::npos);
      bridge->shutdown(false);
    }
    CHECK(read_topic(brokers, prefix + "order.events").empty());
    // The restarted process (what Kubernetes does after the exit) forwards the spool.
    auto restarted = build(environment);
    REQUIRE(restarted->listen());
    std::vector<ConsumedRecord> published;
    for (int attempt = 0; attempt < 100 && published.empty(); ++attempt) {
      std::this_thread::sleep_for(200ms);
      published = read_topic(brokers, prefix + "order.events");
    }
    restarted->shutdown();
    published = read_topic(brokers, prefix + "order.events");
    REQUIRE(published.size() == 1);
    CHECK(published[0].value.find("FATAL0000000000000000000002") != std::string::npos);
  }
}
