// Kafka tier: the start-up rule for record sizes (src/kafka/record_size.h) against the real
// broker: a body at the cap is publishable with the defaults, and a topic or producer setting
// too small for it stops the start with a message naming both settings.
#include <doctest/doctest.h>
#include <httplib.h>

#include <chrono>
#include <cstdint>

#include "kafka/kafka_admin.h"
#include "kafka/record_size.h"
#include "support/bridge_process.h"
#include "support/kafka_reader.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;

namespace {

// A signed order event of exactly `size` bytes, padded inside `data` with letters and digits
// from a fixed-seed generator: lz4 cannot shrink it, so the broker sees its full size.
std::string incompressible_order(std::size_t size) {
  std::string body = kDomainOrderSuccess;
  const std::string field = R"("padding":")";
  const auto at = body.find("\"data\":{") + 8;
  std::string padding(size - body.size() - field.size() - 2, ' ');
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (char& c : padding) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    c = kAlphabet[(state >> 33) % 62];
  }
  body.insert(at, field + padding + "\",");
  return body;
}

bool output_has(const BridgeProcess& bridge, const std::string& text) {
  for (const auto& line : bridge.output_lines()) {
    if (line.find(text) != std::string::npos)
      return true;
  }
  return false;
}

struct RecordSizeFixture {
  const std::string brokers = test_brokers();
  const std::string prefix = unique_topic_prefix("size");

  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> base = {
        {"CMR_BRIDGE_SIGNING_KEYS", kTestKey},      {"CMR_BRIDGE_KAFKA_BROKERS", brokers},
        {"CMR_BRIDGE_TOPIC_PREFIX", prefix},        {"CMR_BRIDGE_TOPIC_PARTITIONS", "1"},
        {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "5000"},
    };
    for (const auto& [k, v] : extra)
      base[k] = v;
    return base;
  }
};

}  // namespace

TEST_SUITE("kafka") {
  TEST_CASE_FIXTURE(RecordSizeFixture,
                    "an incompressible signed event just under the default body cap is published: "
                    "the producer and the topics the bridge creates fit the largest record") {
    BridgeProcess bridge(env());
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    const std::string body = incompressible_order(1048000);
    const auto res = post_signed(bridge.port(), body);
    REQUIRE(res);
    CHECK_MESSAGE(res->status == 200, res->body);
    CHECK(res->body.find(R"("status":"accepted")") != std::string::npos);
    const auto published = read_topic(brokers, prefix + "order.events");
    REQUIRE(published.size() == 1);
    CHECK(published[0].value.size() > 1048000);
    CHECK(output_has(bridge, "producer message.max.bytes raised to fit the largest record"));

    KafkaSettings kafka;
    kafka.brokers = brokers;
    auto admin = KafkaAdmin::create(kafka);
    REQUIRE(admin);
    for (const char* topic : {"order.events", "webhooks.deadletter"}) {
      const auto limit = (*admin)->topic_config(prefix + topic, "max.message.bytes", 10s);
      REQUIRE(limit);
      CHECK(limit.value() == std::to_string(largest_record_bytes(1024 * 1024)));
    }
  }

  TEST_CASE_FIXTURE(RecordSizeFixture,
                    "an existing topic whose max.message.bytes is below the largest record stops "
                    "the start (exit 1), naming the topic and both settings") {
    create_topic(brokers, prefix + "order.events", 1, {{"max.message.bytes", "500000"}});
    BridgeProcess bridge(env());
    CHECK(bridge.wait_exit(60s) == 1);
    CHECK(output_has(bridge, "topic " + prefix + "order.events has max.message.bytes=500000"));
    CHECK(output_has(bridge, "CMR_BRIDGE_MAX_BODY_BYTES (1048576)"));
  }

  TEST_CASE_FIXTURE(RecordSizeFixture,
                    "the same topic serves once CMR_BRIDGE_MAX_BODY_BYTES leaves room for the "
                    "record overhead") {
    create_topic(brokers, prefix + "order.events", 1, {{"max.message.bytes", "500000"}});
    BridgeProcess bridge(env({{"CMR_BRIDGE_MAX_BODY_BYTES", "480000"}}));
    REQUIRE(bridge.wait_listening(20s));
    CHECK(bridge.wait_ready(60s));
    const auto res = post_signed(bridge.port(), incompressible_order(470000));
    REQUIRE(res);
    CHECK_MESSAGE(res->status == 200, res->body);
    CHECK(read_topic(brokers, prefix + "order.events").size() == 1);
  }

  TEST_CASE_FIXTURE(RecordSizeFixture,
                    "CMR_BRIDGE_KAFKA_PROP_message.max.bytes below the largest record is a "
                    "configuration error (exit 2) naming both settings") {
    BridgeProcess bridge(env({{"CMR_BRIDGE_KAFKA_PROP_message.max.bytes", "1000000"}}));
    CHECK(bridge.wait_exit(30s) == 2);
    CHECK(output_has(bridge,
                     "CMR_BRIDGE_KAFKA_PROP_message.max.bytes (1000000) is below "
                     "CMR_BRIDGE_MAX_BODY_BYTES (1048576)"));
  }
}
