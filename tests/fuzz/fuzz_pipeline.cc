// Fuzzes the whole IngestPipeline::handle with a publisher that acknowledges at once and a
// fixed clock.
//
// Input: one control byte, then
//   control bit 0 = 1 (signed): the rest is the body; the harness signs it correctly with the
//                    scheme and key the control byte picks and a timestamp inside the window,
//                    so the fuzzer reaches parsing, routing, validation and normalization;
//   control bit 0 = 0 (as sent): the rest is "<cmr-x-signature>\n<cmr-x-timestamp>\n<body>".
//   bits 1-2: signature scheme      bit 3: CloudEvents binary mode (else structured)
//   bit 4: no schemas (envelope checks only)                     bit 5: dedup cache + replays
//   bit 6: the first publish fails (timed out when bit 4, else failed)
//   bit 7: timestamp in milliseconds and the second key
//
// Invariants:
//   - unauthorized ⇒ nothing published, nothing reported as verified; a correctly signed
//     request inside the window is never unauthorized;
//   - accepted ⇒ exactly one record, on an event topic, that the envelope oracle agrees is
//     routable (and schema-valid when schemas are on); structured value strict JSON with the
//     same data, binary value the raw data bytes;
//   - dead-lettered ⇒ exactly one record, on the dead-letter topic, whose value equals the
//     input body byte for byte and whose cmr-dlq-reason is the outcome code;
//   - unavailable only when the publisher failed;
//   - with dedup: replaying an accepted request is a duplicate and publishes nothing; the same
//     eventId with other bytes is dead-lettered as eventid_conflict; a failed publish releases
//     its claim so the retry goes through.
#include <sanitizer/lsan_interface.h>

#include <memory>
#include <string>

#include "config/file_loaders.h"
#include "core/pipeline.h"
#include "core/signature.h"
#include "fuzz_common.h"

using namespace cmr_bridge;
using namespace cmr_bridge::fuzz;

namespace {

const std::vector<std::string> kKeys = {"fuzz-key-1", "fuzz-key-2-rotated"};
constexpr SignatureScheme kConcrete[4] = {SignatureScheme::kBodyHex, SignatureScheme::kBodyBase64,
                                          SignatureScheme::kTimestampBodyHex,
                                          SignatureScheme::kTimestampBodyBase64};
constexpr int64_t kNowSeconds = 1'709'942'399;

struct World {
  TopicNames topics;
  RouteTable routes = RouteTable::defaults(topics);
  std::unique_ptr<SchemaSet> schemas;
  std::unique_ptr<SignatureVerifier> verifier;
  FixedClock clock{
      std::chrono::system_clock::time_point(std::chrono::milliseconds(kNowSeconds * 1000 + 500))};
};

const World& world() {
  static const World* w = [] {
    // Built once and kept for the process's life. RapidJSON (48-bit pointer optimisation)
    // keeps flags in the top bits of its string pointers, so LeakSanitizer cannot see that
    // the compiled schemas still reference their strings and would call them leaked at exit.
    __lsan::ScopedDisabler not_a_leak;
    auto* out = new World();
    std::string error;
    auto schemas = load_schemas(CMR_BRIDGE_SOURCE_SCHEMA_DIR, out->routes);
    if (schemas) {
      out->schemas = std::move(schemas.value());
    } else {
      error = schemas.error().message();
    }
    out->verifier = SignatureVerifier::create(kKeys, SignatureScheme::kAuto).value();
    if (!out->schemas || !out->verifier) {
      std::fprintf(stderr, "fuzz_pipeline: setup failed: %s\n", error.c_str());
      std::abort();
    }
    return out;
  }();
  return *w;
}

class CountingObserver final : public PipelineObserver {
 public:
  void on_signature_verified(std::string_view, std::string_view) override { ++verified; }
  void on_outcome(const Outcome&, std::chrono::nanoseconds) override {}
  void on_delivery(const std::string&, bool, std::chrono::nanoseconds) override {}
  void on_dedup(DedupResult, std::string_view) override {}
  void on_http_response(std::string_view, int) override {}
  int verified = 0;
};

bool is_event_topic(const TopicNames& topics, const std::string& topic) {
  return topic == topics.order || topic == topics.subscription || topic == topics.prewarmup;
}

void check_dead_letter(const Outcome& outcome, const Record& record, std::string_view body,
                       const World& w, bool schemas_on) {
  FUZZ_CHECK(record.topic == w.topics.deadletter, "dead letter must go to the DLQ topic");
  FUZZ_CHECK(outcome.topic == record.topic, "outcome topic is the record's");
  FUZZ_CHECK(record.value == body, "DLQ value must equal the body byte for byte");
  const std::string* reason = header(record, "cmr-dlq-reason");
  FUZZ_CHECK(reason && *reason == to_string(outcome.code),
             "cmr-dlq-reason must be the outcome code");
  FUZZ_CHECK(header(record, "cmr-x-timestamp") != nullptr, "cmr-x-timestamp header");
  // The reason agrees with an independent look at the body.
  const EnvelopeResult parsed = parse_envelope(body);
  if (parsed.error != EnvelopeError::kNone) {
    FUZZ_CHECK(outcome.code == error_code(parsed.error), "DLQ reason must be the parse error");
    return;
  }
  const Route* route = w.routes.find(parsed.envelope->event());
  if (route == nullptr) {
    FUZZ_CHECK(outcome.code == OutcomeCode::kUnroutableEvent, "no route ⇒ unroutable_event");
    return;
  }
  FUZZ_CHECK(outcome.code == OutcomeCode::kSchemaViolation ||
                 outcome.code == OutcomeCode::kEventIdConflict,
             "a routable envelope is dead-lettered only for its schema or a conflict");
  FUZZ_CHECK(schemas_on || outcome.code != OutcomeCode::kSchemaViolation,
             "no schemas ⇒ no violation");
  FUZZ_CHECK(record.key == parsed.envelope->event_id(), "DLQ key is the eventId");
}

void check_accepted(const Outcome& outcome, const Record& record, std::string_view body,
                    const World& w, bool schemas_on, CloudEventsMode mode) {
  FUZZ_CHECK(is_event_topic(w.topics, record.topic), "accepted record must be on an event topic");
  FUZZ_CHECK(outcome.topic == record.topic, "outcome topic is the record's");
  FUZZ_CHECK(outcome.code == OutcomeCode::kNone, "accepted has no code");
  const EnvelopeResult parsed = parse_envelope(body);
  FUZZ_CHECK(parsed.error == EnvelopeError::kNone, "accepted body must be a valid envelope");
  const Envelope& envelope = *parsed.envelope;
  const Route* route = w.routes.find(envelope.event());
  FUZZ_CHECK(route != nullptr && route->topic == record.topic, "accepted only on its route");
  if (schemas_on && route->schema != "none") {
    FUZZ_CHECK(!w.schemas->validate(envelope.event(), envelope.data()).has_value(),
               "accepted data must satisfy its schema");
  }
  FUZZ_CHECK(outcome.event == envelope.event() && outcome.event_id == envelope.event_id(),
             "outcome identity");
  FUZZ_CHECK(record.key == envelope.first_string(route->key_pointers).value_or(""),
             "record key is the route's key");
  if (mode == CloudEventsMode::kStructured) {
    const bool f1 = skip_f1(envelope.event(), envelope.event_id(), envelope.data());
    rapidjson::Document value;
    FUZZ_CHECK(f1 ? parse_lenient(record.value, value) : parse_strict(record.value, value),
               "structured value must be strict JSON");
    FUZZ_CHECK(value.HasMember("data") && same_json(value["data"], envelope.data()),
               "structured data must equal the envelope's data");
    FUZZ_CHECK(string_member(value, "id") == envelope.event_id(), "id must be eventId");
  } else {
    FUZZ_CHECK(record.value == envelope.raw_data(), "binary value must be the raw data bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  const World& w = world();
  const uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  const bool sign = control & 0x01;
  const SignatureScheme scheme = kConcrete[(control >> 1) & 3];
  const CloudEventsMode mode =
      (control & 0x08) ? CloudEventsMode::kBinary : CloudEventsMode::kStructured;
  const bool schemas_on = !(control & 0x10);
  const bool dedup_on = control & 0x20;
  const bool first_fails = control & 0x40;
  const bool millis = control & 0x80;

  std::string timestamp_storage;
  std::string signature_storage;
  WebhookRequest request;
  if (sign) {
    request.body = input;
    timestamp_storage =
        millis ? std::to_string(kNowSeconds * 1000 + 123) : std::to_string(kNowSeconds);
    signature_storage = compute_signature(kKeys[millis ? 1 : 0], scheme, timestamp_storage, input);
    FUZZ_CHECK(!signature_storage.empty(), "compute_signature must not fail");
    request.signature = signature_storage;
    request.timestamp = timestamp_storage;
  } else {
    const auto parts = split3(input);
    request.signature = parts.first;
    request.timestamp = parts.second;
    request.body = parts.rest;
  }

  AckingPublisher publisher;
  publisher.next_status = !first_fails
                              ? DeliveryStatus::kDelivered
                              : (schemas_on ? DeliveryStatus::kFailed : DeliveryStatus::kTimedOut);
  CountingObserver observer;
  std::unique_ptr<DedupCache> dedup;
  if (dedup_on)
    dedup = std::make_unique<DedupCache>(DedupSettings{8, std::chrono::hours(1)}, w.clock);
  PipelineSettings settings;
  settings.delivery_timeout = std::chrono::milliseconds(200);
  settings.cloudevents.mode = mode;
  const IngestPipeline pipeline(std::move(settings),
                                {.verifier = *w.verifier,
                                 .routes = w.routes,
                                 .schemas = schemas_on ? w.schemas.get() : nullptr,
                                 .publisher = publisher,
                                 .clock = w.clock,
                                 .observer = observer,
                                 .dedup = dedup.get()});

  const Outcome first = pipeline.handle(request);
  FUZZ_CHECK(info(first.code).kind == first.kind, "an outcome's kind is its code's");
  switch (first.kind) {
    case OutcomeKind::kUnauthorized:
      FUZZ_CHECK(!sign || !auto_admits(scheme, timestamp_storage, input),
                 "a correctly signed request inside the window must not be unauthorized");
      FUZZ_CHECK(publisher.records.empty(), "unauthorized ⇒ nothing published");
      FUZZ_CHECK(observer.verified == 0, "unauthorized ⇒ never reported verified");
      FUZZ_CHECK(first.code != OutcomeCode::kNone, "unauthorized has a code");
      return 0;
    case OutcomeKind::kAccepted:
      FUZZ_CHECK(!first_fails, "accepted although the publish failed");
      FUZZ_CHECK(publisher.records.size() == 1, "accepted ⇒ exactly one record");
      check_accepted(first, publisher.records[0], request.body, w, schemas_on, mode);
      break;
    case OutcomeKind::kDeadLettered:
      FUZZ_CHECK(!first_fails, "dead-lettered although the publish failed");
      FUZZ_CHECK(publisher.records.size() == 1, "dead-lettered ⇒ exactly one record");
      check_dead_letter(first, publisher.records[0], request.body, w, schemas_on);
      break;
    case OutcomeKind::kUnavailable:
      FUZZ_CHECK(first_fails, "unavailable although the publisher acknowledged");
      FUZZ_CHECK(publisher.records.size() == 1, "one publish attempt");
      FUZZ_CHECK(
          first.code == OutcomeCode::kDeliveryFailed || first.code == OutcomeCode::kDeliveryTimeout,
          "unavailable code");
      break;
    default:  // duplicate, in flight (fresh cache), or any kind the pipeline does not produce
      FUZZ_CHECK(false, "unexpected outcome kind for a fresh pipeline");
  }
  FUZZ_CHECK(observer.verified == 1, "a verified request is reported once");
  if (sign) {
    FUZZ_CHECK(first.signature_scheme == to_string(scheme), "outcome names the signing scheme");
  }
  if (!dedup_on)
    return 0;

  // Replays against the same dedup cache, publisher acknowledging from now on.
  publisher.next_status = DeliveryStatus::kDelivered;
  const std::size_t before = publisher.records.size();
  const Outcome second = pipeline.handle(request);
  if (first.kind == OutcomeKind::kAccepted) {
    FUZZ_CHECK(second.kind == OutcomeKind::kDuplicate, "a replayed accepted event is a duplicate");
    FUZZ_CHECK(publisher.records.size() == before, "a duplicate publishes nothing");
    FUZZ_CHECK(second.event_id == first.event_id, "duplicate names the eventId");
    // Same eventId, different bytes (trailing whitespace keeps it valid JSON).
    std::string other_body(request.body);
    other_body += ' ';
    std::string other_signature(request.signature.value_or(""));
    if (sign) {
      other_signature =
          compute_signature(kKeys[millis ? 1 : 0], scheme, timestamp_storage, other_body);
    }
    const Outcome third = pipeline.handle(
        {request.signature ? std::optional<std::string_view>(other_signature) : std::nullopt,
         request.timestamp, other_body});
    if (third.kind != OutcomeKind::kUnauthorized) {
      FUZZ_CHECK(
          third.kind == OutcomeKind::kDeadLettered && third.code == OutcomeCode::kEventIdConflict,
          "same eventId with other bytes must be dead-lettered as a conflict");
      FUZZ_CHECK(
          publisher.records.size() == before + 1 && publisher.records.back().value == other_body,
          "conflict DLQ value is the second body byte for byte");
    } else {
      FUZZ_CHECK(!sign, "a correctly signed conflict must not be unauthorized");
    }
  } else if (first.kind == OutcomeKind::kDeadLettered) {
    FUZZ_CHECK(second.kind == OutcomeKind::kDeadLettered && second.code == first.code,
               "a replayed dead letter is dead-lettered again");
    FUZZ_CHECK(
        publisher.records.size() == before + 1 && publisher.records.back().value == request.body,
        "replayed dead letter: one more DLQ record, same bytes");
  } else if (first.kind == OutcomeKind::kUnavailable) {
    FUZZ_CHECK(second.kind == OutcomeKind::kAccepted || second.kind == OutcomeKind::kDeadLettered,
               "a failed publish must release its claim so the retry goes through");
    FUZZ_CHECK(publisher.records.size() == before + 1, "the retry publishes once");
    if (second.kind == OutcomeKind::kAccepted) {
      check_accepted(second, publisher.records.back(), request.body, w, schemas_on, mode);
    } else {
      check_dead_letter(second, publisher.records.back(), request.body, w, schemas_on);
    }
  }
  return 0;
}
