// Kafka tier: what the commands promise (docs/commands.md, docs/records.md#redrive,
// docs/credentials.md) with their exit statuses asserted, and the drain of `serve` at SIGTERM
// (docs/http-api.md#draining-sigterm): the real binary against the real broker.
#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/timestamp.h"
#include "support/bridge_process.h"
#include "support/examples.h"
#include "support/kafka_reader.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// How long a step the test caused may take before the test calls it failed: bounds against
// hanging, never a measure of the promise.
constexpr auto kGenerousBound = 60s;

// Bytes 0x01..0x20 as key "k1"; another key under the same id; the same key under another id.
const std::string kKeyBytes = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const std::string kKeys = "k1:" + kKeyBytes;
const std::string kWrongKeys = "k1:" + std::string(43, 'A') + "=";
const std::string kUnknownIdKeys = "k2:" + kKeyBytes;

struct CommandsFixture {
  const std::string brokers = test_brokers();
  const std::string prefix = unique_topic_prefix("cmd");
  std::unique_ptr<BridgeProcess> bridge;

  // One partition per topic, so the dead-letter topic's offsets are the order of sending.
  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> base = {{"CMR_BRIDGE_SIGNING_KEYS", kTestKey},
                                               {"CMR_BRIDGE_KAFKA_BROKERS", brokers},
                                               {"CMR_BRIDGE_TOPIC_PREFIX", prefix},
                                               {"CMR_BRIDGE_TOPIC_PARTITIONS", "1"}};
    for (auto& [name, value] : extra)
      base[name] = std::move(value);
    return base;
  }
  void start(std::map<std::string, std::string> extra = {}) {
    REQUIRE(broker_reachable(brokers, 20s));
    bridge = std::make_unique<BridgeProcess>(env(std::move(extra)));
    REQUIRE(bridge->wait_listening(20s));
    REQUIRE(bridge->wait_ready(kGenerousBound));
  }
  CommandResult run(const std::vector<std::string>& args,
                    std::map<std::string, std::string> extra = {},
                    const std::string& input = "") const {
    return run_command(args, env(std::move(extra)), input);
  }
  std::string topic(const char* name) const { return prefix + name; }
  // The body of the answer to a signed POST, or a text naming the transport error.
  std::string post(const std::string& body) const {
    const auto res = post_signed(bridge->port(), body);
    return res ? std::to_string(res->status) + " " + res->body
               : "<no answer: " + httplib::to_string(res.error()) + ">";
  }
};

// The eventIds redrive printed a line for, in order ("eventId" of each JSON line).
std::vector<std::string> redriven_ids(const std::string& out) {
  std::vector<std::string> ids;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.IsObject() && doc.HasMember("eventId") && doc["eventId"].IsString())
      ids.emplace_back(doc["eventId"].GetString());
  }
  return ids;
}

std::string at_ms(int64_t timestamp_ms) {
  return format_rfc3339(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(timestamp_ms)));
}

// The JSON pointers (into `data`) of every non-null value whose member name is one of `names`,
// found by walking the sent document: the test's own idea of where the credentials are.
void credential_pointers(const rapidjson::Value& value, const std::string& pointer,
                         const std::set<std::string>& names, std::vector<std::string>& found) {
  if (value.IsObject()) {
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
      const std::string name = it->name.GetString();
      const std::string child = pointer + "/" + name;
      if (names.contains(name) && !it->value.IsNull()) {
        found.push_back(child);
      } else {
        credential_pointers(it->value, child, names, found);
      }
    }
  } else if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i)
      credential_pointers(value[i], pointer + "/" + std::to_string(i), names, found);
  }
}

// Every string inside `value` (itself, when it is one).
std::vector<std::string> string_leaves(const rapidjson::Value& value) {
  std::vector<std::string> leaves;
  if (value.IsString()) {
    leaves.emplace_back(value.GetString());
  } else if (value.IsObject()) {
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
      for (auto& leaf : string_leaves(it->value))
        leaves.push_back(std::move(leaf));
    }
  } else if (value.IsArray()) {
    for (const auto& element : value.GetArray()) {
      for (auto& leaf : string_leaves(element))
        leaves.push_back(std::move(leaf));
    }
  }
  return leaves;
}

const rapidjson::Value* at_pointer(const rapidjson::Value& root, const std::string& pointer) {
  return rapidjson::Pointer(pointer.c_str()).Get(root);
}

std::string json_text(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

}  // namespace

TEST_SUITE("kafka commands") {
  TEST_CASE_FIXTURE(CommandsFixture,
                    "SIGTERM: /readyz fails at once, requests are still served, and a second "
                    "SIGTERM ends the drain delay; the exit status is 0") {
    start({{"CMR_BRIDGE_DRAIN_DELAY_S", "300"}});
    httplib::Client admin("127.0.0.1", bridge->admin_port());
    bridge->signal(SIGTERM);
    // Unready from the first SIGTERM: the first /readyz that sees it is 503 and names the check.
    int ready_status = 200;
    std::string ready_body;
    const auto until = std::chrono::steady_clock::now() + kGenerousBound;
    while (ready_status == 200 && std::chrono::steady_clock::now() < until) {
      const auto readyz = admin.Get("/readyz");
      ready_status = readyz ? readyz->status : 0;
      ready_body = readyz ? readyz->body : "";
    }
    CHECK(ready_status == 503);
    CHECK(ready_body.find(R"("not_draining":false)") != std::string::npos);

    // Still serving during the delay (load balancers are taking the pod out).
    CHECK(post(kDomainOrderSuccess).rfind("200 ", 0) == 0);
    CHECK(read_topic(brokers, topic("order.events")).size() == 1);
    CHECK(bridge->wait_exit(0ms) == -1);

    // The delay is 300 s; a second SIGTERM ends it, and the bridge stops cleanly.
    bridge->signal(SIGTERM);
    CHECK(bridge->wait_exit(kGenerousBound) == 0);
    const auto lines = bridge->output_lines();
    const auto logged = [&](const std::string& text) {
      return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
        return line.find(text) != std::string::npos;
      });
    };
    CHECK(logged(R"("msg":"draining")"));
    CHECK(logged(R"("msg":"stopped")"));
  }

  TEST_CASE_FIXTURE(CommandsFixture,
                    "redrive --since/--until/--from-offset select exactly the documented records; "
                    "exit 0, 1 when Kafka fails a record, 2 on a usage error") {
    start();
    const std::vector<std::string> ids = {"RANGE0", "RANGE1", "RANGE2", "RANGE3", "RANGE4"};
    for (const auto& id : ids) {
      const std::string answer = post(R"({"event":"domain.renewal.success","eventId":")" + id +
                                      R"(","data":{"userId":"U","orderId":"O-)" + id + R"("}})");
      CHECK_MESSAGE(answer.find("unroutable_event") != std::string::npos, answer);
      // Distinct record timestamps (milliseconds), so a time bound can fall between two records.
      std::this_thread::sleep_for(5ms);
    }
    const auto dead = read_topic(brokers, topic("webhooks.deadletter"));
    REQUIRE(dead.size() == ids.size());
    std::vector<int64_t> ts;
    for (std::size_t i = 0; i < dead.size(); ++i) {
      REQUIRE(dead[i].offset == static_cast<int64_t>(i));
      REQUIRE(dead[i].headers.at("cmr-event-id") == ids[i]);
      ts.push_back(dead[i].timestamp_ms);
      if (i > 0)
        REQUIRE(ts[i] > ts[i - 1]);
    }

    const fs::path routes = fs::temp_directory_path() / (prefix + "routes.json");
    std::ofstream(routes)
        << R"({"routes":[{"match":"domain.renewal.*","topic":"order","key":["/orderId"]}]})";
    const std::map<std::string, std::string> fixed = {{"CMR_BRIDGE_ROUTES_FILE", routes.string()}};
    struct Range {
      std::vector<std::string> args;
      std::vector<std::string> selected;
    };
    const Range ranges[] = {
        {{"--since", at_ms(ts[1]), "--until", at_ms(ts[3])},
         {"RANGE1", "RANGE2"}},  // [since, until)
        {{"--since", at_ms(ts[4])}, {"RANGE4"}},
        {{"--since", at_ms(ts[4] + 1)}, {}},
        {{"--until", at_ms(ts[0])}, {}},
        {{"--until", at_ms(ts[0] + 1)}, {"RANGE0"}},
        {{"--from-offset", "3"}, {"RANGE3", "RANGE4"}},
        {{"--from-offset", "5"}, {}},
        {{"--from-offset", "2", "--since", at_ms(ts[1]), "--until", at_ms(ts[4])},
         {"RANGE2", "RANGE3"}},
        {{"--from-offset", "1", "--reason", "schema_violation"},
         {"RANGE1", "RANGE2", "RANGE3", "RANGE4"}},
    };
    for (const auto& range : ranges) {
      std::vector<std::string> args = {"redrive", "--dry-run"};
      args.insert(args.end(), range.args.begin(), range.args.end());
      std::string shown;
      for (const auto& arg : args)
        shown += arg + " ";
      CAPTURE(shown);
      const CommandResult dry = run(args, fixed);
      CHECK_MESSAGE(dry.exit_code == 0, dry.err);
      CHECK(redriven_ids(dry.out) == range.selected);
    }
    // --reason skips the others, still printed: every selected line says which.
    const CommandResult skipped =
        run({"redrive", "--dry-run", "--reason", "schema_violation"}, fixed);
    CHECK(skipped.out.find("skipped=5") != std::string::npos);
    CHECK(read_topic(brokers, topic("order.events")).empty());

    // Publishing: only the selected record is republished.
    const CommandResult republished = run({"redrive", "--from-offset", "4"}, fixed);
    CHECK_MESSAGE(republished.exit_code == 0, republished.err);
    CHECK(republished.out.find("republished=1") != std::string::npos);
    const auto events = read_topic(brokers, topic("order.events"));
    REQUIRE(events.size() == 1);
    CHECK(events[0].key == "O-RANGE4");

    // Exit 1: a route to a topic that does not exist (yet: with topic creation on, the bridge
    // takes that for a passing failure, and the broker creates no topic on its own): Kafka fails
    // the record, the run says so and the dead letter stays for the next run.
    const std::string unwritable = topic("not-created-yet");
    std::ofstream(routes) << R"({"routes":[{"match":"domain.renewal.*","topic":")" + unwritable +
                                 R"(","key":["/orderId"]}]})";
    const CommandResult failed = run(
        {"redrive", "--from-offset", "3", "--until", at_ms(ts[4])},
        {{"CMR_BRIDGE_ROUTES_FILE", routes.string()}, {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "1000"}});
    CHECK_MESSAGE(failed.exit_code == 1, failed.out, failed.err);
    CHECK(redriven_ids(failed.out) == std::vector<std::string>{"RANGE3"});
    CHECK(failed.out.find("unavailable=1") != std::string::npos);
    CHECK(read_topic(brokers, unwritable).empty());

    // A record Kafka refuses for good (its topic's max.message.bytes is below it) goes back to
    // the dead-letter topic: reported dead_lettered (publish_rejected), not as a conflict.
    const std::string too_small = topic("too-small");
    create_topic(brokers, too_small, 1, {{"max.message.bytes", "200"}});
    std::ofstream(routes) << R"({"routes":[{"match":"domain.renewal.*","topic":")" + too_small +
                                 R"(","key":["/orderId"]}]})";
    const CommandResult refused = run({"redrive", "--from-offset", "2", "--until", at_ms(ts[3])},
                                      {{"CMR_BRIDGE_ROUTES_FILE", routes.string()}});
    CHECK_MESSAGE(refused.exit_code == 0, refused.out, refused.err);
    CHECK(redriven_ids(refused.out) == std::vector<std::string>{"RANGE2"});
    CHECK_MESSAGE(refused.out.find(R"("result":"dead_lettered","detail":"publish_rejected")") !=
                      std::string::npos,
                  refused.out);
    CHECK(refused.out.find("dead_lettered=1") != std::string::npos);
    CHECK(refused.out.find("conflict") == std::string::npos);
    CHECK(read_topic(brokers, too_small).empty());
    const auto dead_again = read_topic(brokers, topic("webhooks.deadletter"));
    REQUIRE(dead_again.size() == ids.size() + 1);
    CHECK(dead_again.back().headers.at("cmr-event-id") == "RANGE2");
    CHECK(dead_again.back().headers.at("cmr-dlq-reason") == "publish_rejected");

    // Exit 2: usage errors, before anything is read.
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"redrive", "--since", "yesterday"},
          std::vector<std::string>{"redrive", "--until", "2026-11-27"},
          std::vector<std::string>{"redrive", "--from-offset", "three"},
          std::vector<std::string>{"redrive", "--from-offset", "-1"},
          std::vector<std::string>{"redrive", "--from-offset"},
          std::vector<std::string>{"redrive", "--bogus"}}) {
      CAPTURE(args.back());
      const CommandResult usage = run(args, fixed);
      CHECK(usage.exit_code == 2);
      CHECK_FALSE(usage.err.empty());
      CHECK(usage.out.empty());
    }
    fs::remove(routes);
  }

  TEST_CASE_FIXTURE(
      CommandsFixture,
      "every credential field kind is encrypted on Kafka and `decrypt --event-id` "
      "restores the binary-mode record; another event id, wrong key or unknown key id exit 1") {
    // The three documented names, extra names matched at any depth (CMR_BRIDGE_CREDENTIAL_FIELDS
    // "email", and "recoveryCodes" over an array holding an object), and a JSON pointer to a
    // value that is not a string ("/isAdmin", a boolean).
    start({{"CMR_BRIDGE_CREDENTIALS", "encrypt"},
           {"CMR_BRIDGE_ENCRYPTION_KEYS", kKeys},
           {"CMR_BRIDGE_CREDENTIAL_FIELDS", "email,recoveryCodes,/isAdmin"},
           {"CMR_BRIDGE_RECORD_FORMAT", "cloudevents-binary"}});
    const std::set<std::string> names = {"password", "appPassword", "authenticatorSecret", "email",
                                         "recoveryCodes"};
    struct Sent {
      const char* event;
      const char* topic;
      std::vector<std::string> extra_pointers;
    };
    const Sent sent_events[] = {{"mailbox.created", "order.events", {"/isAdmin"}},
                                {"prewarmup.order.success", "prewarmup.events", {}}};
    for (const auto& sent : sent_events) {
      CAPTURE(sent.event);
      std::string body = documented_example(sent.event);
      const std::string data_start = R"("data": {)";
      REQUIRE(body.find(data_start) != std::string::npos);
      body.insert(body.find(data_start) + data_start.size(),
                  R"("recoveryCodes": ["RC-111-222", {"backup": "RC-333-444"}],)");
      const std::string answer = post(body);
      REQUIRE_MESSAGE(answer.find("accepted") != std::string::npos, answer);
      rapidjson::Document sent_doc;
      sent_doc.Parse(body.c_str());
      const rapidjson::Value& sent_data = sent_doc["data"];
      std::vector<std::string> pointers = sent.extra_pointers;
      credential_pointers(sent_data, "", names, pointers);
      REQUIRE(pointers.size() >= 4);

      const auto records = read_topic(brokers, topic(sent.topic));
      REQUIRE(records.size() == 1);
      const ConsumedRecord& record = records[0];
      const std::string event_id = record.headers.at("ce_id");
      rapidjson::Document stored;
      stored.Parse(record.value.c_str());
      REQUIRE(stored.IsObject());
      for (const auto& pointer : pointers) {
        CAPTURE(pointer);
        const rapidjson::Value* original = at_pointer(sent_data, pointer);
        const rapidjson::Value* value = at_pointer(stored, pointer);
        REQUIRE(original != nullptr);
        REQUIRE(value != nullptr);
        REQUIRE(value->IsString());
        CHECK(std::string(value->GetString()).rfind("cmr-enc:v1:k1:", 0) == 0);
        for (const std::string& secret : string_leaves(*original)) {
          CAPTURE(secret);
          CHECK(record.value.find(secret) == std::string::npos);
        }
      }

      const CommandResult decrypted = run({"decrypt", "--event-id", event_id},
                                          {{"CMR_BRIDGE_ENCRYPTION_KEYS", kKeys}}, record.value);
      CHECK_MESSAGE(decrypted.exit_code == 0, decrypted.err);
      rapidjson::Document restored;
      restored.Parse(decrypted.out.c_str());
      REQUIRE(restored.IsObject());
      for (const auto& pointer : pointers) {
        CAPTURE(pointer);
        const rapidjson::Value* value = at_pointer(restored, pointer);
        REQUIRE(value != nullptr);
        CHECK(json_text(*value) == json_text(*at_pointer(sent_data, pointer)));
      }
      CHECK(restored == sent_data);

      // The additional data binds each value to its event: another id does not decrypt.
      // Exit 1 when a value does not decrypt: another event id (the additional data binds each
      // value to its event), a wrong key under the right id, a key id the record does not name.
      const std::pair<std::string, std::string> refusals[] = {
          {event_id + "X", kKeys}, {event_id, kWrongKeys}, {event_id, kUnknownIdKeys}};
      for (const auto& [id, keys] : refusals) {
        CAPTURE(keys);
        const CommandResult refused = run({"decrypt", "--event-id", id},
                                          {{"CMR_BRIDGE_ENCRYPTION_KEYS", keys}}, record.value);
        CHECK(refused.exit_code == 1);
        CHECK(refused.err.find("could not be decrypted") != std::string::npos);
      }
      // A binary-mode value carries no id: without --event-id it is a usage error.
      const CommandResult no_id =
          run({"decrypt"}, {{"CMR_BRIDGE_ENCRYPTION_KEYS", kKeys}}, record.value);
      CHECK(no_id.exit_code == 2);
    }
  }
}
