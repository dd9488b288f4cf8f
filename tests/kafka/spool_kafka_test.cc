// Kafka tier, the spool forwarder against the real broker: a spool recovered at start is
// forwarded only once publishing is ready, many records at a time, once each and in order per
// key; and with the spool on, nothing is published before the dedup marker topic was read.
#include <doctest/doctest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "core/dedup_cache.h"
#include "kafka/dedup_topic.h"
#include "log/logger.h"
#include "spool/file_spool.h"
#include "support/bridge_process.h"
#include "support/kafka_reader.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Bound for waits on the bridge (a loaded 2-core CI machine with the broker on it); not a
// timing check.
constexpr auto kGenerousBound = 120s;

// A 28-character id of the documented form: `tag` then `n`, zero-padded.
std::string padded_id(const std::string& tag, int n) {
  const std::string digits = std::to_string(n);
  return tag + std::string(28 - tag.size() - digits.size(), '0') + digits;
}

// The documented domain.order.success with its eventId and orderId (the Kafka key) replaced.
std::string order_event(const std::string& event_id, const std::string& order_id) {
  std::string body = kDomainOrderSuccess;
  body.replace(body.find("6SSHBXWR3N4JEKGRQSG3KW3D76N6"), 28, event_id);
  body.replace(body.find("NQ682GAVFTMYC2H6C87PPKPG5WXV"), 28, order_id);
  return body;
}

struct SpoolKafkaFixture {
  const std::string brokers = test_brokers();
  const std::string prefix = unique_topic_prefix("s");
  fs::path spool_dir;

  SpoolKafkaFixture() {
    char templ[] = "/tmp/cmr-spool-kafka-XXXXXX";
    spool_dir = mkdtemp(templ);
    set_log_fd(-1);
  }
  ~SpoolKafkaFixture() {
    std::error_code ec;
    fs::remove_all(spool_dir, ec);
    set_log_fd(1);
  }
  std::map<std::string, std::string> env(const std::string& delivery_timeout_ms) const {
    return {{"CMR_BRIDGE_SIGNING_KEYS", kTestKey},
            {"CMR_BRIDGE_KAFKA_BROKERS", brokers},
            {"CMR_BRIDGE_TOPIC_PREFIX", prefix},
            {"CMR_BRIDGE_TOPIC_PARTITIONS", "3"},
            {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", delivery_timeout_ms},
            {"CMR_BRIDGE_SPOOL_DIR", spool_dir.string()}};
  }
  std::string order_topic() const { return prefix + "order.events"; }

  // Polls /metrics until `name` reads `want` (bounded); returns the last value read.
  static std::string wait_metric(int admin_port, const std::string& name, const std::string& want) {
    const auto deadline = std::chrono::steady_clock::now() + kGenerousBound;
    std::string value = "(absent)";
    while (value != want && std::chrono::steady_clock::now() < deadline) {
      httplib::Client admin("127.0.0.1", admin_port);
      if (const auto res = admin.Get("/metrics")) {
        const auto at = res->body.find("\n" + name + " ");
        if (at != std::string::npos) {
          const auto start = at + name.size() + 2;
          value = res->body.substr(start, res->body.find('\n', start) - start);
        }
      }
      if (value != want)
        std::this_thread::sleep_for(50ms);
    }
    return value;
  }
  // Index of the first output line containing `text`, or -1.
  static long first_line_with(const BridgeProcess& bridge, const std::string& text) {
    const auto lines = bridge.output_lines();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find(text) != std::string::npos)
        return static_cast<long>(i);
    }
    return -1;
  }
  static bool logged(const BridgeProcess& bridge, const std::string& text) {
    return first_line_with(bridge, text) >= 0;
  }
};

}  // namespace

TEST_SUITE("kafka spool") {
  TEST_CASE_FIXTURE(SpoolKafkaFixture,
                    "a recovered spool is forwarded once publishing is ready: every record once, "
                    "in spool order per key, with a short delivery timeout") {
    constexpr int kKeys = 25;
    constexpr int kPerKey = 12;
    std::vector<std::string> spooled_ids;
    {
      auto spool = FileSpool::open({spool_dir.string()});
      REQUIRE(spool);
      for (int i = 0; i < kKeys * kPerKey; ++i) {
        const std::string id = padded_id("SP", i);
        REQUIRE((*spool)->append({order_event(id, padded_id("KEY", i % kKeys)), unix_seconds_now(),
                                  "body-hex", std::chrono::system_clock::now()}) ==
                SpoolAppendResult::kDurable);
        spooled_ids.push_back(id);
      }
    }
    BridgeProcess bridge(env("1500"));
    REQUIRE(bridge.wait_listening(20s));
    CHECK(wait_metric(bridge.admin_port(), "cmr_bridge_spool_records", "0") == "0");

    const auto records = read_topic(brokers, order_topic());
    std::set<std::string> distinct;
    std::map<std::string, std::vector<std::pair<int64_t, std::string>>> by_key;
    for (const auto& record : records) {
      const auto at = record.value.find("\"SP");
      REQUIRE(at != std::string::npos);
      const std::string id = record.value.substr(at + 1, 28);
      distinct.insert(id);
      by_key[record.key].push_back({record.offset, id});
    }
    CHECK(records.size() == spooled_ids.size());
    CHECK(distinct.size() == spooled_ids.size());
    // One key lives in one partition: its offsets follow the spool order.
    CHECK(by_key.size() == static_cast<std::size_t>(kKeys));
    for (auto& [key, offsets] : by_key) {
      std::sort(offsets.begin(), offsets.end());
      std::vector<std::string> ids;
      for (const auto& [offset, id] : offsets)
        ids.push_back(id);
      CAPTURE(key);
      CHECK(std::is_sorted(ids.begin(), ids.end()));
    }
    // Forwarding began only after the marker topic was read and the topics' metadata was known.
    const long starts = first_line_with(bridge, "spool forwarding starts");
    CHECK(starts > first_line_with(bridge, "dedup topic loaded"));
    CHECK(starts > first_line_with(bridge, "topics prepared"));
    CHECK(first_line_with(bridge, "dedup topic loaded") >= 0);
    CHECK(first_line_with(bridge, "topics prepared") >= 0);
    CHECK_FALSE(logged(bridge, "possibly persisted"));
  }

  TEST_CASE_FIXTURE(SpoolKafkaFixture,
                    "with the spool on, an event whose marker is already on the marker topic is "
                    "never published again, even when posted as soon as the bridge listens") {
    const std::string dedup_topic = prefix + "webhooks.dedup";
    create_topic(brokers, dedup_topic, 1, {{"cleanup.policy", "compact,delete"}});
    const std::string event_id = padded_id("WARM", 1);
    const std::string body = order_event(event_id, padded_id("KEY", 1));
    DedupMarker marker;
    marker.event_id = event_id;
    marker.body_fingerprint = body_fingerprint(body);
    marker.first_seen = std::chrono::system_clock::now();
    marker.topic = order_topic();
    marker.partition = 0;
    marker.offset = 0;
    produce_to_partition(brokers, dedup_topic, 0, event_id, encode_dedup_marker(marker));

    BridgeProcess bridge(env("5000"));
    REQUIRE(bridge.wait_listening(20s));
    const auto answer = post_signed(bridge.port(), body);
    REQUIRE(answer);
    CAPTURE(answer->body);
    CHECK(answer->status == 200);
    const bool spooled = answer->body.find("\"spooled\":true") != std::string::npos;
    MESSAGE("answer: " << (spooled ? "spooled (publishing not ready yet)" : "duplicate"));
    CHECK((spooled || answer->body.find("\"duplicate\"") != std::string::npos));
    // Whatever was spooled is forwarded after the warm-up, and found to be a duplicate then.
    REQUIRE(bridge.wait_ready(kGenerousBound));
    CHECK(wait_metric(bridge.admin_port(), "cmr_bridge_spool_records", "0") == "0");
    CHECK(post_signed(bridge.port(), body)->body.find("\"duplicate\"") != std::string::npos);
    CHECK(read_topic(brokers, order_topic()).empty());
  }
}
