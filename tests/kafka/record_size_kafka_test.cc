// Kafka tier: the start-up rule for record sizes (src/kafka/record_size.h) against the real
// broker: a body at the cap is publishable with the defaults; an existing topic too small for it
// is warned about and gauged, and its refused records dead-lettered; a producer setting too small
// for it stops the start with a message naming both settings.
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
                    "an existing topic whose max.message.bytes is below the largest record does "
                    "not stop the start: warned, gauged, and a record it refuses is dead-lettered "
                    "while smaller ones are published") {
    const std::string order = prefix + "order.events";
    create_topic(brokers, order, 1, {{"max.message.bytes", "500000"}});
    BridgeProcess bridge(env());
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    CHECK(output_has(bridge, R"("msg":"topic max.message.bytes below the largest record")"));
    CHECK(output_has(bridge, R"("topic":")" + order + R"(","max_message_bytes":"500000")"));
    CHECK(output_has(bridge, R"("largest_record_bytes":1064960)"));
    httplib::Client admin("127.0.0.1", bridge.admin_port());
    const auto scrape = admin.Get("/metrics");
    REQUIRE(scrape);
    CHECK(scrape->body.find("cmr_bridge_topic_max_message_bytes_too_small{topic=\"" + order +
                            "\"} 1\n") != std::string::npos);
    CHECK(scrape->body.find("cmr_bridge_topic_max_message_bytes_too_small{topic=\"" + prefix +
                            "webhooks.deadletter\"} 0\n") != std::string::npos);

    const std::string too_large = incompressible_order(600000);
    const auto refused = post_signed(bridge.port(), too_large);
    REQUIRE(refused);
    CHECK_MESSAGE(refused->status == 200, refused->body);
    CHECK(refused->body.find(R"("status":"dead_lettered","reason":"publish_rejected")") !=
          std::string::npos);
    const auto dead = read_topic(brokers, prefix + "webhooks.deadletter");
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].value == too_large);

    std::string small = kDomainOrderSuccess;
    const std::string id = "6SSHBXWR3N4JEKGRQSG3KW3D76N6";
    small.replace(small.find(id), id.size(), "6SSHBXWR3N4JEKGRQSG3KW3D76N7");
    const auto published = post_signed(bridge.port(), small);
    REQUIRE(published);
    CHECK_MESSAGE(published->status == 200, published->body);
    CHECK(published->body.find(R"("status":"accepted")") != std::string::npos);
    CHECK(read_topic(brokers, order).size() == 1);
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
