// Kafka tier, the event contract end to end: documented lifecycles as CloudEvents on the
// right topics, mutations on the dead-letter topic with their raw bytes, and redrive.
#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "core/signature.h"
#include "support/bridge_process.h"
#include "support/kafka_reader.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string example(const std::string& event) {
  std::ifstream in(fs::path(CMR_BRIDGE_SOURCE_DIR) / "schemas/examples" / (event + ".json"),
                   std::ios::binary);
  REQUIRE(in);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return text;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

struct ContractFixture {
  const std::string brokers = test_brokers();
  const std::string prefix = unique_topic_prefix("c");
  std::unique_ptr<BridgeProcess> bridge;

  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> base = {
        {"CMR_BRIDGE_SIGNING_KEYS", kTestKey},
        {"CMR_BRIDGE_KAFKA_BROKERS", brokers},
        {"CMR_BRIDGE_TOPIC_PREFIX", prefix},
        {"CMR_BRIDGE_TOPIC_PARTITIONS", "3"},
    };
    for (const auto& [k, v] : extra)
      base[k] = v;
    return base;
  }
  void start(std::map<std::string, std::string> extra = {}) {
    bridge = std::make_unique<BridgeProcess>(env(std::move(extra)));
    REQUIRE(bridge->wait_listening(20s));
    REQUIRE(bridge->wait_ready(60s));
  }
  // The body of an answer, or a text naming the transport error (so a missing answer fails
  // the one check instead of crashing the binary).
  static std::string answer_body(const httplib::Result& res) {
    return res ? res->body : "<no answer: " + httplib::to_string(res.error()) + ">";
  }
  httplib::Result post(const std::string& body) const { return post_signed(bridge->port(), body); }
  std::string topic(const char* name) const { return prefix + name; }

  // Runs `cmr-bridge <args>` with this fixture's configuration; returns its stdout.
  std::string run_command(const std::string& args,
                          const std::map<std::string, std::string>& extra = {}) const {
    std::string command = "env";
    for (const auto& [k, v] : env(extra))
      command += " '" + k + "=" + v + "'";
    command += std::string(" ") + CMR_BRIDGE_BINARY + " " + args + " 2>&1";
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    std::size_t n = 0;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
      output.append(buffer, n);
    pclose(pipe);
    return output;
  }
};

std::string attr(const ConsumedRecord& record, const char* name) {
  rapidjson::Document doc;
  doc.Parse(record.value.c_str());
  if (!doc.IsObject() || !doc.HasMember(name) || !doc[name].IsString())
    return "<absent>";
  return doc[name].GetString();
}

// The record's CloudEvents `data` equals the body's `data`, value for value.
bool same_data(const ConsumedRecord& record, const std::string& body) {
  rapidjson::Document event;
  rapidjson::Document sent;
  event.Parse(record.value.c_str());
  sent.Parse(body.c_str());
  return event.IsObject() && sent.IsObject() && event.HasMember("data") && sent.HasMember("data") &&
         event["data"] == sent["data"];
}

std::string data_bytes(const std::string& body) {
  const auto start = body.find("\"data\":") + 7;
  return body.substr(start, body.size() - start - 1);
}

}  // namespace

TEST_SUITE("kafka contract") {
  TEST_CASE_FIXTURE(
      ContractFixture,
      "the order lifecycle: domain → mailbox order → three mailboxes, in order on one key") {
    start();
    std::vector<std::string> bodies = {example("domain.order.success"),
                                       example("mailbox.order.success")};
    const std::string created = example("mailbox.created");
    for (int i = 1; i <= 3; ++i) {
      bodies.push_back(replace_all(replace_all(created, "79H677BCTS89SCABCGQJ1WTRMKZK",
                                               "79H677BCTS89SCABCGQJ1WTRMKZ" + std::to_string(i)),
                                   "W8Q628ZDGVKTRPTEN1HAM6DHJ74Y",
                                   "W8Q628ZDGVKTRPTEN1HAM6DHJ74" + std::to_string(i)));
    }
    for (const auto& body : bodies) {
      const auto res = post(body);
      REQUIRE(res);
      CHECK_MESSAGE(res->status == 200, res->body);
      CHECK(res->body.find("accepted") != std::string::npos);
    }
    const auto records = read_topic(brokers, topic("order.events"));
    REQUIRE(records.size() == 5);
    const char* types[] = {"domain.order.success", "mailbox.order.success", "mailbox.created",
                           "mailbox.created", "mailbox.created"};
    for (std::size_t i = 0; i < records.size(); ++i) {
      CAPTURE(i);
      CHECK(records[i].key == "NQ682GAVFTMYC2H6C87PPKPG5WXV");
      CHECK(records[i].partition == records[0].partition);
      CHECK(attr(records[i], "type") == types[i]);
      CHECK(attr(records[i], "lifecycle") == "order");
      CHECK(attr(records[i], "orderid") == "NQ682GAVFTMYC2H6C87PPKPG5WXV");
      CHECK(attr(records[i], "userid") != "<absent>");
      CHECK(same_data(records[i], bodies[i]));
    }
    CHECK(attr(records[0], "outcome") == "success");
    CHECK(attr(records[0], "domain") == "company.com");
    CHECK(attr(records[1], "provider") != "<absent>");
    CHECK(attr(records[2], "outcome") == "created");
    CHECK(attr(records[2], "mailboxid") == "W8Q628ZDGVKTRPTEN1HAM6DHJ741");
  }

  TEST_CASE_FIXTURE(
      ContractFixture,
      "failure, subscription and pre-warm-up lifecycles land on their topics and keys") {
    start();
    for (const char* event :
         {"domain.order.failed", "subscription.renewal.success", "subscription.renewal.failed",
          "subscription.cancelled", "prewarmup.order.success", "prewarmup.order.failed"}) {
      CAPTURE(event);
      const auto res = post(example(event));
      REQUIRE(res);
      CHECK_MESSAGE(res->body.find("accepted") != std::string::npos, res->body);
    }
    const auto orders = read_topic(brokers, topic("order.events"));
    REQUIRE(orders.size() == 1);
    CHECK(attr(orders[0], "outcome") == "failed");
    const auto subscriptions = read_topic(brokers, topic("subscription.events"));
    REQUIRE(subscriptions.size() == 3);
    std::set<std::string> outcomes;
    for (const auto& r : subscriptions) {
      CHECK(attr(r, "lifecycle") == "subscription");
      CHECK(r.key == attr(r, "subscriptionid"));
      outcomes.insert(attr(r, "outcome"));
    }
    CHECK(outcomes == std::set<std::string>{"success", "failed", "cancelled"});
    const auto prewarmup = read_topic(brokers, topic("prewarmup.events"));
    REQUIRE(prewarmup.size() == 2);  // one order can carry a success and a failure
    CHECK(prewarmup[0].key == "PTJTT2T9C0YVE2XJNE4J7F22CV30");
    CHECK(prewarmup[1].key == prewarmup[0].key);
    CHECK(attr(prewarmup[0], "type") == "prewarmup.order.success");
    CHECK(attr(prewarmup[1], "type") == "prewarmup.order.failed");
    CHECK(attr(prewarmup[0], "provider") != "<absent>");
  }

  TEST_CASE_FIXTURE(
      ContractFixture,
      "a large pre-warm-up order (300 mailboxes, unicode, extra fields) passes intact") {
    start();
    std::string mailboxes;
    for (int i = 0; i < 300; ++i) {
      if (i > 0)
        mailboxes += ",";
      mailboxes +=
          R"({"mailboxId":"MB)" + std::to_string(i) + R"(","email":"user)" + std::to_string(i) +
          R"(@warm.example","firstName":"Zoë","lastName":"Ñúñez 李","password":"p)" +
          std::to_string(i) +
          R"(","appPassword":"a","authenticatorSecret":"JBSWY3DPEHPK3PXP","isAdmin":false,"futureField":{"nested":[1,2.50,-3e2]}})";
    }
    const std::string body =
        R"({"event":"prewarmup.order.success","eventId":"BIGORDER1","data":{"userId":"U","userEmail":"e@x","orderId":"BIG1","serviceProvider":"GOOGLE","mailboxDetails":[{"domain":"warm.example","subscriptionId":"S","preWarmedUpMailboxes":[)" +
        mailboxes + "]}]}}";
    CHECK(body.size() > 60000);
    const auto res = post(body);
    REQUIRE(res);
    CHECK_MESSAGE(res->body.find("accepted") != std::string::npos, res->body);
    const auto records = read_topic(brokers, topic("prewarmup.events"));
    REQUIRE(records.size() == 1);
    CHECK(records[0].value.find("\"data\":" + data_bytes(body) + "}") != std::string::npos);
  }

  TEST_CASE_FIXTURE(ContractFixture,
                    "mutations are dead-lettered with the right reason and the raw bytes intact") {
    start();
    const std::string good = example("domain.order.success");
    struct Case {
      std::string body;
      const char* reason;
    };
    const Case cases[] = {
        {replace_all(good, R"("eventId":"6SSHBXWR3N4JEKGRQSG3KW3D76N6",)", ""), "invalid_envelope"},
        {R"({"event":"domain.order.success","eventId":"M2","data":"not an object"})",
         "invalid_envelope"},
        {replace_all(replace_all(good, "\"price\":15.88", "\"price\":\"15.88\""),
                     "6SSHBXWR3N4JEKGRQSG3KW3D76N6", "M3"),
         "schema_violation"},
        {replace_all(replace_all(good, "domain.order.success", "domain.transfer.success"),
                     "6SSHBXWR3N4JEKGRQSG3KW3D76N6", "M4"),
         "unroutable_event"},
        {good.substr(0, good.size() / 2), "invalid_json"},
        {replace_all(replace_all(good, "company.com\"", "compa\xff\xfeny.com\""),
                     "6SSHBXWR3N4JEKGRQSG3KW3D76N6", "M6"),
         "invalid_json"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.reason);
      const auto res = post(c.body);
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(res->body.find(std::string("\"reason\":\"") + c.reason + "\"") != std::string::npos);
    }
    const auto dead = read_topic(brokers, topic("webhooks.deadletter"));
    REQUIRE(dead.size() == std::size(cases));
    for (const auto& c : cases) {
      bool found = false;
      for (const auto& r : dead) {
        if (r.value == c.body) {
          found = true;
          CHECK(r.headers.at("cmr-dlq-reason") == c.reason);
          CHECK_FALSE(r.headers.at("cmr-dlq-detail").empty());
          CHECK(r.headers.at("cmr-signature-scheme") == "body-hex");
          CHECK(r.headers.count("cmr-received-time") == 1);
        }
      }
      CAPTURE(c.reason);
      CHECK(found);
    }
    CHECK(read_topic(brokers, topic("order.events")).empty());
  }

  TEST_CASE_FIXTURE(
      ContractFixture,
      "redrive republishes what a new route accepts, once, and reports what still fails") {
    start();
    const std::string renewal =
        R"({"event":"domain.renewal.success","eventId":"RD1","data":{"userId":"U","orderId":"O-RD1","domainName":"x.com"}})";
    std::string invalid = example("domain.order.success");
    invalid = replace_all(replace_all(invalid, "\"price\":15.88", "\"price\":\"free\""),
                          "6SSHBXWR3N4JEKGRQSG3KW3D76N6", "RD2");
    REQUIRE(answer_body(post(renewal)).find("unroutable_event") != std::string::npos);
    REQUIRE(answer_body(post(invalid)).find("schema_violation") != std::string::npos);

    const fs::path routes = fs::temp_directory_path() / (prefix + "routes.json");
    std::ofstream(routes)
        << R"({"routes":[{"match":"domain.renewal.*","topic":"order","key":["/orderId"]}]})";
    const std::string dry =
        run_command("redrive --dry-run", {{"CMR_BRIDGE_ROUTES_FILE", routes.string()}});
    CHECK_MESSAGE(dry.find("would_publish=1") != std::string::npos, dry);
    CHECK(read_topic(brokers, topic("order.events")).empty());

    const std::string first = run_command("redrive", {{"CMR_BRIDGE_ROUTES_FILE", routes.string()}});
    CHECK_MESSAGE(first.find("republished=1") != std::string::npos, first);
    CHECK(first.find("still_failing=1") != std::string::npos);
    CHECK(first.find("still failing: schema_violation x1") != std::string::npos);
    const std::string again = run_command("redrive --reason unroutable_event",
                                          {{"CMR_BRIDGE_ROUTES_FILE", routes.string()}});
    CHECK_MESSAGE(again.find("duplicate=1") != std::string::npos, again);
    CHECK(again.find("skipped=1") != std::string::npos);
    const auto published = read_topic(brokers, topic("order.events"));
    REQUIRE(published.size() == 1);
    CHECK(published[0].key == "O-RD1");
    CHECK(attr(published[0], "type") == "domain.renewal.success");
    fs::remove(routes);
  }

  TEST_CASE_FIXTURE(ContractFixture,
                    "redrive never republishes an eventid_conflict dead letter, even with dedup "
                    "off and the reason selected") {
    start();
    const std::string original = example("domain.order.success");
    const std::string changed = replace_all(original, "\"price\":15.88", "\"price\":99.99");
    REQUIRE(changed != original);
    REQUIRE(answer_body(post(original)).find("accepted") != std::string::npos);
    REQUIRE(answer_body(post(changed)).find("eventid_conflict") != std::string::npos);
    const auto dead = read_topic(brokers, topic("webhooks.deadletter"));
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].headers.at("cmr-dlq-reason") == "eventid_conflict");

    for (const char* args : {"redrive", "redrive --reason eventid_conflict"}) {
      const std::string output = run_command(args, {{"CMR_BRIDGE_DEDUP", "false"}});
      CHECK_MESSAGE(output.find("conflict_kept=1") != std::string::npos, output);
      CHECK(output.find("republished=") == std::string::npos);
    }
    const auto published = read_topic(brokers, topic("order.events"));
    REQUIRE(published.size() == 1);
    CHECK(published[0].value.find("99.99") == std::string::npos);
  }

  TEST_CASE_FIXTURE(ContractFixture,
                    "credentials are encrypted on Kafka and `decrypt` restores them exactly") {
    const std::string keys = "k1:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";  // bytes 0x01..0x20
    start({{"CMR_BRIDGE_CREDENTIALS", "encrypt"}, {"CMR_BRIDGE_ENCRYPTION_KEYS", keys}});
    const std::string body = example("prewarmup.order.success");
    REQUIRE(answer_body(post(body)).find("accepted") != std::string::npos);
    const auto records = read_topic(brokers, topic("prewarmup.events"));
    REQUIRE(records.size() == 1);
    rapidjson::Document sent;
    sent.Parse(body.c_str());
    const auto& mailbox = sent["data"]["mailboxDetails"][0]["preWarmedUpMailboxes"][0];
    for (const char* field : {"password", "appPassword", "authenticatorSecret"}) {
      CAPTURE(field);
      CHECK(records[0].value.find(mailbox[field].GetString()) == std::string::npos);
    }
    CHECK(records[0].value.find("cmr-enc:v1:k1:") != std::string::npos);
    CHECK(records[0].value.find(mailbox["email"].GetString()) != std::string::npos);

    const fs::path file = fs::temp_directory_path() / (prefix + "record.json");
    std::ofstream(file, std::ios::binary) << records[0].value;
    const std::string decrypted =
        run_command("decrypt " + file.string(), {{"CMR_BRIDGE_ENCRYPTION_KEYS", keys}});
    ConsumedRecord restored;
    restored.value = decrypted;
    CHECK_MESSAGE(same_data(restored, body), decrypted);
    const std::string wrong =
        run_command("decrypt " + file.string(),
                    {{"CMR_BRIDGE_ENCRYPTION_KEYS", "k1:" + std::string(43, 'A') + "="}});
    CHECK(wrong.find("could not be decrypted") != std::string::npos);
    fs::remove(file);
  }

  TEST_CASE_FIXTURE(ContractFixture,
                    "a W3C trace context reaches the record as attributes and Kafka headers; an "
                    "invalid one is ignored, not refused") {
    start();
    const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const auto post_traced = [&](const std::string& body, const httplib::Headers& trace) {
      httplib::Headers headers = trace;
      const std::string ts = unix_seconds_now();
      headers.emplace("cmr-x-timestamp", ts);
      headers.emplace("cmr-x-signature",
                      compute_signature(kTestKey, SignatureScheme::kBodyHex, ts, body));
      httplib::Client client("127.0.0.1", bridge->port());
      client.set_read_timeout(std::chrono::seconds(30));
      return client.Post("/webhooks", headers, body, "application/json");
    };
    const std::string traced =
        replace_all(example("domain.order.success"), "6SSHBXWR3N4JEKGRQSG3KW3D76N6", "TRACE1");
    // Two tracestate headers are one list.
    const auto accepted = post_traced(traced, {{"traceparent", parent},
                                               {"tracestate", "rojo=00f067aa0ba902b7"},
                                               {"tracestate", "congo=t61rcWkgMzE"}});
    REQUIRE(accepted);
    CHECK(accepted->status == 200);
    const std::string invalid =
        replace_all(example("domain.order.success"), "6SSHBXWR3N4JEKGRQSG3KW3D76N6", "TRACE2");
    const auto ignored =
        post_traced(invalid, {{"traceparent", "00-not-a-trace"}, {"tracestate", "rojo=1"}});
    REQUIRE(ignored);
    CHECK(ignored->status == 200);

    const auto records = read_topic(brokers, topic("order.events"));
    REQUIRE(records.size() == 2);
    for (const auto& r : records) {
      if (attr(r, "id") == "TRACE1") {
        CHECK(attr(r, "traceparent") == parent);
        CHECK(attr(r, "tracestate") == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
        REQUIRE(r.headers.count("traceparent") == 1);
        CHECK(r.headers.at("traceparent") == parent);
        CHECK(r.headers.at("tracestate") == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
      } else {
        CHECK(attr(r, "id") == "TRACE2");
        CHECK(attr(r, "traceparent") == "<absent>");
        CHECK(r.headers.count("traceparent") == 0);
        CHECK(r.headers.count("tracestate") == 0);
      }
    }
  }

  TEST_CASE_FIXTURE(ContractFixture, "credentials can be redacted instead") {
    start({{"CMR_BRIDGE_CREDENTIALS", "redact"}});
    const std::string body = example("prewarmup.order.success");
    REQUIRE(answer_body(post(body)).find("accepted") != std::string::npos);
    const auto records = read_topic(brokers, topic("prewarmup.events"));
    REQUIRE(records.size() == 1);
    CHECK(records[0].value.find("[REDACTED]") != std::string::npos);
    rapidjson::Document sent;
    sent.Parse(body.c_str());
    const auto& mailbox = sent["data"]["mailboxDetails"][0]["preWarmedUpMailboxes"][0];
    CHECK(records[0].value.find(mailbox["password"].GetString()) == std::string::npos);
  }
}
