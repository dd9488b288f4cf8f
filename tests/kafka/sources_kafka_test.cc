// Kafka tier, sources (docs/sources.md): one bridge process serves CMR and one source of each
// verification profile from its config file, against the real broker. Each profile: a signed
// request is published with the provider's id and type, a wrong key gets 401 and stores
// nothing, a stale or future timestamp gets 401 where the profile has one, a second key is
// accepted, a duplicate is published once, and two sources sending the same id are both
// published. The issue's minimal config file works as written.
#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "cmr_bridge/observer.h"
#include "core/pipeline.h"
#include "core/source_profile.h"
#include "kafka/kafka_publisher.h"
#include "support/bridge_process.h"
#include "support/fakes.h"
#include "support/kafka_reader.h"
#include "support/provider_vectors.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;

namespace {

const std::string kAcmeSecondKey = "whsec_c2Vjb25kLWFjbWUta2V5LWZvci1yb3RhdGlvbg==";
const std::string kGithubSecondKey = "second github secret";
const std::string kStripeKey = "whsec_pay_first";
const std::string kStripeSecondKey = "whsec_pay_second";

std::string unix_seconds_from_now(std::chrono::seconds offset) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            (std::chrono::system_clock::now() + offset).time_since_epoch())
                            .count());
}

// POST /webhooks/<source> with exactly these headers.
httplib::Result post_to(int port, const std::string& source, const HeaderList& headers,
                        const std::string& body) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(30));
  httplib::Headers sent;
  for (const auto& [name, value] : headers)
    sent.emplace(name, value);
  return client.Post(("/webhooks/" + source).c_str(), sent, body, "application/json");
}

HeaderList signed_headers(VerificationProfile profile, const std::string& key,
                          const std::string& id, const std::string& timestamp,
                          const std::string& body) {
  auto headers = sign_for_profile(profile, key, id, timestamp, body);
  REQUIRE(headers);
  return std::move(headers).value();
}

// "<status> <status or error field>", or "no response".
std::string answer_of(const httplib::Result& res) {
  if (!res)
    return "no response";
  rapidjson::Document doc;
  doc.Parse(res->body.c_str());
  for (const char* field : {"status", "error"}) {
    if (doc.IsObject() && doc.HasMember(field) && doc[field].IsString())
      return std::to_string(res->status) + " " + doc[field].GetString();
  }
  return std::to_string(res->status) + " " + res->body;
}

// The structured CloudEvents records of `topic` whose `id` is `id`.
std::vector<rapidjson::Document> events_with_id(const std::string& brokers,
                                                const std::string& topic, const std::string& id) {
  std::vector<rapidjson::Document> found;
  for (const auto& record : read_topic(brokers, topic)) {
    rapidjson::Document event;
    event.Parse(record.value.c_str());
    if (event.IsObject() && event.HasMember("id") && event["id"].IsString() &&
        event["id"].GetString() == id)
      found.push_back(std::move(event));
  }
  return found;
}

std::string string_field(const rapidjson::Value& object, const char* name) {
  return object.HasMember(name) && object[name].IsString() ? object[name].GetString() : "";
}

struct SourcesFixture {
  const std::string brokers = test_brokers();
  const std::string prefix = unique_topic_prefix("s");
  const std::string run =
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  std::string config_path;

  SourcesFixture() {
    config_path = "/tmp/cmr-bridge-sources-" + prefix + "json";
    std::ofstream(config_path) << R"({"sources": [
      {"name": "acme", "profile": "standard-webhooks", "keys_env": "ACME_WEBHOOK_KEYS",
       "routes": [{"match": "*", "topic": ")" +
                                      topic("acme.events") + R"(", "key": "/data/id"}]},
      {"name": "acme2", "profile": "standard-webhooks", "keys_env": "ACME_WEBHOOK_KEYS",
       "cloudevents_source": "https://acme2.example/webhooks",
       "routes": [{"match": "*", "topic": ")" +
                                      topic("acme.events") + R"("}]},
      {"name": "gh", "profile": "github", "keys_env": "GH_WEBHOOK_KEYS",
       "routes": [{"match": "*", "topic": ")" +
                                      topic("gh.events") + R"("}]},
      {"name": "pay", "profile": "stripe", "keys_file": ")" +
                                      config_path + R"(.keys",
       "routes": [{"match": "invoice.*", "topic": ")" +
                                      topic("pay.events") + R"(", "key": "/data/object/customer"},
                  {"match": "*", "topic": ")" +
                                      topic("pay.other.events") + R"("}]}
    ]})";
    std::ofstream(config_path + ".keys") << kStripeKey << "\n" << kStripeSecondKey << "\n";
  }
  ~SourcesFixture() {
    std::remove(config_path.c_str());
    std::remove((config_path + ".keys").c_str());
  }

  std::string topic(const std::string& name) const { return prefix + name; }

  std::map<std::string, std::string> env() const {
    return {
        {"CMR_BRIDGE_SIGNING_KEYS", kTestKey},
        {"CMR_BRIDGE_KAFKA_BROKERS", brokers},
        {"CMR_BRIDGE_TOPIC_PREFIX", prefix},
        {"CMR_BRIDGE_TOPIC_PARTITIONS", "2"},
        {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "5000"},
        {"CMR_BRIDGE_CONFIG_FILE", config_path},
        {"ACME_WEBHOOK_KEYS", kStandardWebhooksSecret + "," + kAcmeSecondKey},
        {"GH_WEBHOOK_KEYS", kGithubExampleSecret + "," + kGithubSecondKey},
    };
  }

  static std::unique_ptr<BridgeProcess> start(const std::map<std::string, std::string>& env) {
    auto bridge = std::make_unique<BridgeProcess>(env);
    REQUIRE(bridge->wait_listening(20s));
    REQUIRE(bridge->wait_ready(60s));
    return bridge;
  }

  // A Standard Webhooks request signed now.
  HeaderList acme_headers(const std::string& key, const std::string& id,
                          const std::string& body) const {
    return signed_headers(VerificationProfile::kStandardWebhooks, key, id, unix_seconds_now(),
                          body);
  }
  HeaderList github_headers(const std::string& key, const std::string& delivery,
                            const std::string& event, const std::string& body) const {
    HeaderList headers = signed_headers(VerificationProfile::kGithub, key, delivery, "", body);
    headers.emplace_back("X-GitHub-Event", event);
    return headers;
  }
  HeaderList stripe_headers(const std::string& key, const std::string& body,
                            std::chrono::seconds offset = 0s) const {
    return signed_headers(VerificationProfile::kStripe, key, "", unix_seconds_from_now(offset),
                          body);
  }
  std::string stripe_body(const std::string& id, const std::string& type) const {
    return R"({"id":")" + id + R"(","object":"event","type":")" + type +
           R"(","data":{"object":{"id":"in_1","customer":"cus_9"}}})";
  }
  std::string acme_body(const std::string& type) const {
    return R"({"type":")" + type + R"(","timestamp":"2026-11-30T08:00:00Z","data":{"id":"u-7"}})";
  }
};

}  // namespace

TEST_SUITE("kafka sources") {
  TEST_CASE_FIXTURE(SourcesFixture,
                    "issue 16's done-when: deploy/local/sources.example.json as written serves "
                    "CMR and one source of each profile from one process") {
    // The file docs/sources.md shows, unchanged: its topics are not prefixed, so records are
    // told apart by this run's ids.
    std::map<std::string, std::string> example = env();
    example["CMR_BRIDGE_CONFIG_FILE"] = CMR_BRIDGE_SOURCE_DIR "/deploy/local/sources.example.json";
    example["PAY_WEBHOOK_KEYS"] = kStripeKey + "," + kStripeSecondKey;
    auto bridge = start(example);
    const int port = bridge->port();
    // Each answer is printed (the report of issue 16 lists them) and checked.
    const auto expect = [](const std::string& step, const std::string& answer,
                           const std::string& expected) {
      MESSAGE(step << " -> " << answer);
      CHECK(answer == expected);
    };

    // CMR, unchanged, at both of its paths.
    expect("cmr: signed at /webhooks", answer_of(post_signed(port, kDomainOrderSuccess)),
           "200 accepted");
    {
      httplib::Client client("127.0.0.1", port);
      const std::string ts = unix_seconds_now();
      const auto res = client.Post(
          "/webhooks/cmr",
          {{"cmr-x-timestamp", ts},
           {"cmr-x-signature",
            compute_signature(kTestKey, SignatureScheme::kBodyHex, ts, kDomainOrderSuccess)}},
          kDomainOrderSuccess, "application/json");
      expect("cmr: the same event at /webhooks/cmr", answer_of(res), "200 duplicate");
    }

    // standard-webhooks, signed with the test vector's key (its own timestamp is from 2022, so
    // a live process refuses it as stale: see the pure-clock test below).
    const std::string acme_id = "msg_" + run;
    const std::string acme = acme_body("user.created");
    const auto acme_signed = acme_headers(kStandardWebhooksSecret, acme_id, acme);
    expect("acme: vector key", answer_of(post_to(port, "acme", acme_signed, acme)), "200 accepted");
    expect("acme: duplicate", answer_of(post_to(port, "acme", acme_signed, acme)), "200 duplicate");
    const std::string acme_rotated = "msg_rot_" + run;
    expect("acme: second key",
           answer_of(post_to(port, "acme", acme_headers(kAcmeSecondKey, acme_rotated, acme), acme)),
           "200 accepted");
    expect("acme: wrong key",
           answer_of(post_to(
               port, "acme",
               acme_headers("whsec_d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZw==", "msg_w_" + run, acme),
               acme)),
           "401 signature_mismatch");
    expect("acme: stale timestamp",
           answer_of(post_to(
               port, "acme",
               signed_headers(VerificationProfile::kStandardWebhooks, kStandardWebhooksSecret,
                              "msg_s_" + run, unix_seconds_from_now(-301s), acme),
               acme)),
           "401 timestamp_expired");
    expect("acme: the test vector as published (2022)",
           answer_of(post_to(port, "acme",
                             {{"webhook-id", kStandardWebhooksId},
                              {"webhook-timestamp", kStandardWebhooksTimestamp},
                              {"webhook-signature", kStandardWebhooksSignature}},
                             kStandardWebhooksBody)),
           "401 timestamp_expired");
    const auto acme_events = events_with_id(brokers, "acme.events", acme_id);
    REQUIRE(acme_events.size() == 1);
    CHECK(string_field(acme_events[0], "source") == "acme");
    CHECK(string_field(acme_events[0], "type") == "user.created");
    CHECK(string_field(acme_events[0], "signaturescheme") == "standard-webhooks");
    CHECK(events_with_id(brokers, "acme.events", acme_rotated).size() == 1);
    for (const char* refused : {"msg_w_", "msg_s_"})
      CHECK(events_with_id(brokers, "acme.events", refused + run).empty());

    // github, signed with the test vector's secret; the vector itself ("Hello, World!", not
    // JSON) verifies and is dead-lettered naming the source.
    const std::string delivery = "72d3162e-cc78-11e3-81ab-" + run;
    const std::string push = R"({"ref":"refs/heads/main","after":"abc"})";
    const auto gh_signed = github_headers(kGithubExampleSecret, delivery, "push", push);
    expect("gh: vector secret", answer_of(post_to(port, "gh", gh_signed, push)), "200 accepted");
    expect("gh: duplicate", answer_of(post_to(port, "gh", gh_signed, push)), "200 duplicate");
    const std::string gh_rotated = "rot-" + delivery;
    expect("gh: second key",
           answer_of(post_to(port, "gh", github_headers(kGithubSecondKey, gh_rotated, "push", push),
                             push)),
           "200 accepted");
    expect("gh: wrong key",
           answer_of(post_to(
               port, "gh", github_headers("not the secret", "w-" + delivery, "push", push), push)),
           "401 signature_mismatch");
    expect("gh: the test vector (Hello, World!)",
           answer_of(post_to(port, "gh",
                             {{"X-Hub-Signature-256", kGithubExampleSignature},
                              {"X-GitHub-Delivery", "vector-" + delivery},
                              {"X-GitHub-Event", "ping"}},
                             kGithubExampleBody)),
           "200 dead_lettered");
    const auto gh_events = events_with_id(brokers, "gh.events", delivery);
    REQUIRE(gh_events.size() == 1);
    CHECK(string_field(gh_events[0], "source") == "gh");
    CHECK(string_field(gh_events[0], "type") == "push");
    CHECK(events_with_id(brokers, "gh.events", gh_rotated).size() == 1);
    CHECK(events_with_id(brokers, "gh.events", "w-" + delivery).empty());

    // stripe: id and type from the body, routed by type; Stripe retries with a fresh t=.
    const std::string invoice_id = "evt_inv_" + run;
    const std::string invoice = stripe_body(invoice_id, "invoice.paid");
    expect("pay: invoice.paid",
           answer_of(post_to(port, "pay", stripe_headers(kStripeKey, invoice), invoice)),
           "200 accepted");
    expect("pay: duplicate (a retry with a fresh t=)",
           answer_of(post_to(port, "pay", stripe_headers(kStripeKey, invoice, -5s), invoice)),
           "200 duplicate");
    const std::string charge_id = "evt_ch_" + run;
    const std::string charge = stripe_body(charge_id, "charge.succeeded");
    expect("pay: second key, charge.succeeded",
           answer_of(post_to(port, "pay", stripe_headers(kStripeSecondKey, charge), charge)),
           "200 accepted");
    const std::string refused_charge = stripe_body("evt_w_" + run, "charge.succeeded");
    expect("pay: wrong key",
           answer_of(post_to(port, "pay", stripe_headers("whsec_not_it", refused_charge),
                             refused_charge)),
           "401 signature_mismatch");
    expect("pay: stale timestamp",
           answer_of(post_to(port, "pay", stripe_headers(kStripeKey, refused_charge, -301s),
                             refused_charge)),
           "401 timestamp_expired");
    expect("pay: future timestamp",
           answer_of(post_to(port, "pay", stripe_headers(kStripeKey, refused_charge, 301s),
                             refused_charge)),
           "401 timestamp_in_future");
    const auto invoices = events_with_id(brokers, "pay.events", invoice_id);
    REQUIRE(invoices.size() == 1);
    CHECK(string_field(invoices[0], "type") == "invoice.paid");
    CHECK(string_field(invoices[0], "source") == "pay");
    CHECK(events_with_id(brokers, "pay.other.events", charge_id).size() == 1);
    CHECK(events_with_id(brokers, "pay.events", charge_id).empty());
    CHECK(events_with_id(brokers, "pay.other.events", "evt_w_" + run).empty());

    // One id sent by all three sources: three events, one per source.
    const std::string shared = "shared-" + run;
    expect(
        "acme: the shared id",
        answer_of(post_to(port, "acme", acme_headers(kStandardWebhooksSecret, shared, acme), acme)),
        "200 accepted");
    expect("gh: the shared id",
           answer_of(post_to(port, "gh", github_headers(kGithubExampleSecret, shared, "push", push),
                             push)),
           "200 accepted");
    const std::string shared_charge = stripe_body(shared, "charge.succeeded");
    expect(
        "pay: the shared id",
        answer_of(post_to(port, "pay", stripe_headers(kStripeKey, shared_charge), shared_charge)),
        "200 accepted");
    CHECK(events_with_id(brokers, "acme.events", shared).size() == 1);
    CHECK(events_with_id(brokers, "gh.events", shared).size() == 1);
    CHECK(events_with_id(brokers, "pay.other.events", shared).size() == 1);

    expect("unknown source", answer_of(post_to(port, "nobody", {}, "{}")), "404 unknown_source");
  }

  TEST_CASE_FIXTURE(SourcesFixture, "the GitHub test vector verifies; its body is dead-lettered") {
    auto bridge = start(env());
    const std::string delivery = "vector-" + run;
    const HeaderList headers = {{"X-Hub-Signature-256", kGithubExampleSignature},
                                {"X-GitHub-Delivery", delivery},
                                {"X-GitHub-Event", "ping"}};
    const auto res = post_to(bridge->port(), "gh", headers, kGithubExampleBody);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body.find("invalid_json") != std::string::npos);
    bool found = false;
    for (const auto& record : read_topic(brokers, topic("webhooks.deadletter"))) {
      const auto source = record.headers.find("cmr-source");
      if (record.value == kGithubExampleBody && source != record.headers.end() &&
          source->second == "gh") {
        found = true;
        CHECK(record.headers.at("cmr-dlq-reason") == "invalid_json");
        CHECK(record.headers.at("cmr-source-delivery-id") == delivery);
        CHECK(record.headers.at("cmr-source-event-type") == "ping");
      }
    }
    CHECK(found);
  }

  TEST_CASE_FIXTURE(SourcesFixture, "wrong keys get 401 and store nothing") {
    auto bridge = start(env());
    const int port = bridge->port();
    const std::string id = "wrong-" + run;
    const std::string acme = acme_body("user.created");
    CHECK(answer_of(post_to(port, "acme",
                            acme_headers("whsec_d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZw==", id, acme),
                            acme)) == "401 signature_mismatch");
    const std::string push = R"({"zen":"wrong key"})";
    CHECK(answer_of(post_to(port, "gh", github_headers("not the secret", id, "ping", push),
                            push)) == "401 signature_mismatch");
    const std::string charge = stripe_body(id, "charge.succeeded");
    CHECK(answer_of(post_to(port, "pay", stripe_headers("whsec_not_it", charge), charge)) ==
          "401 signature_mismatch");
    // A request signed for another source's keys is refused too.
    CHECK(answer_of(post_to(port, "pay", stripe_headers(kGithubExampleSecret, charge), charge)) ==
          "401 signature_mismatch");
    for (const char* name : {"acme.events", "gh.events", "pay.other.events"})
      CHECK(events_with_id(brokers, topic(name), id).empty());
    for (const auto& record : read_topic(brokers, topic("webhooks.deadletter")))
      CHECK(record.headers.count("cmr-source") == 0);
  }

  TEST_CASE_FIXTURE(SourcesFixture,
                    "stale and future timestamps get 401 where the profile has one") {
    auto bridge = start(env());
    const int port = bridge->port();
    const std::string acme = acme_body("user.created");
    const std::string id = "time-" + run;
    const auto stale_acme =
        signed_headers(VerificationProfile::kStandardWebhooks, kStandardWebhooksSecret, id,
                       unix_seconds_from_now(-301s), acme);
    CHECK(answer_of(post_to(port, "acme", stale_acme, acme)) == "401 timestamp_expired");
    const auto future_acme =
        signed_headers(VerificationProfile::kStandardWebhooks, kStandardWebhooksSecret, id,
                       unix_seconds_from_now(301s), acme);
    CHECK(answer_of(post_to(port, "acme", future_acme, acme)) == "401 timestamp_in_future");
    const std::string charge = stripe_body(id, "charge.succeeded");
    CHECK(answer_of(post_to(port, "pay", stripe_headers(kStripeKey, charge, -301s), charge)) ==
          "401 timestamp_expired");
    CHECK(answer_of(post_to(port, "pay", stripe_headers(kStripeKey, charge, 301s), charge)) ==
          "401 timestamp_in_future");
    CHECK(events_with_id(brokers, topic("acme.events"), id).empty());
    CHECK(events_with_id(brokers, topic("pay.other.events"), id).empty());
  }

  TEST_CASE_FIXTURE(SourcesFixture, "second keys are accepted and duplicates are published once") {
    auto bridge = start(env());
    const int port = bridge->port();

    const std::string acme_id = "rot-" + run;
    const std::string acme = acme_body("user.updated");
    const auto acme_signed = acme_headers(kAcmeSecondKey, acme_id, acme);
    CHECK(answer_of(post_to(port, "acme", acme_signed, acme)) == "200 accepted");
    CHECK(answer_of(post_to(port, "acme", acme_signed, acme)) == "200 duplicate");
    CHECK(events_with_id(brokers, topic("acme.events"), acme_id).size() == 1);

    const std::string delivery = "rot-gh-" + run;
    const std::string push = R"({"ref":"refs/heads/rotation"})";
    const auto gh_signed = github_headers(kGithubSecondKey, delivery, "push", push);
    CHECK(answer_of(post_to(port, "gh", gh_signed, push)) == "200 accepted");
    CHECK(answer_of(post_to(port, "gh", gh_signed, push)) == "200 duplicate");
    CHECK(events_with_id(brokers, topic("gh.events"), delivery).size() == 1);

    const std::string pay_id = "evt_rot_" + run;
    const std::string charge = stripe_body(pay_id, "charge.refunded");
    CHECK(answer_of(post_to(port, "pay", stripe_headers(kStripeSecondKey, charge), charge)) ==
          "200 accepted");
    // Stripe retries with a fresh t= and signature: still the same event id.
    CHECK(answer_of(post_to(port, "pay", stripe_headers(kStripeKey, charge, -5s), charge)) ==
          "200 duplicate");
    CHECK(events_with_id(brokers, topic("pay.other.events"), pay_id).size() == 1);
  }

  TEST_CASE_FIXTURE(SourcesFixture, "two sources sending the same id are both published") {
    auto bridge = start(env());
    const int port = bridge->port();
    const std::string id = "shared-" + run;
    const std::string acme = acme_body("user.created");
    CHECK(answer_of(post_to(port, "acme", acme_headers(kStandardWebhooksSecret, id, acme), acme)) ==
          "200 accepted");
    CHECK(answer_of(post_to(port, "acme2", acme_headers(kStandardWebhooksSecret, id, acme),
                            acme)) == "200 accepted");
    const std::string push = R"({"ref":"refs/heads/shared"})";
    CHECK(answer_of(post_to(port, "gh", github_headers(kGithubExampleSecret, id, "push", push),
                            push)) == "200 accepted");
    const std::string charge = stripe_body(id, "charge.succeeded");
    CHECK(answer_of(post_to(port, "pay", stripe_headers(kStripeKey, charge), charge)) ==
          "200 accepted");
    const auto acme_events = events_with_id(brokers, topic("acme.events"), id);
    REQUIRE(acme_events.size() == 2);
    std::set<std::string> sources;
    for (const auto& event : acme_events)
      sources.insert(string_field(event, "source"));
    CHECK(sources == std::set<std::string>{"acme", "https://acme2.example/webhooks"});
    CHECK(events_with_id(brokers, topic("gh.events"), id).size() == 1);
    CHECK(events_with_id(brokers, topic("pay.other.events"), id).size() == 1);
  }

  TEST_CASE("the Standard Webhooks test vector is accepted and published (clock at its time)") {
    // The vector is signed at 1649367553, so the pipeline runs here with a clock at that time,
    // over the real producer; the event type comes from a header this source names.
    const std::string brokers = test_brokers();
    const std::string topic = unique_topic_prefix("sv") + "events";
    create_topic(brokers, topic, 1);
    ProducerSettings producer;
    producer.kafka.brokers = brokers;
    auto publisher = KafkaPublisher::create(producer);
    REQUIRE(publisher);
    auto verifier = make_profile_verifier(VerificationProfile::kStandardWebhooks,
                                          {kStandardWebhooksSecret}, std::chrono::seconds(300));
    REQUIRE(verifier);
    Source source;
    source.name = "vector";
    source.cloudevents_source = "https://sender.example";
    source.profile = VerificationProfile::kStandardWebhooks;
    source.verifier = std::move(verifier).value();
    source.type = {SourceField::From::kHeader, "x-event-type"};
    source.routes = RouteTable({{"*", "", topic, {"/username"}, ""}});
    auto cmr_verifier = SignatureVerifier::create({kTestKey}, SignatureScheme::kAuto);
    REQUIRE(cmr_verifier);
    const RouteTable cmr_routes({});
    const FixedClock clock(std::chrono::system_clock::time_point(1649367553s));
    NullObserver observer;
    const IngestPipeline pipeline({}, {.verifier = **cmr_verifier,
                                       .routes = cmr_routes,
                                       .publisher = **publisher,
                                       .clock = clock,
                                       .observer = observer});
    const HeaderList headers = {{"webhook-id", kStandardWebhooksId},
                                {"webhook-timestamp", kStandardWebhooksTimestamp},
                                {"webhook-signature", kStandardWebhooksSignature},
                                {"x-event-type", "user.signup"}};
    const HeaderListView view(headers);
    WebhookRequest request;
    request.body = kStandardWebhooksBody;
    request.source = &source;
    request.headers = &view;
    const Outcome outcome = pipeline.handle(request);
    CHECK(outcome.kind == OutcomeKind::kAccepted);
    CHECK(outcome.event_id == kStandardWebhooksId);
    CHECK(outcome.topic == topic);
    const auto records = read_topic(brokers, topic);
    REQUIRE(records.size() == 1);
    CHECK(records[0].key == "test_user");
    rapidjson::Document event;
    event.Parse(records[0].value.c_str());
    CHECK(string_field(event, "id") == kStandardWebhooksId);
    CHECK(string_field(event, "type") == "user.signup");
    CHECK(string_field(event, "source") == "https://sender.example");
    CHECK(string_field(event, "time") == "2022-04-07T21:39:13.000Z");
    CHECK(string_field(event["data"], "email") == "test@example.com");

    const FixedClock later(std::chrono::system_clock::time_point(1649367553s + 301s));
    const IngestPipeline late({}, {.verifier = **cmr_verifier,
                                   .routes = cmr_routes,
                                   .publisher = **publisher,
                                   .clock = later,
                                   .observer = observer});
    CHECK(late.handle(request).code == OutcomeCode::kTimestampExpired);
    delete_topic(brokers, topic);
  }
}
