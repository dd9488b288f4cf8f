// Kafka tier: records Kafka can never accept (unknown topic with topic creation off) end in their
// documented state against the real broker: dead-lettered, else quarantined, else 422; and the
// requests after them still flow. A source's quarantined request is redriven to its source's
// topic.
#include <doctest/doctest.h>
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/signature.h"
#include "core/source_profile.h"
#include "kafka/record_size.h"
#include "spool/quarantine.h"
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
  const std::string quarantine_dir = "/tmp/cmr-bridge-poison-quarantine-" + prefix;
  const std::string sources_config = quarantine_dir + ".sources.json";

  ~PoisonFixture() {
    std::filesystem::remove_all(spool_dir);
    std::filesystem::remove_all(quarantine_dir);
    std::filesystem::remove(sources_config);
  }

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

  // A topic whose max.message.bytes holds the largest record of the default body cap (so the
  // refusals these tests see are the unknown topics', never a size).
  void create_sized_topic(const std::string& topic) const {
    create_topic(brokers, topic, 1,
                 {{"max.message.bytes", std::to_string(largest_record_bytes(1024 * 1024))}});
  }

  // Topic creation off, and neither the order topic nor the dead-letter topic exists: an order
  // event's record and its dead letter are both refused for good (unknown topic). The
  // subscription topic exists, so other events flow; the dedup topic exists, compacted.
  std::map<std::string, std::string> both_refused_env(
      std::map<std::string, std::string> extra = {}) const {
    create_sized_topic(prefix + "subscription");
    create_sized_topic(prefix + "prewarmup");
    create_topic(brokers, prefix + "dedup", 1, {{"cleanup.policy", "compact"}});
    extra["CMR_BRIDGE_CREATE_TOPICS"] = "false";
    return env(extra);
  }

  // The subscription event that must still flow after a poison record.
  static std::string renewal() {
    return R"({"event":"subscription.renewal.success","eventId":"SUBEVTPOISON0000000000000001","data":{"userId":"PWM7Y25RYZ450YNM8K8FX9GK5AHX","userEmail":"johndoe@company.com","subscriptionId":"SUB9ZQ3Y1K4M7N2P5R8T0V6X3B","workspaceType":"GOOGLE","quantity":3,"autoRenew":true,"periodEnd":"2025-04-08T23:59:59.000Z"}})";
  }

  void check_next_event_flows(const BridgeProcess& bridge) const {
    const auto next = post_signed(bridge.port(), renewal());
    REQUIRE(next);
    CHECK(next->status == 200);
    CHECK(next->body.find("spooled") == std::string::npos);
    CHECK(read_topic(brokers, prefix + "subscription").size() == 1);
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

  // The quarantine entries in `dir` (paths, oldest first).
  static std::vector<std::filesystem::path> quarantined(const std::string& dir) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".json")
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  // The one quarantine entry in `dir`, decoded.
  static Result<QuarantinedRequest> only_entry(const std::string& dir) {
    const auto files = quarantined(dir);
    REQUIRE(files.size() == 1);
    std::ifstream in(files[0]);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto entry = decode_quarantine_entry(text);
    REQUIRE(entry);
    return entry;
  }
};

}  // namespace

TEST_SUITE("kafka") {
  TEST_CASE_FIXTURE(PoisonFixture,
                    "record and dead letter both refused for good, no quarantine directory: 422 "
                    "unpublishable, stored nowhere, and the next event is published") {
    BridgeProcess bridge(both_refused_env());
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    for (int attempt = 0; attempt < 2; ++attempt) {
      const auto res = post_signed(bridge.port(), kDomainOrderSuccess);
      REQUIRE(res);
      CHECK(res->status == 422);
      CHECK(res->body.find(R"("error":"unpublishable")") != std::string::npos);
      CHECK_FALSE(res->has_header("Retry-After"));
    }
    check_next_event_flows(bridge);
  }

  TEST_CASE_FIXTURE(PoisonFixture,
                    "record and dead letter both refused for good, with a quarantine directory: "
                    "200 quarantined once the file is durable, and redrive --from-quarantine "
                    "publishes it once the topic exists") {
    const std::string& dir = quarantine_dir;
    const auto environment = both_refused_env({{"CMR_BRIDGE_QUARANTINE_DIR", dir}});
    {
      BridgeProcess bridge(environment);
      REQUIRE(bridge.wait_listening(20s));
      REQUIRE(bridge.wait_ready(60s));
      const auto res = post_signed(bridge.port(), kDomainOrderSuccess);
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(
          res->body ==
          R"({"status":"dead_lettered","reason":"quarantined","eventId":"6SSHBXWR3N4JEKGRQSG3KW3D76N6"})");
      check_next_event_flows(bridge);
      httplib::Client admin("127.0.0.1", bridge.admin_port());
      const auto scrape = admin.Get("/metrics");
      REQUIRE(scrape);
      CHECK(scrape->body.find("\ncmr_bridge_quarantine_records 1\n") != std::string::npos);
    }
    const auto entry = only_entry(dir);
    CHECK(entry->request.body == kDomainOrderSuccess);
    CHECK(entry->reason == "publish_rejected");
    CHECK(entry->event_id == "6SSHBXWR3N4JEKGRQSG3KW3D76N6");
    CHECK(entry->refusal.find(deadletter) != std::string::npos);
    CHECK(read_topic(brokers, order).empty());
    CHECK(read_topic(brokers, deadletter).empty());

    create_sized_topic(order);
    create_sized_topic(deadletter);
    const auto first = run_command({"redrive", "--from-quarantine", dir}, environment);
    CHECK_MESSAGE(first.exit_code == 0, first.out << first.err);
    CHECK_MESSAGE(first.out.find("republished=1") != std::string::npos, first.out << first.err);
    CHECK(quarantined(dir).empty());
    const auto published = read_topic(brokers, order);
    REQUIRE(published.size() == 1);
    CHECK(published[0].value.find("6SSHBXWR3N4JEKGRQSG3KW3D76N6") != std::string::npos);
    CHECK(run_command({"redrive", "--from-quarantine", dir}, environment).exit_code == 0);
    CHECK(read_topic(brokers, order).size() == 1);
  }

  TEST_CASE_FIXTURE(PoisonFixture,
                    "a source's request whose record and dead letter are refused for good is "
                    "quarantined naming its source, and redrive --from-quarantine publishes it "
                    "on that source's topic") {
    const std::string& dir = quarantine_dir;
    const std::string source_topic = prefix + "gh.events";
    const std::string key = "poison github secret";
    std::ofstream(sources_config) << R"({"sources": [{"name": "gh", "profile": "github",
        "keys_env": "POISON_GH_KEYS", "routes": [{"match": "*", "topic": ")" +
                                         source_topic + R"("}]}]})";
    const auto environment = both_refused_env({{"CMR_BRIDGE_QUARANTINE_DIR", dir},
                                               {"CMR_BRIDGE_CONFIG_FILE", sources_config},
                                               {"POISON_GH_KEYS", key}});
    const std::string body = R"({"action":"opened","issue":{"number":7}})";
    const std::string delivery = "delivery-" + prefix;
    auto headers = sign_for_profile(VerificationProfile::kGithub, key, delivery, "", body);
    REQUIRE(headers);
    headers->emplace_back("X-GitHub-Event", "issues");
    {
      BridgeProcess bridge(environment);
      REQUIRE(bridge.wait_listening(20s));
      REQUIRE(bridge.wait_ready(60s));
      httplib::Client client("127.0.0.1", bridge.port());
      httplib::Headers sent;
      for (const auto& [name, value] : *headers)
        sent.emplace(name, value);
      const auto res = client.Post("/webhooks/gh", sent, body, "application/json");
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(res->body.find(R"("reason":"quarantined")") != std::string::npos);
    }
    const auto entry = only_entry(dir);
    CHECK(entry->request.source == "gh");
    CHECK(entry->request.delivery_id == delivery);
    CHECK(entry->request.event_type == "issues");
    CHECK(entry->request.body == body);

    create_sized_topic(source_topic);
    create_sized_topic(deadletter);
    const auto others =
        run_command({"redrive", "--from-quarantine", dir, "--source", "cmr"}, environment);
    CHECK_MESSAGE(others.exit_code == 0, others.out << others.err);
    CHECK_MESSAGE(others.out.find("skipped=1") != std::string::npos, others.out << others.err);
    CHECK(quarantined(dir).size() == 1);
    const auto redriven =
        run_command({"redrive", "--from-quarantine", dir, "--source", "gh"}, environment);
    CHECK_MESSAGE(redriven.exit_code == 0, redriven.out << redriven.err);
    CHECK_MESSAGE(redriven.out.find("republished=1") != std::string::npos,
                  redriven.out << redriven.err);
    CHECK(redriven.out.find(R"("source":"gh")") != std::string::npos);
    CHECK(quarantined(dir).empty());
    const auto published = read_topic(brokers, source_topic);
    REQUIRE(published.size() == 1);
    CHECK(published[0].value.find(R"("id":")" + delivery + R"(")") != std::string::npos);
    CHECK(read_topic(brokers, order).empty());
    CHECK(read_topic(brokers, deadletter).empty());
  }

  TEST_CASE_FIXTURE(PoisonFixture,
                    "record and dead letter both refused for good, spool on: quarantined in the "
                    "spool's quarantine directory, never spooled, and the next event flows") {
    BridgeProcess bridge(both_refused_env({{"CMR_BRIDGE_SPOOL_DIR", spool_dir}}));
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    // With the spool on, /readyz does not wait for the dedup warm-up and the topics, and requests
    // are spooled until then (docs/delivery.md, spool forwarding): this case is about a bridge
    // that publishes. (A poison record spooled in that window is the forwarder's case.)
    REQUIRE(wait_publishing(bridge));
    const auto res = post_signed(bridge.port(), kDomainOrderSuccess);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body.find(R"("reason":"quarantined")") != std::string::npos);
    CHECK(quarantined(spool_dir + "/quarantine").size() == 1);
    check_next_event_flows(bridge);
  }

  TEST_CASE_FIXTURE(PoisonFixture,
                    "a full quarantine answers 503 quarantine_full with Retry-After, never 200, "
                    "and keeps nothing new") {
    const std::string& dir = quarantine_dir;
    // A directory already at its cap when the bridge starts (one entry of 1 MiB).
    std::filesystem::create_directories(dir);
    std::ofstream(std::filesystem::path(dir) / "q-00000000000000000001-000000.json")
        << std::string(1048576, 'x');
    BridgeProcess bridge(both_refused_env(
        {{"CMR_BRIDGE_QUARANTINE_DIR", dir}, {"CMR_BRIDGE_QUARANTINE_MAX_BYTES", "1048576"}}));
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    const auto res = post_signed(bridge.port(), kDomainOrderSuccess);
    REQUIRE(res);
    CHECK(res->status == 503);
    CHECK(res->body.find(R"("error":"quarantine_full")") != std::string::npos);
    CHECK(res->has_header("Retry-After"));
    CHECK(quarantined(dir).size() == 1);
  }

  TEST_CASE_FIXTURE(PoisonFixture,
                    "an event for a topic that does not exist, topic creation off: dead-lettered "
                    "as publish_rejected, and other events still flow") {
    create_sized_topic(deadletter);
    BridgeProcess bridge(both_refused_env());
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
    check_next_event_flows(bridge);
  }
}
