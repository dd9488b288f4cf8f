// Kafka tier: the real cmr-bridge binary against the real local broker. Each case uses its
// own topic names, so cases never see each other's records.
#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>

#include "core/signature.h"
#include "support/bridge_process.h"
#include "support/kafka_reader.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;

namespace {

std::string unique_prefix() {
  return unique_topic_prefix("t");
}

std::string now_seconds() {
  return unix_seconds_now();
}

struct Topics {
  std::string order, subscription, prewarmup, deadletter, dedup;
  std::vector<std::string> all() const { return {order, subscription, prewarmup, deadletter}; }
};

struct BridgeFixture {
  const std::string brokers = test_brokers();
  const std::string prefix = unique_prefix();
  Topics topics{prefix + "order", prefix + "subscription", prefix + "prewarmup", prefix + "dlq",
                prefix + "dedup"};

  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> base = {
        {"CMR_BRIDGE_SIGNING_KEYS", "rotated-out-key," + kTestKey},
        {"CMR_BRIDGE_KAFKA_BROKERS", brokers},
        {"CMR_BRIDGE_TOPIC_ORDER", topics.order},
        {"CMR_BRIDGE_TOPIC_SUBSCRIPTION", topics.subscription},
        {"CMR_BRIDGE_TOPIC_PREWARMUP", topics.prewarmup},
        {"CMR_BRIDGE_TOPIC_DEADLETTER", topics.deadletter},
        {"CMR_BRIDGE_DEDUP_TOPIC", topics.dedup},
        {"CMR_BRIDGE_TOPIC_PARTITIONS", "3"},
        {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "5000"},
    };
    for (const auto& [k, v] : extra)
      base[k] = v;
    return base;
  }

  static httplib::Result post(int port, const std::string& body, const std::string& timestamp,
                              const std::string& signature) {
    return post_webhook(port, body, timestamp, signature);
  }

  // The CloudEvents attribute `name` of a structured-mode record value.
  static std::string ce_attribute(const ConsumedRecord& record, const char* name) {
    rapidjson::Document doc;
    doc.Parse(record.value.c_str());
    if (!doc.IsObject() || !doc.HasMember(name) || !doc[name].IsString())
      return "<absent>";
    return doc[name].GetString();
  }
  // The sender's `data` bytes, cut from the body exactly as sent.
  static std::string raw_data(const std::string& body) {
    const auto start = body.find("\"data\":") + 7;
    return body.substr(start, body.size() - start - 1);
  }

  std::size_t records_everywhere() const {
    std::size_t total = 0;
    for (const auto& topic : topics.all())
      total += read_topic(brokers, topic).size();
    return total;
  }
};

const std::string kSubscriptionRenewal =
    R"({"event":"subscription.renewal.success","eventId":"SUBEVT00000000000000000000001","data":{"userId":"PWM7Y25RYZ450YNM8K8FX9GK5AHX","userEmail":"johndoe@company.com","subscriptionId":"SUB9ZQ3Y1K4M7N2P5R8T0V6X3B","workspaceType":"GOOGLE","quantity":3,"autoRenew":true,"periodEnd":"2025-04-08T23:59:59.000Z"}})";
const std::string kPrewarmupOrder =
    R"({"event":"prewarmup.order.success","eventId":"PWEVT000000000000000000000001","data":{"userId":"PWM7Y25RYZ450YNM8K8FX9GK5AHX","userEmail":"johndoe@company.com","orderId":"PWORD0000000000000000000001","serviceProvider":"MICROSOFT","mailboxDetails":[{"domain":"warm-example.com","subscriptionId":"SUBPW1","preWarmedUpMailboxes":[{"mailboxId":"MB1","email":"ana@warm-example.com","firstName":"Ana","lastName":"Lima","password":"pw-Secret-1","appPassword":"app-pw-1","authenticatorSecret":"JBSWY3DPEHPK3PXP","isAdmin":false,"expiryDate":"2025-03-08T23:59:59.123Z"}]}]}})";

}  // namespace

TEST_SUITE("kafka") {
  TEST_CASE("the local broker the Kafka tier needs is up") {
    INFO("start it with: deploy/local/kafka.sh start (or set CMR_BRIDGE_TEST_KAFKA_BROKERS)");
    REQUIRE(broker_reachable(test_brokers(), 15s));
  }

  TEST_CASE_FIXTURE(
      BridgeFixture,
      "a signed event of each lifecycle lands on its topic with its key and original bytes") {
    BridgeProcess bridge(env());
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));

    struct Case {
      const std::string& body;
      const std::string& topic;
      const char* key;
      const char* event;
      SignatureScheme scheme;
    };
    const Case cases[] = {
        {kDomainOrderSuccess, topics.order, "NQ682GAVFTMYC2H6C87PPKPG5WXV", "domain.order.success",
         SignatureScheme::kBodyHex},
        {kSubscriptionRenewal, topics.subscription, "SUB9ZQ3Y1K4M7N2P5R8T0V6X3B",
         "subscription.renewal.success", SignatureScheme::kTimestampBodyBase64},
        {kPrewarmupOrder, topics.prewarmup, "PWORD0000000000000000000001",
         "prewarmup.order.success", SignatureScheme::kTimestampBodyHex},
    };
    for (const auto& c : cases) {
      CAPTURE(c.event);
      const auto res = post_signed(bridge.port(), c.body, c.scheme);
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK_MESSAGE(res->body.find(R"("status":"accepted")") != std::string::npos, res->body);
    }
    for (const auto& c : cases) {
      CAPTURE(c.event);
      const auto records = read_topic(brokers, c.topic);
      REQUIRE(records.size() == 1);
      CHECK(records[0].key == c.key);
      CHECK(records[0].headers.at("content-type") == "application/cloudevents+json; charset=utf-8");
      CHECK(ce_attribute(records[0], "type") == c.event);
      CHECK(ce_attribute(records[0], "subject") == c.key);
      CHECK(records[0].value.find("\"data\":" + raw_data(c.body) + "}") != std::string::npos);
    }
    CHECK(read_topic(brokers, topics.deadletter).empty());
  }

  TEST_CASE_FIXTURE(BridgeFixture, "one order's events share a partition and keep their order") {
    BridgeProcess bridge(env());
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    std::vector<std::string> bodies;
    for (int i = 0; i < 6; ++i) {
      bodies.push_back(R"({"event":"mailbox.created","eventId":"MC)" + std::to_string(i) +
                       R"(","data":{"orderId":"ORDER-42","mailboxId":"MB)" + std::to_string(i) +
                       R"(","userId":"U"}})");
      const auto res = post_signed(bridge.port(), bodies.back());
      REQUIRE(res);
      REQUIRE(res->status == 200);
    }
    const auto records = read_topic(brokers, topics.order);
    REQUIRE(records.size() == bodies.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      CHECK(records[i].partition == records[0].partition);
      CHECK(ce_attribute(records[i], "id") == "MC" + std::to_string(i));
    }
  }

  TEST_CASE_FIXTURE(BridgeFixture,
                    "tampered body, wrong key and stale timestamp get 401 and write nothing") {
    BridgeProcess bridge(env());
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    const std::string ts = now_seconds();
    const std::string good =
        compute_signature(kTestKey, SignatureScheme::kBodyHex, ts, kDomainOrderSuccess);
    std::string tampered = kDomainOrderSuccess;
    tampered.replace(tampered.find("15.88"), 5, "0.01");
    const std::string stale = std::to_string(std::stoll(ts) - 301);

    struct Case {
      std::string body, timestamp, signature;
      const char* code;
    };
    const Case cases[] = {
        {tampered, ts, good, "signature_mismatch"},
        {kDomainOrderSuccess, ts,
         compute_signature("not-the-key", SignatureScheme::kBodyHex, ts, kDomainOrderSuccess),
         "signature_mismatch"},
        {kDomainOrderSuccess, stale,
         compute_signature(kTestKey, SignatureScheme::kTimestampBodyHex, stale,
                           kDomainOrderSuccess),
         "timestamp_expired"},
        {kDomainOrderSuccess, ts, "", "missing_signature"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.code);
      const auto res = post(bridge.port(), c.body, c.timestamp, c.signature);
      REQUIRE(res);
      CHECK(res->status == 401);
      CHECK(res->body.find(std::string("\"error\":\"") + c.code + "\"") != std::string::npos);
    }
    CHECK(records_everywhere() == 0);
  }

  TEST_CASE_FIXTURE(BridgeFixture,
                    "signed but unusable requests are dead-lettered with their raw bytes") {
    BridgeProcess bridge(env());
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    const std::string truncated = kDomainOrderSuccess.substr(0, 80);
    const std::string unknown =
        R"({"event":"domain.renewal.success","eventId":"DRS1","data":{"domainId":"D1"}})";
    for (const auto& body : {truncated, unknown}) {
      const auto res = post_signed(bridge.port(), body);
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(res->body.find(R"("status":"dead_lettered")") != std::string::npos);
    }
    auto records = read_topic(brokers, topics.deadletter);
    REQUIRE(records.size() == 2);
    std::sort(records.begin(), records.end(),
              [](const auto& a, const auto& b) { return a.value.size() < b.value.size(); });
    CHECK(records[0].value == unknown);
    CHECK(records[0].headers.at("cmr-dlq-reason") == "unroutable_event");
    CHECK(records[0].headers.at("cmr-event-id") == "DRS1");
    CHECK(records[0].headers.at("cmr-event") == "domain.renewal.success");
    CHECK(records[0].key == "DRS1");  // an unroutable envelope's dead letter is keyed by eventId
    CHECK(records[1].value == truncated);
    CHECK(records[1].headers.at("cmr-dlq-reason") == "invalid_json");
    CHECK(read_topic(brokers, topics.order).empty());
  }

  TEST_CASE_FIXTURE(BridgeFixture,
                    "a dead broker answers 503 within the delivery timeout, never 200") {
    BridgeProcess bridge(env(
        {{"CMR_BRIDGE_KAFKA_BROKERS", "127.0.0.1:1"}, {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "1500"}}));
    REQUIRE(bridge.wait_listening(20s));
    httplib::Client admin("127.0.0.1", bridge.admin_port());
    const auto ready = admin.Get("/readyz");
    REQUIRE(ready);
    CHECK(ready->status == 503);
    // Not a latency claim (benchmarks show latency): only that the answer comes from the
    // delivery timeout and not from the client's 30 s read timeout or a hang.
    constexpr auto kGenerousBoundNotATiming = 1500ms + 15s;
    for (int i = 0; i < 3; ++i) {
      const auto started = std::chrono::steady_clock::now();
      const auto res = post_signed(bridge.port(), kDomainOrderSuccess);
      const auto took = std::chrono::steady_clock::now() - started;
      REQUIRE(res);
      CHECK(res->status == 503);
      CHECK(res->has_header("Retry-After"));
      CHECK(res->body.find(R"("error":"delivery_)") != std::string::npos);
      CHECK(took < kGenerousBoundNotATiming);
    }
  }

  TEST_CASE_FIXTURE(BridgeFixture,
                    "SIGTERM drains and exits 0; the readiness endpoint reported ready before") {
    BridgeProcess bridge(env());
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    const auto res = post_signed(bridge.port(), kDomainOrderSuccess);
    REQUIRE(res);
    CHECK(res->status == 200);
    bridge.signal(SIGTERM);
    CHECK(bridge.wait_exit(20s) == 0);
    CHECK(read_topic(brokers, topics.order).size() == 1);
  }

  TEST_CASE_FIXTURE(BridgeFixture, "no signing key, credential or body reaches the logs") {
    BridgeProcess bridge(env());
    REQUIRE(bridge.wait_listening(20s));
    REQUIRE(bridge.wait_ready(60s));
    // The signature values are secrets too (a replay within the window would pass).
    std::vector<std::string> signatures;
    for (const std::string& body :
         {std::string(kPrewarmupOrder), std::string("{\"password\":\"pw-Secret-1\"")}) {
      const std::string ts = now_seconds();
      signatures.push_back(compute_signature(kTestKey, SignatureScheme::kBodyHex, ts, body));
      const auto res = post(bridge.port(), body, ts, signatures.back());
      REQUIRE(res);
      REQUIRE(res->status == 200);
    }
    bridge.signal(SIGTERM);
    REQUIRE(bridge.wait_exit(20s) == 0);
    const auto lines = bridge.output_lines();
    CHECK(lines.size() > 5);
    for (const auto& line : lines) {
      CAPTURE(line);
      for (const char* secret :
           {"cmr-test-api-key", "rotated-out-key", "pw-Secret-1", "app-pw-1", "JBSWY3DPEHPK3PXP",
            "johndoe@company.com", "ana@warm-example.com"}) {
        CHECK(line.find(secret) == std::string::npos);
      }
      for (const auto& signature : signatures)
        CHECK(line.find(signature) == std::string::npos);
    }
  }

  TEST_CASE_FIXTURE(
      BridgeFixture,
      "with the spool on, a dead broker keeps the bridge ready and requests durable") {
    const std::string spool = "/tmp/cmr-bridge-spool-test-" + prefix;
    BridgeProcess bridge(env({{"CMR_BRIDGE_KAFKA_BROKERS", "127.0.0.1:1"},
                              {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "500"},
                              {"CMR_BRIDGE_SPOOL_DIR", spool},
                              // The drain waits this long for Kafka (never reachable here)
                              // before it leaves the spool on disk and exits.
                              {"CMR_BRIDGE_SPOOL_DRAIN_S", "1"}}));
    REQUIRE(bridge.wait_listening(20s));
    CHECK(bridge.wait_ready(5s));
    const auto res = post_signed(bridge.port(), kDomainOrderSuccess);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body.find(R"("spooled":true)") != std::string::npos);
    httplib::Client admin("127.0.0.1", bridge.admin_port());
    const auto ready = admin.Get("/readyz");
    REQUIRE(ready);
    CHECK(ready->body.find(R"("kafka":false)") != std::string::npos);
    bridge.signal(SIGTERM);
    CHECK(bridge.wait_exit(20s) == 0);
    std::filesystem::remove_all(spool);
  }
}
