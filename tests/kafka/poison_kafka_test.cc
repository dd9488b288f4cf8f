// Kafka tier: records Kafka can never accept (too large, unknown topic) end in their documented
// state against the real broker, and the requests after them still flow.
#include <doctest/doctest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/signature.h"
#include "support/bridge_process.h"
#include "support/kafka_reader.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;

namespace {

struct PoisonFixture {
  const std::string brokers = test_brokers();
  const std::string prefix = unique_topic_prefix("poison");
  const std::string order = prefix + "order";
  const std::string deadletter = prefix + "dlq";
  const std::string spool_dir = "/tmp/cmr-bridge-poison-spool-" + prefix;

  ~PoisonFixture() { std::filesystem::remove_all(spool_dir); }

  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> base = {
        {"CMR_BRIDGE_SIGNING_KEYS", kTestKey},
        {"CMR_BRIDGE_KAFKA_BROKERS", brokers},
        {"CMR_BRIDGE_TOPIC_ORDER", order},
        {"CMR_BRIDGE_TOPIC_SUBSCRIPTION", prefix + "subscription"},
        {"CMR_BRIDGE_TOPIC_PREWARMUP", prefix + "prewarmup"},
        {"CMR_BRIDGE_TOPIC_DEADLETTER", deadletter},
        {"CMR_BRIDGE_DEDUP_TOPIC", prefix + "dedup"},
        {"CMR_BRIDGE_TOPIC_PARTITIONS", "1"},
        {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "5000"},
    };
    for (const auto& [k, v] : extra)
      base[k] = v;
    return base;
  }

  // A signed order event of `size` bytes (under the 1,048,576-byte body cap, above librdkafka's
  // default message.max.bytes of 1,000,000), padded inside `data`.
  static std::string oversized_order(std::size_t size) {
    std::string body = kDomainOrderSuccess;
    const std::string field = R"("padding":")";
    const auto at = body.find("\"data\":{") + 8;
    body.insert(at, field + std::string(size - body.size() - field.size() - 2, 'x') + "\",");
    return body;
  }

  // The dedup topic read to its end and the topics ready, from the bridge's log. False after a
  // generous bound (a loaded 2-core machine; not a timing check).
  static bool wait_publishing(const BridgeProcess& bridge) {
    constexpr auto kGenerousBound = 60s;
    const auto deadline = std::chrono::steady_clock::now() + kGenerousBound;
    while (std::chrono::steady_clock::now() < deadline) {
      bool warmed = false;
      bool topics = false;
      for (const auto& line : bridge.output_lines()) {
        warmed = warmed || line.find(R"("msg":"dedup topic loaded")") != std::string::npos;
        topics = topics || line.find(R"("msg":"topics prepared")") != std::string::npos;
      }
      if (warmed && topics)
        return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // A bridge started with `extra_env` answers the poison record 422 unpublishable and stores it
  // nowhere, and publishes the next event at once (not spooled, not queued behind it).
  void check_poison_then_flow(const std::map<std::string, std::string>& extra_env) const {
    BridgeProcess bridge(env(extra_env));
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    // With the spool on, /readyz does not wait for the dedup warm-up and the topics, and requests
    // are spooled until then (docs/delivery.md, spool forwarding): this case is about a bridge
    // that publishes. (A poison record spooled in that window is the forwarder's case.)
    REQUIRE(wait_publishing(bridge));
    const std::string poison = oversized_order(1030000);
    REQUIRE(poison.size() == 1030000);
    for (int attempt = 0; attempt < 2; ++attempt) {
      const auto res = post_signed(bridge.port(), poison);
      REQUIRE(res);
      CHECK(res->status == 422);
      CHECK(res->body.find(R"("error":"unpublishable")") != std::string::npos);
      CHECK_FALSE(res->has_header("Retry-After"));
    }
    const auto next = post_signed(bridge.port(), kDomainOrderSuccess);
    REQUIRE(next);
    CHECK(next->status == 200);
    CHECK(next->body.find("spooled") == std::string::npos);
    const auto published = read_topic(brokers, order);
    REQUIRE(published.size() == 1);
    CHECK(published[0].value.size() < 10000);
    CHECK(read_topic(brokers, deadletter).empty());
  }
};

}  // namespace

TEST_SUITE("kafka") {
  TEST_CASE_FIXTURE(PoisonFixture,
                    "a signed event too large for Kafka, spool off: 422 unpublishable, and the "
                    "next event is published") {
    check_poison_then_flow({});
  }

  TEST_CASE_FIXTURE(PoisonFixture,
                    "a signed event too large for Kafka, spool on: never spooled, and the next "
                    "event is published, not queued behind it") {
    check_poison_then_flow({{"CMR_BRIDGE_SPOOL_DIR", spool_dir}});
  }

  TEST_CASE_FIXTURE(PoisonFixture,
                    "an event for a topic that does not exist, topic creation off: dead-lettered "
                    "as publish_rejected, and other events still flow") {
    create_topic(brokers, deadletter, 1);
    create_topic(brokers, prefix + "subscription", 1);
    create_topic(brokers, prefix + "prewarmup", 1);
    create_topic(brokers, prefix + "dedup", 1, {{"cleanup.policy", "compact"}});
    BridgeProcess bridge(env({{"CMR_BRIDGE_CREATE_TOPICS", "false"}}));
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    for (int attempt = 0; attempt < 2; ++attempt) {
      const auto res = post_signed(bridge.port(), kDomainOrderSuccess);
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(res->body.find(R"("reason":"publish_rejected")") != std::string::npos);
    }
    const auto dead = read_topic(brokers, deadletter);
    REQUIRE(dead.size() == 2);
    CHECK(dead[0].value == kDomainOrderSuccess);
    CHECK(dead[0].headers.at("cmr-dlq-reason") == "publish_rejected");
    CHECK(dead[0].headers.at("cmr-dlq-detail").find(order) != std::string::npos);
    const std::string renewal =
        R"({"event":"subscription.renewal.success","eventId":"SUBEVTPOISON0000000000000001","data":{"userId":"PWM7Y25RYZ450YNM8K8FX9GK5AHX","userEmail":"johndoe@company.com","subscriptionId":"SUB9ZQ3Y1K4M7N2P5R8T0V6X3B","workspaceType":"GOOGLE","quantity":3,"autoRenew":true,"periodEnd":"2025-04-08T23:59:59.000Z"}})";
    const auto other = post_signed(bridge.port(), renewal);
    REQUIRE(other);
    CHECK(other->status == 200);
    CHECK(read_topic(brokers, prefix + "subscription").size() == 1);
  }
}
