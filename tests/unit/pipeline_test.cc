#include "core/pipeline.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include "core/signature.h"
#include "support/fakes.h"
#include "support/samples.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;

namespace {

std::string header_value(const Record& record, const std::string& name) {
  for (const auto& h : record.headers) {
    if (h.name == name)
      return h.value;
  }
  return "<absent>";
}

struct PipelineFixture {
  FixedClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(1709942399))};
  FakePublisher publisher;
  NullObserver observer;
  TopicNames topics;
  RouteTable routes = RouteTable::defaults(topics);
  std::unique_ptr<SignatureVerifier> verifier =
      SignatureVerifier::create({kTestKey}, SignatureScheme::kAuto).value();
  std::unique_ptr<SchemaSet> schemas = compile_test_schemas();
  IngestPipeline pipeline{PipelineSettings{},
                          {.verifier = *verifier,
                           .routes = routes,
                           .schemas = schemas.get(),
                           .publisher = publisher,
                           .clock = clock,
                           .observer = observer}};

  static std::unique_ptr<SchemaSet> compile_test_schemas() {
    auto set = SchemaSet::compile({{"domain.order.success", "test",
                                    R"({"type":"object","required":["orderId","userId"],
              "properties":{"orderId":{"type":"string","minLength":1},"price":{"type":"number"}}})"}});
    REQUIRE(set);
    return std::move(set).value();
  }

  Outcome send(const std::string& body, std::string timestamp = kTestTimestamp) {
    const std::string signature =
        compute_signature(kTestKey, SignatureScheme::kTimestampBodyHex, timestamp, body);
    return pipeline.handle({signature, timestamp, body});
  }
};

struct DedupFixture : PipelineFixture {
  DedupCache cache{{1000, std::chrono::hours(24)}, clock};
  FakeMarkerSink markers;
  // A pipeline sharing this fixture's cache, publisher and marker sink, routing by `table`.
  IngestPipeline deduped_with(const RouteTable& table) {
    return IngestPipeline{PipelineSettings{},
                          {.verifier = *verifier,
                           .routes = table,
                           .schemas = schemas.get(),
                           .publisher = publisher,
                           .clock = clock,
                           .observer = observer,
                           .dedup = &cache,
                           .markers = &markers}};
  }
  IngestPipeline deduped = deduped_with(routes);
  static Outcome send_to(const IngestPipeline& pipeline, const std::string& body) {
    const std::string signature =
        compute_signature(kTestKey, SignatureScheme::kBodyHex, kTestTimestamp, body);
    return pipeline.handle({signature, kTestTimestamp, body});
  }
  Outcome send_once(const std::string& body) { return send_to(deduped, body); }
};

}  // namespace

struct SpoolFixture : DedupFixture {
  FakeSpool spool_double;
  bool ready_to_publish = true;  // false: the dedup warm-up has not ended
  IngestPipeline spooled{PipelineSettings{},
                         {.verifier = *verifier,
                          .routes = routes,
                          .schemas = schemas.get(),
                          .publisher = publisher,
                          .clock = clock,
                          .observer = observer,
                          .dedup = &cache,
                          .markers = &markers,
                          .spool = &spool_double,
                          .ready_to_publish = [this] { return ready_to_publish; }}};
  Outcome send_spooled(const std::string& body) {
    const std::string signature =
        compute_signature(kTestKey, SignatureScheme::kBodyHex, kTestTimestamp, body);
    return spooled.handle({signature, kTestTimestamp, body});
  }
};

TEST_SUITE("pipeline spool") {
  TEST_CASE_FIXTURE(SpoolFixture,
                    "Kafka not acking with the spool on: the request is spooled and accepted") {
    publisher.next_status = DeliveryStatus::kTimedOut;
    const Outcome outcome = send_spooled(kDomainOrderSuccess);
    CHECK(outcome.kind == OutcomeKind::kAccepted);
    CHECK(to_string(outcome.code) == "spooled");
    REQUIRE(spool_double.requests.size() == 1);
    CHECK(spool_double.requests[0].body == kDomainOrderSuccess);
    CHECK(spool_double.requests[0].timestamp == kTestTimestamp);
    CHECK(spool_double.requests[0].signature_scheme == "body-hex");
    CHECK(cache.in_flight() == 0);  // the claim was released for the forwarder
  }

  TEST_CASE_FIXTURE(SpoolFixture, "a full or broken spool answers 503, never 200") {
    publisher.next_status = DeliveryStatus::kFailed;
    spool_double.result = SpoolAppendResult::kFull;
    Outcome outcome = send_spooled(kDomainOrderSuccess);
    CHECK(outcome.kind == OutcomeKind::kUnavailable);
    CHECK(to_string(outcome.code) == "spool_full");
    spool_double.result = SpoolAppendResult::kFailed;
    outcome = send_spooled(kDomainOrderSuccess);
    CHECK(outcome.kind == OutcomeKind::kUnavailable);
    CHECK(to_string(outcome.code) == "spool_unavailable");
  }

  TEST_CASE_FIXTURE(SpoolFixture,
                    "an event Kafka refuses permanently is dead-lettered, never spooled") {
    publisher.rejected_topics = {"cmr.order.events"};
    Outcome outcome = send_spooled(kDomainOrderSuccess);
    CHECK(to_string(outcome.code) == "publish_rejected");
    CHECK(spool_double.requests.empty());
    publisher.rejected_topics.insert(TopicNames{}.deadletter);
    outcome = send_spooled(kDomainOrderSuccess);
    CHECK(to_string(outcome.code) == "unpublishable");
    CHECK(spool_double.requests.empty());
    CHECK(cache.in_flight() == 0);
  }

  TEST_CASE_FIXTURE(
      SpoolFixture,
      "while the spool has a backlog, new requests queue behind it without touching Kafka") {
    spool_double.backlog = true;
    const Outcome outcome = send_spooled(kDomainOrderSuccess);
    CHECK(to_string(outcome.code) == "spooled");
    CHECK(publisher.records.empty());
    CHECK(spool_double.requests.size() == 1);
  }

  TEST_CASE_FIXTURE(SpoolFixture,
                    "until publishing is ready (dedup warm-up), requests are spooled, not "
                    "published; known duplicates are still answered") {
    REQUIRE(send_spooled(kDomainOrderSuccess).kind == OutcomeKind::kAccepted);
    ready_to_publish = false;
    std::string other = kDomainOrderSuccess;
    other.replace(other.find("6SSHBXWR3N4JEKGRQSG3KW3D76N6"), 28, "WARMUPWARMUPWARMUPWARMUP0001");
    CHECK(to_string(send_spooled(other).code) == "spooled");
    CHECK(send_spooled(kDomainOrderSuccess).kind == OutcomeKind::kDuplicate);
    CHECK(publisher.records.size() == 1);
    CHECK(spool_double.requests.size() == 1);
    ready_to_publish = true;
    CHECK(send_spooled(other).kind == OutcomeKind::kAccepted);
    CHECK(publisher.records.size() == 2);
  }

  TEST_CASE_FIXTURE(SpoolFixture, "a duplicate of a published event is not spooled again") {
    REQUIRE(send_spooled(kDomainOrderSuccess).kind == OutcomeKind::kAccepted);
    spool_double.backlog = true;
    CHECK(send_spooled(kDomainOrderSuccess).kind == OutcomeKind::kDuplicate);
    CHECK(spool_double.requests.empty());
  }

  TEST_CASE_FIXTURE(SpoolFixture,
                    "forwarding a spooled request publishes it once, then it is a duplicate") {
    const SpooledRequest spooled_request{kDomainOrderSuccess, kTestTimestamp, "body-hex",
                                         clock.now()};
    CHECK(spooled.forward(spooled_request).kind == OutcomeKind::kAccepted);
    CHECK(spooled.forward(spooled_request).kind == OutcomeKind::kDuplicate);
    CHECK(publisher.records.size() == 1);
    publisher.next_status = DeliveryStatus::kFailed;
    const SpooledRequest other{
        R"({"event":"mailbox.created","eventId":"X","data":{"orderId":"O"}})", kTestTimestamp,
        "body-hex", clock.now()};
    CHECK(spooled.forward(other).kind == OutcomeKind::kUnavailable);
  }
}

TEST_SUITE("pipeline idempotency") {
  TEST_CASE_FIXTURE(DedupFixture,
                    "a retry of an accepted event answers duplicate and produces nothing") {
    CHECK(send_once(kDomainOrderSuccess).kind == OutcomeKind::kAccepted);
    const Outcome retry = send_once(kDomainOrderSuccess);
    CHECK(retry.kind == OutcomeKind::kDuplicate);
    CHECK(retry.event_id == "6SSHBXWR3N4JEKGRQSG3KW3D76N6");
    CHECK(publisher.records.size() == 1);
  }

  TEST_CASE_FIXTURE(DedupFixture,
                    "a retry of published bytes is a duplicate before routing: a config that no "
                    "longer routes the event does not dead-letter the retry") {
    CHECK(send_once(kDomainOrderSuccess).kind == OutcomeKind::kAccepted);
    const RouteTable no_routes{{}};
    const IngestPipeline reconfigured = deduped_with(no_routes);
    const Outcome retry = send_to(reconfigured, kDomainOrderSuccess);
    CHECK(retry.kind == OutcomeKind::kDuplicate);
    CHECK(retry.event == "domain.order.success");
    CHECK(retry.event_id == "6SSHBXWR3N4JEKGRQSG3KW3D76N6");
    CHECK(publisher.records.size() == 1);
    // New bytes under that config are still judged in full: unroutable → dead letter.
    std::string other = kDomainOrderSuccess;
    other.replace(other.find("6SSHBXWR3N4JEKGRQSG3KW3D76N6"), 28, "6SSHBXWR3N4JEKGRQSG3KW3D76N7");
    CHECK(to_string(send_to(reconfigured, other).code) == "unroutable_event");
  }

  TEST_CASE_FIXTURE(DedupFixture,
                    "the marker is recorded after the delivery report, with where the event went") {
    send_once(kDomainOrderSuccess);
    REQUIRE(markers.markers.size() == 1);
    const DedupMarker& marker = markers.markers[0];
    CHECK(marker.event_id == "6SSHBXWR3N4JEKGRQSG3KW3D76N6");
    CHECK(marker.topic == "cmr.order.events");
    CHECK(marker.partition == 2);
    CHECK(marker.offset == 41);
    CHECK(marker.body_fingerprint == body_fingerprint(kDomainOrderSuccess));
  }

  TEST_CASE_FIXTURE(DedupFixture,
                    "a failed publish releases the claim: the retry publishes exactly once") {
    publisher.next_status = DeliveryStatus::kFailed;
    CHECK(send_once(kDomainOrderSuccess).kind == OutcomeKind::kUnavailable);
    CHECK(markers.markers.empty());
    publisher.next_status = DeliveryStatus::kDelivered;
    CHECK(send_once(kDomainOrderSuccess).kind == OutcomeKind::kAccepted);
    CHECK(send_once(kDomainOrderSuccess).kind == OutcomeKind::kDuplicate);
    CHECK(publisher.records.size() == 2);  // the failed attempt and the one that landed
    CHECK(markers.markers.size() == 1);
  }

  TEST_CASE_FIXTURE(DedupFixture,
                    "the same eventId with a different body is dead-lettered as a conflict") {
    send_once(kDomainOrderSuccess);
    std::string changed = kDomainOrderSuccess;
    changed.replace(changed.find("15.88"), 5, "99.99");
    const Outcome outcome = send_once(changed);
    CHECK(outcome.kind == OutcomeKind::kDeadLettered);
    CHECK(to_string(outcome.code) == "eventid_conflict");
    REQUIRE(publisher.records.size() == 2);
    CHECK(publisher.records[1].topic == "cmr.webhooks.deadletter");
    CHECK(publisher.records[1].value == changed);
    CHECK(header_value(publisher.records[1], "cmr-dlq-reason") == "eventid_conflict");
  }

  TEST_CASE_FIXTURE(DedupFixture,
                    "dead-lettered events are not remembered, so a fixed schema can redrive them") {
    const std::string bad =
        R"({"event":"domain.order.success","eventId":"E9","data":{"orderId":"O","userId":"U","price":"free"}})";
    CHECK(send_once(bad).kind == OutcomeKind::kDeadLettered);
    CHECK(send_once(bad).kind == OutcomeKind::kDeadLettered);
    CHECK(cache.size() == 0);
  }
}

TEST_SUITE("pipeline") {
  TEST_CASE_FIXTURE(PipelineFixture, "a signed documented event is published and then accepted") {
    const Outcome outcome = send(kDomainOrderSuccess);
    CHECK(outcome.kind == OutcomeKind::kAccepted);
    CHECK(outcome.event_id == "6SSHBXWR3N4JEKGRQSG3KW3D76N6");
    CHECK(outcome.offset == 41);
    CHECK(outcome.signature_scheme == "timestamp-body-hex");
    REQUIRE(publisher.records.size() == 1);
    const Record& record = publisher.records[0];
    CHECK(record.topic == "cmr.order.events");
    CHECK(record.key == "NQ682GAVFTMYC2H6C87PPKPG5WXV");
    CHECK(header_value(record, "content-type") == "application/cloudevents+json; charset=utf-8");
    rapidjson::Document event;
    event.Parse(record.value.c_str());
    REQUIRE(event.IsObject());
    CHECK(std::string(event["specversion"].GetString()) == "1.0");
    CHECK(std::string(event["id"].GetString()) == "6SSHBXWR3N4JEKGRQSG3KW3D76N6");
    CHECK(std::string(event["type"].GetString()) == "domain.order.success");
    CHECK(std::string(event["time"].GetString()) == "2024-03-08T23:59:59.000Z");
    CHECK(std::string(event["subject"].GetString()) == "NQ682GAVFTMYC2H6C87PPKPG5WXV");
    CHECK(std::string(event["lifecycle"].GetString()) == "order");
    CHECK(std::string(event["outcome"].GetString()) == "success");
    CHECK(std::string(event["domain"].GetString()) == "company.com");
    // `data` is forwarded byte for byte.
    const std::string data_json = kDomainOrderSuccess.substr(
        kDomainOrderSuccess.find("\"data\":") + 7,
        kDomainOrderSuccess.size() - kDomainOrderSuccess.find("\"data\":") - 8);
    CHECK(record.value.find("\"data\":" + data_json + "}") != std::string::npos);
  }

  TEST_CASE_FIXTURE(PipelineFixture,
                    "a schema violation is dead-lettered with the JSON pointer that failed") {
    const std::string body =
        R"({"event":"domain.order.success","eventId":"E9","data":{"orderId":"O","userId":"U","price":"free"}})";
    const Outcome outcome = send(body);
    CHECK(outcome.kind == OutcomeKind::kDeadLettered);
    CHECK(to_string(outcome.code) == "schema_violation");
    CHECK(outcome.message == "data/price: type");
    REQUIRE(publisher.records.size() == 1);
    CHECK(publisher.records[0].topic == "cmr.webhooks.deadletter");
    CHECK(publisher.records[0].value == body);
    CHECK(header_value(publisher.records[0], "cmr-dlq-detail") == "data/price: type");
  }

  TEST_CASE_FIXTURE(PipelineFixture,
                    "events without a schema of their own are published on envelope checks alone") {
    const Outcome outcome =
        send(R"({"event":"subscription.renewing","eventId":"E10","data":{"subscriptionId":"S"}})");
    CHECK(outcome.kind == OutcomeKind::kAccepted);
  }

  TEST_CASE_FIXTURE(PipelineFixture,
                    "the partition key falls back from the entity id to mailboxId, then userId") {
    send(
        R"({"event":"subscription.cancelled","eventId":"A","data":{"subscriptionId":"S1","userId":"U"}})");
    send(R"({"event":"mailbox.updated","eventId":"B","data":{"mailboxId":"M1","userId":"U"}})");
    send(R"({"event":"subscription.renewal.failed","eventId":"C","data":{"userId":"U2"}})");
    REQUIRE(publisher.records.size() == 3);
    CHECK(publisher.records[0].topic == "cmr.subscription.events");
    CHECK(publisher.records[0].key == "S1");
    CHECK(publisher.records[1].key == "M1");
    CHECK(publisher.records[2].key == "U2");
  }

  TEST_CASE_FIXTURE(PipelineFixture, "auth failures answer unauthorized and publish nothing") {
    struct Case {
      std::optional<std::string> signature;
      std::optional<std::string> timestamp;
      const char* code;
    };
    const Case cases[] = {
        {kBodyHex, std::nullopt, "missing_timestamp"},
        {kBodyHex, "soon", "malformed_timestamp"},
        {kBodyHex, "1709942098", "timestamp_expired"},
        {kBodyHex, "1709942700", "timestamp_in_future"},
        {std::nullopt, kTestTimestamp, "missing_signature"},
        {"zz", kTestTimestamp, "malformed_signature"},
        {kBodyHexOtherKey, kTestTimestamp, "signature_mismatch"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.code);
      WebhookRequest request;
      if (c.signature)
        request.signature = *c.signature;
      if (c.timestamp)
        request.timestamp = *c.timestamp;
      request.body = kDomainOrderSuccess;
      const Outcome outcome = pipeline.handle(request);
      CHECK(outcome.kind == OutcomeKind::kUnauthorized);
      CHECK(to_string(outcome.code) == c.code);
      CHECK(outcome.message.find(kTestKey) == std::string::npos);
    }
    CHECK(publisher.records.empty());
  }

  TEST_CASE_FIXTURE(PipelineFixture,
                    "a stale timestamp is refused before the MAC is even checked") {
    const Outcome outcome = send(kDomainOrderSuccess, "1709942098");
    CHECK(to_string(outcome.code) == "timestamp_expired");
  }

  TEST_CASE_FIXTURE(PipelineFixture, "delivery failures answer unavailable with Retry-After") {
    struct Case {
      DeliveryStatus status;
      const char* code;
    };
    for (const auto& c : {Case{DeliveryStatus::kTimedOut, "delivery_timeout"},
                          Case{DeliveryStatus::kFailed, "delivery_failed"},
                          Case{DeliveryStatus::kQueueFull, "producer_queue_full"}}) {
      CAPTURE(c.code);
      publisher.next_status = c.status;
      const Outcome outcome = send(kDomainOrderSuccess);
      CHECK(outcome.kind == OutcomeKind::kUnavailable);
      CHECK(to_string(outcome.code) == c.code);
      CHECK(outcome.retry_after.count() > 0);
    }
  }

  TEST_CASE_FIXTURE(PipelineFixture,
                    "an event Kafka refuses permanently goes to the dead-letter topic with the "
                    "Kafka error, answered 200 dead_lettered") {
    publisher.rejected_topics = {"cmr.order.events"};
    const Outcome outcome = send(kDomainOrderSuccess);
    CHECK(outcome.kind == OutcomeKind::kDeadLettered);
    CHECK(to_string(outcome.code) == "publish_rejected");
    CHECK(outcome.retry_after.count() == 0);
    REQUIRE(publisher.records.size() == 2);
    const Record& dead = publisher.records[1];
    CHECK(dead.topic == topics.deadletter);
    CHECK(dead.value == kDomainOrderSuccess);
    CHECK(header_value(dead, "cmr-dlq-reason") == "publish_rejected");
    CHECK(header_value(dead, "cmr-dlq-detail").find("cmr.order.events") != std::string::npos);
    CHECK(header_value(dead, "cmr-event-id") == "6SSHBXWR3N4JEKGRQSG3KW3D76N6");
  }

  TEST_CASE_FIXTURE(PipelineFixture,
                    "when the dead letter is refused permanently too, the answer is 422 "
                    "unpublishable without Retry-After") {
    publisher.next_status = DeliveryStatus::kRejected;
    Outcome outcome = send(kDomainOrderSuccess);
    CHECK(outcome.kind == OutcomeKind::kRejected);
    CHECK(to_string(outcome.code) == "unpublishable");
    CHECK(info(outcome.code).http_status == 422);
    CHECK(outcome.retry_after.count() == 0);
    CHECK(outcome.topic == topics.deadletter);
    outcome = send(R"({"not":"an envelope")");
    CHECK(to_string(outcome.code) == "unpublishable");
  }

  TEST_CASE_FIXTURE(PipelineFixture, "the publish deadline is the configured delivery timeout") {
    send(kDomainOrderSuccess);
    CHECK(publisher.last_deadline == PipelineSettings{}.delivery_timeout);
  }

  TEST_CASE_FIXTURE(PipelineFixture,
                    "signed but unusable requests go to the dead-letter topic byte for byte") {
    struct Case {
      std::string body;
      const char* reason;
      const char* event_id;
    };
    const Case cases[] = {
        {"{not json", "invalid_json", ""},
        {std::string("{\"event\":\"x\xc3\",\"eventId\":\"E\",\"data\":{}}"), "invalid_json", ""},
        {R"({"event":"mailbox.created","eventId":"E2","data":[]})", "invalid_envelope", "E2"},
        {R"({"event":"domain.renewal.success","eventId":"E3","data":{"userId":"U"}})",
         "unroutable_event", "E3"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.reason);
      publisher.records.clear();
      const Outcome outcome = send(c.body);
      CHECK(outcome.kind == OutcomeKind::kDeadLettered);
      CHECK(to_string(outcome.code) == c.reason);
      CHECK(outcome.event_id == c.event_id);
      REQUIRE(publisher.records.size() == 1);
      const Record& record = publisher.records[0];
      CHECK(record.topic == "cmr.webhooks.deadletter");
      CHECK(record.value == c.body);
      CHECK(header_value(record, "cmr-dlq-reason") == c.reason);
      CHECK(header_value(record, "cmr-signature-scheme") == "timestamp-body-hex");
      CHECK(header_value(record, "cmr-x-timestamp") == kTestTimestamp);
    }
  }

  TEST_CASE_FIXTURE(PipelineFixture,
                    "a dead-letter write that Kafka does not ack is unavailable, not a 2xx") {
    publisher.next_status = DeliveryStatus::kFailed;
    const Outcome outcome = send("{not json");
    CHECK(outcome.kind == OutcomeKind::kUnavailable);
  }

  TEST_CASE_FIXTURE(SpoolFixture,
                    "a request's trace context reaches its record, its spool entry and a dead "
                    "letter, and comes back from the spool") {
    const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const std::string state = "rojo=00f067aa0ba902b7";
    const auto send_traced = [&](const IngestPipeline& to, const std::string& body) {
      const std::string signature =
          compute_signature(kTestKey, SignatureScheme::kBodyHex, kTestTimestamp, body);
      return to.handle({signature, kTestTimestamp, body, TraceContext{parent, state}});
    };
    REQUIRE(send_traced(pipeline, kDomainOrderSuccess).kind == OutcomeKind::kAccepted);
    REQUIRE(publisher.records.size() == 1);
    CHECK(header_value(publisher.records[0], "traceparent") == parent);
    CHECK(header_value(publisher.records[0], "tracestate") == state);

    const std::string unroutable = R"({"event":"no.such.event","eventId":"U1","data":{}})";
    REQUIRE(send_traced(pipeline, unroutable).kind == OutcomeKind::kDeadLettered);
    REQUIRE(publisher.records.size() == 2);
    CHECK(header_value(publisher.records[1], "cmr-dlq-reason") == "unroutable_event");
    CHECK(header_value(publisher.records[1], "traceparent") == parent);
    CHECK(header_value(publisher.records[1], "tracestate") == state);

    spool_double.backlog = true;
    const std::string other =
        R"({"event":"mailbox.created","eventId":"T2","data":{"orderId":"O"}})";
    REQUIRE(to_string(send_traced(spooled, other).code) == "spooled");
    REQUIRE(spool_double.requests.size() == 1);
    CHECK(spool_double.requests[0].traceparent == parent);
    CHECK(spool_double.requests[0].tracestate == state);
    spool_double.backlog = false;
    REQUIRE(spooled.forward(spool_double.requests[0]).kind == OutcomeKind::kAccepted);
    CHECK(header_value(publisher.records.back(), "traceparent") == parent);
    CHECK(header_value(publisher.records.back(), "tracestate") == state);
  }

  TEST_CASE_FIXTURE(SpoolFixture,
                    "a spooled or dead-lettered trace that no longer validates is "
                    "dropped, the request is not") {
    SpooledRequest request{kDomainOrderSuccess, kTestTimestamp,      "body-hex",
                           clock.now(),         "not-a-traceparent", "rojo=1"};
    REQUIRE(spooled.forward(request).kind == OutcomeKind::kAccepted);
    CHECK(header_value(publisher.records.back(), "traceparent") == "<absent>");
    CHECK(header_value(publisher.records.back(), "tracestate") == "<absent>");
  }
}
