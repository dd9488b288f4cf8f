// Kafka tier, idempotency: the dedup cache backed by the compacted marker topic, across
// concurrent requests, restarts and two bridge processes, against the real broker.
#include <doctest/doctest.h>
#include <httplib.h>
#include <openssl/sha.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "core/dedup_cache.h"
#include "core/signature.h"
#include "kafka/dedup_topic.h"
#include "kafka/kafka_admin.h"
#include "support/bridge_process.h"
#include "support/kafka_reader.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;

namespace {

struct DedupFixture {
  const std::string brokers = test_brokers();
  const std::string prefix = unique_topic_prefix("d");

  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> base = {
        {"CMR_BRIDGE_SIGNING_KEYS", kTestKey},      {"CMR_BRIDGE_KAFKA_BROKERS", brokers},
        {"CMR_BRIDGE_TOPIC_PREFIX", prefix},        {"CMR_BRIDGE_TOPIC_PARTITIONS", "3"},
        {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "5000"},
    };
    for (const auto& [k, v] : extra)
      base[k] = v;
    return base;
  }
  std::string order_topic() const { return prefix + "order.events"; }
  std::string dlq_topic() const { return prefix + "webhooks.deadletter"; }

  static std::unique_ptr<BridgeProcess> start(const std::map<std::string, std::string>& env) {
    auto bridge = std::make_unique<BridgeProcess>(env);
    REQUIRE(bridge->wait_listening(20s));
    REQUIRE(bridge->wait_ready(60s));
    return bridge;
  }

  static httplib::Result post(int port, const std::string& body) { return post_signed(port, body); }
  // The value of an unlabelled gauge, once it equals `want` (polled up to 10 s); else the last.
  // Polls /metrics until the gauge reads `want`. The bound is generous on purpose (a loaded
  // 2-core CI machine with the broker on it): the reader rechecks partitions every 5 s, so the
  // slowest case is two rechecks plus a metadata round trip and a fetch; it is not a timing check.
  static std::string gauge_once(int admin_port, const std::string& name, const std::string& want) {
    constexpr auto kGenerousBound = 60s;
    const auto deadline = std::chrono::steady_clock::now() + kGenerousBound;
    std::string value = "(absent)";
    for (bool first = true; value != want && std::chrono::steady_clock::now() < deadline;
         first = false) {
      if (!first)
        std::this_thread::sleep_for(100ms);
      httplib::Client admin("127.0.0.1", admin_port);
      const auto res = admin.Get("/metrics");
      if (!res)
        continue;
      const auto at = res->body.find("\n" + name + " ");
      if (at != std::string::npos) {
        const auto start = at + name.size() + 2;
        value = res->body.substr(start, res->body.find('\n', start) - start);
      }
    }
    return value;
  }
  static std::string status_of(const httplib::Result& res) {
    if (!res)
      return "no response";
    const auto at = res->body.find("\"status\":\"");
    return std::to_string(res->status) + " " +
           (at == std::string::npos
                ? res->body
                : res->body.substr(at + 10, res->body.find('"', at + 10) - at - 10));
  }
};

}  // namespace

TEST_SUITE("kafka dedup") {
  TEST_CASE_FIXTURE(DedupFixture,
                    "sequential retries of an accepted event are duplicates: one record") {
    auto bridge = start(env());
    CHECK(status_of(post(bridge->port(), kDomainOrderSuccess)) == "200 accepted");
    CHECK(status_of(post(bridge->port(), kDomainOrderSuccess)) == "200 duplicate");
    CHECK(status_of(post(bridge->port(), kDomainOrderSuccess)) == "200 duplicate");
    CHECK(read_topic(brokers, order_topic()).size() == 1);
  }

  TEST_CASE_FIXTURE(DedupFixture, "16 parallel identical deliveries produce exactly one record") {
    auto bridge = start(env());
    std::vector<std::string> statuses(16);
    std::vector<std::thread> senders;
    for (std::size_t i = 0; i < statuses.size(); ++i) {
      senders.emplace_back(
          [&, i] { statuses[i] = status_of(post(bridge->port(), kDomainOrderSuccess)); });
    }
    for (auto& t : senders)
      t.join();
    int accepted = 0;
    for (const auto& s : statuses) {
      CAPTURE(s);
      CHECK((s == "200 accepted" || s == "200 duplicate"));
      accepted += s == "200 accepted";
    }
    CHECK(accepted == 1);
    CHECK(read_topic(brokers, order_topic()).size() == 1);
  }

  TEST_CASE_FIXTURE(DedupFixture,
                    "an event accepted before a restart is still a duplicate after it") {
    {
      auto first = start(env());
      CHECK(status_of(post(first->port(), kDomainOrderSuccess)) == "200 accepted");
      first->signal(SIGTERM);
      CHECK(first->wait_exit(20s) == 0);
    }
    auto second = start(env());
    CHECK(status_of(post(second->port(), kDomainOrderSuccess)) == "200 duplicate");
    CHECK(read_topic(brokers, order_topic()).size() == 1);
    httplib::Client admin("127.0.0.1", second->admin_port());
    const auto metrics = admin.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->body.find("cmr_bridge_dedup_markers_loaded 1") != std::string::npos);
  }

  TEST_CASE_FIXTURE(
      DedupFixture,
      "two bridges on one broker: a retry landing on the other replica is a duplicate") {
    auto a = start(env());
    auto b = start(env());
    CHECK(status_of(post(a->port(), kDomainOrderSuccess)) == "200 accepted");
    // The sender retries ~30 s later; B applies A's marker well before (tailing, ~100 ms).
    CHECK(gauge_once(b->admin_port(), "cmr_bridge_dedup_markers_loaded", "1") == "1");
    CHECK(status_of(post(b->port(), kDomainOrderSuccess)) == "200 duplicate");
    CHECK(read_topic(brokers, order_topic()).size() == 1);
    // A read its own marker back and skipped it: the marker names A's writer id.
    CHECK(gauge_once(a->admin_port(), "cmr_bridge_dedup_own_markers_skipped", "1") == "1");
    CHECK(gauge_once(a->admin_port(), "cmr_bridge_dedup_markers_loaded", "0") == "0");
    CHECK(gauge_once(b->admin_port(), "cmr_bridge_dedup_own_markers_skipped", "0") == "0");
    const auto markers = read_topic(brokers, prefix + "webhooks.dedup");
    REQUIRE(markers.size() == 1);
    CHECK(markers[0].headers.at("cmr-dedup-writer").size() == 32);

    // The documented marker: key = eventId, value {"firstSeen","bodyHash","topic","partition",
    // "offset"} naming where the event was published; bodyHash = SHA-256(body)[0..8) in hex.
    CHECK(markers[0].key == "6SSHBXWR3N4JEKGRQSG3KW3D76N6");
    const auto published = read_topic(brokers, order_topic());
    REQUIRE(published.size() == 1);
    rapidjson::Document marker;
    marker.Parse(markers[0].value.c_str());
    REQUIRE_MESSAGE(marker.IsObject(), markers[0].value);
    CHECK(marker.MemberCount() == 5);
    REQUIRE(marker.HasMember("firstSeen"));
    CHECK(marker["firstSeen"].IsString());
    REQUIRE(marker.HasMember("bodyHash"));
    REQUIRE(marker["bodyHash"].IsString());
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(kDomainOrderSuccess.data()),
           kDomainOrderSuccess.size(), digest);
    std::string expected_hash;
    for (int i = 0; i < 8; ++i) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", digest[i]);
      expected_hash += hex;
    }
    CHECK(std::string(marker["bodyHash"].GetString()) == expected_hash);
    REQUIRE(marker.HasMember("topic"));
    REQUIRE(marker["topic"].IsString());
    CHECK(std::string(marker["topic"].GetString()) == order_topic());
    REQUIRE(marker.HasMember("partition"));
    REQUIRE(marker["partition"].IsInt());
    CHECK(marker["partition"].GetInt() == published[0].partition);
    REQUIRE(marker.HasMember("offset"));
    REQUIRE(marker["offset"].IsInt64());
    CHECK(marker["offset"].GetInt64() == published[0].offset);
  }

  TEST_CASE_FIXTURE(DedupFixture,
                    "partitions added to the marker topic while running are read too") {
    const std::string dedup_topic = prefix + "webhooks.dedup";
    create_topic(brokers, dedup_topic, 1, {{"cleanup.policy", "compact,delete"}});
    auto bridge = start(env());
    add_partitions(brokers, dedup_topic, 2);
    // Another replica's marker for this event, in the partition that did not exist at start.
    DedupMarker marker;
    marker.event_id = "6SSHBXWR3N4JEKGRQSG3KW3D76N6";
    marker.body_fingerprint = body_fingerprint(kDomainOrderSuccess);
    marker.first_seen = std::chrono::system_clock::now();
    marker.topic = order_topic();
    produce_to_partition(brokers, dedup_topic, 1, marker.event_id, encode_dedup_marker(marker));
    // The reader looks for new partitions every 5 s.
    const bool loaded =
        gauge_once(bridge->admin_port(), "cmr_bridge_dedup_markers_loaded", "1") == "1";
    if (!loaded) {
      for (const auto& line : bridge->output_lines())
        if (line.find("dedup") != std::string::npos)
          MESSAGE(line);
    }
    CHECK(loaded);
    CHECK(status_of(post(bridge->port(), kDomainOrderSuccess)) == "200 duplicate");
    CHECK(read_topic(brokers, order_topic()).empty());
  }

  TEST_CASE_FIXTURE(DedupFixture,
                    "a failed publish releases the claim; the retry lands exactly once") {
    // A transient failure: the order topic disappears under a running bridge (topic creation on,
    // so an unknown topic is transient) and the publish times out; then the topic is back.
    // (An absent topic with creation off is a permanent refusal: dead-lettered, see poison tests.)
    create_topic(brokers, prefix + "webhooks.dedup", 3, {{"cleanup.policy", "compact,delete"}});
    auto bridge =
        std::make_unique<BridgeProcess>(env({{"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "1500"}}));
    REQUIRE(bridge->wait_listening(20s));
    REQUIRE(bridge->wait_ready(60s));
    delete_topic(brokers, order_topic());
    const auto refused = post(bridge->port(), kDomainOrderSuccess);
    CHECK_MESSAGE(status_of(refused).rfind("503", 0) == 0, (refused ? refused->body : "no answer"));
    create_topic(brokers, order_topic(), 3);
    std::string status;
    for (int attempt = 0; attempt < 10 && status != "200 accepted"; ++attempt) {
      status = status_of(post(bridge->port(), kDomainOrderSuccess));
      if (status != "200 accepted")
        std::this_thread::sleep_for(500ms);
    }
    CHECK(status == "200 accepted");
    CHECK(status_of(post(bridge->port(), kDomainOrderSuccess)) == "200 duplicate");
    CHECK(read_topic(brokers, order_topic()).size() == 1);
  }

  TEST_CASE_FIXTURE(
      DedupFixture,
      "the same eventId with another body is dead-lettered as a conflict, not republished") {
    auto bridge = start(env());
    CHECK(status_of(post(bridge->port(), kDomainOrderSuccess)) == "200 accepted");
    std::string changed = kDomainOrderSuccess;
    changed.replace(changed.find("15.88"), 5, "99.99");
    const auto res = post(bridge->port(), changed);
    REQUIRE(status_of(res) == "200 dead_lettered");
    CHECK(res->body.find("eventid_conflict") != std::string::npos);
    CHECK(read_topic(brokers, order_topic()).size() == 1);
    const auto dlq = read_topic(brokers, dlq_topic());
    REQUIRE(dlq.size() == 1);
    CHECK(dlq[0].value == changed);
    CHECK(dlq[0].headers.at("cmr-dlq-reason") == "eventid_conflict");
  }

  TEST_CASE_FIXTURE(DedupFixture,
                    "a dedup topic that is not compacted stops the bridge with exit code 1") {
    create_topic(brokers, prefix + "webhooks.dedup", 1, {{"cleanup.policy", "delete"}});
    BridgeProcess bridge(env());
    REQUIRE(bridge.wait_listening(20s));
    CHECK(bridge.wait_exit(30s) == 1);
    bool named = false;
    for (const auto& line : bridge.output_lines()) {
      named = named || (line.find("\"fatal\"") != std::string::npos &&
                        line.find(prefix + "webhooks.dedup") != std::string::npos);
    }
    CHECK(named);
  }

  TEST_CASE_FIXTURE(DedupFixture,
                    "topics are created with the configured configs; the dedup topic compacted, "
                    "with one partition") {
    auto bridge = start(env({{"CMR_BRIDGE_TOPIC_CONFIGS", "retention.ms=123456789"}}));
    KafkaSettings kafka;
    kafka.brokers = brokers;
    auto created = KafkaAdmin::create(kafka);
    REQUIRE(created);
    KafkaAdmin& admin = *created.value();
    const auto config_value = [&](const std::string& topic, const std::string& name) {
      auto value = admin.topic_config(topic, name, 10s);
      return value ? value.value() : "error: " + value.error().message();
    };
    CHECK(config_value(order_topic(), "retention.ms") == "123456789");
    CHECK(config_value(prefix + "webhooks.dedup", "cleanup.policy") == "compact,delete");
    CHECK(config_value(prefix + "webhooks.dedup", "retention.ms") == "604800000");
    CHECK(partition_count(brokers, order_topic()) == 3);  // CMR_BRIDGE_TOPIC_PARTITIONS
    CHECK(partition_count(brokers, prefix + "webhooks.dedup") == 1);
  }
}
