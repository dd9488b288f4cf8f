#include "core/pipeline.h"

#include <doctest/doctest.h>

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
      SignatureVerifier::create({kTestKey}, SignatureScheme::kAuto);
  IngestPipeline pipeline{PipelineSettings{}, *verifier, routes, publisher, clock, observer};

  Outcome send(const std::string& body, std::string timestamp = kTestTimestamp) {
    const std::string signature =
        compute_signature(kTestKey, SignatureScheme::kTimestampBodyHex, timestamp, body);
    return pipeline.handle({signature, timestamp, body});
  }
};

}  // namespace

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
    CHECK(record.value == kDomainOrderSuccess);
    CHECK(header_value(record, "content-type") == "application/json");
    CHECK(header_value(record, "cmr-event") == "domain.order.success");
    CHECK(header_value(record, "cmr-event-id") == "6SSHBXWR3N4JEKGRQSG3KW3D76N6");
    CHECK(header_value(record, "cmr-received-time") == "2024-03-08T23:59:59.000Z");
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
      CHECK(outcome.code == c.code);
      CHECK(outcome.message.find(kTestKey) == std::string::npos);
    }
    CHECK(publisher.records.empty());
  }

  TEST_CASE_FIXTURE(PipelineFixture,
                    "a stale timestamp is refused before the MAC is even checked") {
    const Outcome outcome = send(kDomainOrderSuccess, "1709942098");
    CHECK(outcome.code == "timestamp_expired");
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
      CHECK(outcome.code == c.code);
      CHECK(outcome.retry_after.count() > 0);
    }
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
      CHECK(outcome.code == c.reason);
      CHECK(outcome.event_id == c.event_id);
      REQUIRE(publisher.records.size() == 1);
      const Record& record = publisher.records[0];
      CHECK(record.topic == "cmr.webhooks.deadletter");
      CHECK(record.value == c.body);
      CHECK(header_value(record, "cmr-dlq-reason") == c.reason);
      CHECK(header_value(record, "cmr-signature-scheme") == "timestamp-body-hex");
    }
  }

  TEST_CASE_FIXTURE(PipelineFixture,
                    "a dead-letter write that Kafka does not ack is unavailable, not a 2xx") {
    publisher.next_status = DeliveryStatus::kFailed;
    const Outcome outcome = send("{not json");
    CHECK(outcome.kind == OutcomeKind::kUnavailable);
  }

  TEST_CASE("RFC 3339 formatting keeps milliseconds and UTC") {
    using namespace std::chrono;
    CHECK(format_rfc3339(system_clock::time_point(milliseconds(1709942399123))) ==
          "2024-03-08T23:59:59.123Z");
    CHECK(format_rfc3339(system_clock::time_point(seconds(0))) == "1970-01-01T00:00:00.000Z");
  }
}
