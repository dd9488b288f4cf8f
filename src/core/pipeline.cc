#include "core/pipeline.h"

#include "core/timestamp.h"

namespace cmr_bridge {
namespace {
// An outcome carrying `code` about the event `id`, without a delivery.
Outcome outcome_for(const EventIdentity& id, OutcomeCode code, std::string_view signature_scheme) {
  Outcome outcome = outcome_with(code);
  outcome.event = id.event;
  outcome.event_id = id.event_id;
  outcome.signature_scheme = signature_scheme;
  return outcome;
}

// Decisions that go through the idempotency check carry a dedup identity; dead letters do not.
const DedupIdentity* dedup_identity(const Decision& decision) {
  return std::visit(
      [](const auto& d) -> const DedupIdentity* {
        if constexpr (std::is_same_v<std::decay_t<decltype(d)>, DeadLetterDecision>) {
          return nullptr;
        } else {
          return &d.dedup;
        }
      },
      decision);
}

// What the spool and the quarantine keep of a verified request: enough to decide it again as
// it was received, by the source it came to (reverified()).
SpooledRequest kept_form(const VerifiedRequest& request) {
  SpooledRequest kept{.body = std::string(request.body),
                      .timestamp = std::string(request.timestamp),
                      .signature_scheme = std::string(request.signature_scheme),
                      .received = request.received,
                      .traceparent = std::string(request.trace.traceparent),
                      .tracestate = std::string(request.trace.tracestate),
                      .delivery_id = std::string(request.delivery_id),
                      .event_type = std::string(request.event_type)};
  if (request.source_name != kCmrSourceName)
    kept.source = request.source_name;
  return kept;
}

// A metric's `source` label: a configured source's name or "cmr", never a request's text.
std::string_view metric_source(const VerifiedRequest& request) {
  return request.source != nullptr ? std::string_view(request.source->name) : kCmrSourceName;
}
}  // namespace

IngestPipeline::IngestPipeline(PipelineSettings settings, PipelineParts parts)
    : settings_(std::move(settings)), parts_(parts) {}

Outcome IngestPipeline::handle(const WebhookRequest& request) const {
  if (request.source != nullptr)
    return handle_source(request);
  const auto received = parts_.clock.now();

  // Timestamp window, then the MAC over the raw bytes. Nothing is parsed before both pass.
  const auto timestamp_error =
      check_timestamp_window(request.timestamp, received, settings_.timestamp_tolerance);
  if (timestamp_error != TimestampError::kNone) {
    Outcome outcome = outcome_with(error_code(timestamp_error));
    outcome.message = timestamp_error == TimestampError::kMissing
                          ? "cmr-x-timestamp header is required"
                      : timestamp_error == TimestampError::kMalformed
                          ? "cmr-x-timestamp must be a Unix time in seconds or milliseconds"
                          : "cmr-x-timestamp is outside the accepted window of ±" +
                                std::to_string(settings_.timestamp_tolerance.count()) + " s";
    return outcome;
  }
  const auto signature =
      parts_.verifier.verify(request.signature, request.timestamp.value_or(""), request.body);
  if (!signature.ok()) {
    Outcome outcome = outcome_with(error_code(signature.error));
    outcome.message = signature.error == SignatureError::kMissing
                          ? "cmr-x-signature header is required"
                      : signature.error == SignatureError::kMalformed
                          ? "cmr-x-signature is not a hex or base64 HMAC-SHA256 in the accepted "
                            "scheme"
                          : "cmr-x-signature does not match the body under any configured key";
    return outcome;
  }
  parts_.observer.on_signature_verified(to_string(signature.matched), kCmrSourceName);

  // From here the request is authentic: it is published, dead-lettered or spooled.
  const auto sent = to_time_point(*parse_timestamp(*request.timestamp));
  const VerifiedRequest verified{.body = request.body,
                                 .timestamp = *request.timestamp,
                                 .sent = sent,
                                 .received = received,
                                 .signature_scheme = to_string(signature.matched),
                                 .trace = request.trace};
  return publish_or_spool(verified);
}

Outcome IngestPipeline::publish_or_spool(const VerifiedRequest& verified) const {
  const Decision decision = decide(verified);
  const bool publishing_waits = parts_.ready_to_publish && !parts_.ready_to_publish();
  if (parts_.spool != nullptr && (parts_.spool->backlogged() || publishing_waits)) {
    // Earlier requests wait in the spool: queue behind them so each key stays in order. Before
    // the dedup warm-up a publish could repeat an event another process already published.
    if (const auto* duplicate = std::get_if<KnownDuplicateDecision>(&decision)) {
      parts_.observer.on_dedup(DedupResult::kDuplicate, metric_source(verified));
      return outcome_for(duplicate->id, OutcomeCode::kDuplicate, verified.signature_scheme);
    }
    return spool(verified, identity(decision));
  }
  Outcome outcome = publish_once(decision, verified);
  // A full or unwritable quarantine is not Kafka being away: spooling the request would only
  // bring it back to the same quarantine, with the spool queued behind it.
  const bool quarantine_refused = outcome.code == OutcomeCode::kQuarantineFull ||
                                  outcome.code == OutcomeCode::kQuarantineUnavailable;
  if (outcome.kind == OutcomeKind::kUnavailable && parts_.spool != nullptr && !quarantine_refused) {
    return spool(verified, identity(decision));
  }
  return outcome;
}

Outcome IngestPipeline::spool(const VerifiedRequest& request, const EventIdentity& id) const {
  const SpoolAppendResult result = parts_.spool->append(kept_form(request));
  if (result == SpoolAppendResult::kDurable) {
    return outcome_for(id, OutcomeCode::kSpooled, request.signature_scheme);
  }
  const bool full = result == SpoolAppendResult::kFull;
  Outcome outcome = outcome_for(id, full ? OutcomeCode::kSpoolFull : OutcomeCode::kSpoolUnavailable,
                                request.signature_scheme);
  outcome.retry_after = settings_.retry_after;
  outcome.message = full ? "Kafka is unavailable and the local spool is full"
                         : "Kafka is unavailable and the local spool cannot be written";
  return outcome;
}

VerifiedRequest reverified(const SpooledRequest& request, const SourceTable* sources) {
  const auto parsed = parse_timestamp(request.timestamp);
  // Validated again: a dead letter's headers are read back from Kafka.
  const TraceContext trace = parse_trace_context(
      request.traceparent.empty() ? 0 : 1, request.traceparent,
      request.tracestate.empty() ? std::nullopt
                                 : std::optional<std::string_view>(request.tracestate));
  return {.body = request.body,
          .timestamp = request.timestamp,
          .sent = parsed ? to_time_point(*parsed) : request.received,
          .received = request.received,
          .signature_scheme = request.signature_scheme,
          .trace = trace,
          .source = sources != nullptr ? sources->find(request.source) : nullptr,
          .source_name = request.source,
          .delivery_id = request.delivery_id,
          .event_type = request.event_type};
}

Outcome IngestPipeline::forward(const SpooledRequest& request) const {
  const VerifiedRequest verified = reverify(request);
  return publish_once(decide(verified), verified);
}

Outcome IngestPipeline::publish_once(const Decision& decision, const VerifiedRequest& request,
                                     bool dead_letter_conflicts) const {
  const DedupIdentity* dedup = dedup_identity(decision);
  if (dedup == nullptr || parts_.dedup == nullptr) {
    return deliver(decision, request);
  }
  if (const auto* duplicate = std::get_if<KnownDuplicateDecision>(&decision)) {
    parts_.observer.on_dedup(DedupResult::kDuplicate, metric_source(request));
    return outcome_for(duplicate->id, OutcomeCode::kDuplicate, request.signature_scheme);
  }
  return publish_claimed(decision, *dedup, request, dead_letter_conflicts);
}

Outcome IngestPipeline::publish_claimed(const Decision& decision, const DedupIdentity& dedup,
                                        const VerifiedRequest& request,
                                        bool dead_letter_conflicts) const {
  const EventIdentity& id = identity(decision);
  const std::string_view source =
      request.source != nullptr ? std::string_view(request.source->name) : std::string_view();
  const EventKey key = dedup.key ? *dedup.key : event_key(dedup_id(source, id.event_id));
  const uint64_t fingerprint = dedup.key ? dedup.body_fingerprint : body_fingerprint(request.body);
  const DedupResult result = parts_.dedup->claim_or_wait(
      key, fingerprint, std::chrono::steady_clock::now() + settings_.delivery_timeout);
  parts_.observer.on_dedup(result, metric_source(request));
  switch (result) {
    case DedupResult::kDuplicate:
      return outcome_for(id, OutcomeCode::kDuplicate, request.signature_scheme);
    case DedupResult::kConflict: {
      // Same eventId, different bytes: never republished; kept for a human to look at.
      const DeadLetterDecision conflict =
          dead_letter(request, OutcomeCode::kEventIdConflict,
                      "eventId was already received with a different body", id);
      if (!dead_letter_conflicts) {
        Outcome outcome = outcome_for(id, conflict.reason, request.signature_scheme);
        outcome.message = conflict.detail;
        return outcome;
      }
      return deliver_dead_letter(conflict, request);
    }
    case DedupResult::kInFlight: {
      Outcome outcome = outcome_for(id, OutcomeCode::kEventInFlight, request.signature_scheme);
      outcome.message = "the same eventId is being published by another request; retry later";
      outcome.retry_after = settings_.retry_after;
      return outcome;
    }
    case DedupResult::kClaimed:
      break;
  }
  Outcome outcome = deliver(decision, request);
  if (outcome.kind != OutcomeKind::kAccepted) {
    parts_.dedup->release(key);
    return outcome;
  }
  // Done only after the delivery report: marking earlier would lose the event if the
  // publish failed.
  parts_.dedup->complete(key, fingerprint);
  if (parts_.markers != nullptr) {
    parts_.markers->record({dedup_id(source, id.event_id), fingerprint, request.received,
                            outcome.topic, outcome.partition, outcome.offset});
  }
  return outcome;
}

Decision IngestPipeline::decide(const VerifiedRequest& request) const {
  if (request.source != nullptr)
    return decide_source(request);
  if (!request.source_name.empty() && request.source_name != kCmrSourceName) {
    // Spooled (or dead-lettered) under a configuration that had this source: kept on the
    // dead-letter topic for `redrive --source` once the source is configured again.
    std::string detail = "source " + std::string(request.source_name) + " is not configured";
    return dead_letter(request, OutcomeCode::kUnroutableEvent, std::move(detail),
                       {std::string(request.event_type), std::string(request.delivery_id)});
  }
  auto parsed = parse_envelope(request.body, settings_.envelope_limits);
  if (parsed.error != EnvelopeError::kNone) {
    return dead_letter(request, error_code(parsed.error), std::move(parsed.detail),
                       {std::move(parsed.event), std::move(parsed.event_id)});
  }
  const Envelope& envelope = *parsed.envelope;
  EventIdentity id{envelope.event(), envelope.event_id()};
  DedupIdentity dedup;
  if (parts_.dedup != nullptr) {
    dedup.key = event_key(envelope.event_id());
    dedup.body_fingerprint = body_fingerprint(request.body);
    // The same bytes were published before, so routing and validation decided "publish" then.
    if (parts_.dedup->lookup_done(*dedup.key, dedup.body_fingerprint) == DedupResult::kDuplicate) {
      return KnownDuplicateDecision{std::move(id), dedup};
    }
  }
  const Route* route = parts_.routes.find(envelope.event());
  if (route == nullptr) {
    return dead_letter(request, OutcomeCode::kUnroutableEvent,
                       "no route for event \"" + envelope.event() + "\"", std::move(id));
  }
  if (parts_.schemas != nullptr && route->schema != "none") {
    const std::string& schema = route->schema.empty() ? envelope.event() : route->schema;
    if (auto violation = parts_.schemas->validate(schema, envelope.data())) {
      return dead_letter(request, OutcomeCode::kSchemaViolation, "data" + *violation,
                         std::move(id));
    }
  }
  const std::string record_key = envelope.first_string(route->key_pointers).value_or("");
  const auto data =
      protect_credentials(envelope.raw_data(), settings_.credentials, envelope.event_id());
  if (!data) {
    return UnpreparedDecision{std::move(id), dedup, "credential encryption failed"};
  }
  return PublishDecision{
      std::move(id), dedup,
      make_cloudevent_record({envelope, *route, record_key, request.sent, request.received,
                              request.signature_scheme, *data, request.timestamp, request.trace},
                             settings_.cloudevents)};
}

DeadLetterDecision IngestPipeline::dead_letter(const VerifiedRequest& request, OutcomeCode reason,
                                               std::string detail, EventIdentity id) const {
  DeadLetterDecision decision{std::move(id), reason, std::move(detail), {}};
  Record& record = decision.record;
  record.topic = settings_.deadletter_topic;
  record.key = decision.id.event_id;
  record.value.assign(request.body);
  record.headers = {
      {"cmr-dlq-reason", std::string(to_string(reason))},
      {"cmr-dlq-detail", decision.detail},
      {"cmr-received-time", format_rfc3339(request.received)},
      {"cmr-signature-scheme", std::string(request.signature_scheme)},
      {"cmr-x-timestamp", std::string(request.timestamp)},
  };
  append_trace_headers(request.trace, record.headers);
  if (!decision.id.event.empty())
    record.headers.push_back({"cmr-event", decision.id.event});
  if (!decision.id.event_id.empty())
    record.headers.push_back({"cmr-event-id", decision.id.event_id});
  // Which source verified it, and what its headers said, so `redrive` decides it the same way.
  record.headers.push_back(
      {"cmr-source",
       std::string(request.source_name.empty() ? kCmrSourceName : request.source_name)});
  if (!request.delivery_id.empty())
    record.headers.push_back({"cmr-source-delivery-id", std::string(request.delivery_id)});
  if (!request.event_type.empty())
    record.headers.push_back({"cmr-source-event-type", std::string(request.event_type)});
  return decision;
}

Outcome IngestPipeline::deliver(const Decision& decision, const VerifiedRequest& request) const {
  const std::string_view signature_scheme = request.signature_scheme;
  if (const auto* publish = std::get_if<PublishDecision>(&decision)) {
    Outcome outcome =
        deliver(publish->id, publish->record, OutcomeCode::kNone, {}, signature_scheme);
    if (outcome.code != OutcomeCode::kUnpublishable)
      return outcome;
    // Kafka will never take this record: keep the signed bytes on the dead-letter topic with
    // the reason, rather than answering 503 (or spooling) for a retry that cannot succeed.
    const DeadLetterDecision rejected =
        dead_letter(request, OutcomeCode::kPublishRejected, outcome.message, publish->id);
    return deliver_dead_letter(rejected, request);
  }
  if (const auto* dead = std::get_if<DeadLetterDecision>(&decision)) {
    return deliver_dead_letter(*dead, request);
  }
  // Unprepared (a known duplicate never reaches a delivery: publish_once answers it first).
  Outcome failed = outcome_with(OutcomeCode::kInternalError);
  const EventIdentity& id = identity(decision);
  failed.event = id.event;
  failed.event_id = id.event_id;
  if (const auto* unprepared = std::get_if<UnpreparedDecision>(&decision))
    failed.message = unprepared->detail;
  failed.retry_after = settings_.retry_after;
  return failed;
}

Outcome IngestPipeline::deliver_dead_letter(const DeadLetterDecision& dead,
                                            const VerifiedRequest& request) const {
  Outcome outcome =
      deliver(dead.id, dead.record, dead.reason, dead.detail, request.signature_scheme);
  if (outcome.code != OutcomeCode::kUnpublishable || parts_.quarantine == nullptr)
    return outcome;
  return quarantine(dead, request, outcome);
}

Outcome IngestPipeline::quarantine(const DeadLetterDecision& dead, const VerifiedRequest& request,
                                   const Outcome& refused) const {
  const QuarantineResult result =
      parts_.quarantine->keep({kept_form(request), dead.id.event, dead.id.event_id,
                               std::string(to_string(dead.reason)), dead.detail, refused.message});
  if (result == QuarantineResult::kDurable) {
    Outcome outcome = outcome_for(dead.id, OutcomeCode::kQuarantined, request.signature_scheme);
    outcome.message = refused.message;
    return outcome;
  }
  const bool full = result == QuarantineResult::kFull;
  Outcome outcome = outcome_for(
      dead.id, full ? OutcomeCode::kQuarantineFull : OutcomeCode::kQuarantineUnavailable,
      request.signature_scheme);
  outcome.retry_after = settings_.retry_after;
  outcome.message = (full ? "Kafka can never accept this request and the quarantine is full: "
                          : "Kafka can never accept this request and the quarantine cannot be "
                            "written: ") +
                    refused.message;
  return outcome;
}

Outcome IngestPipeline::deliver(const EventIdentity& id, const Record& record,
                                OutcomeCode delivered_code, std::string_view delivered_detail,
                                std::string_view signature_scheme) const {
  const auto started = std::chrono::steady_clock::now();
  const auto report = parts_.publisher.publish(record, settings_.delivery_timeout);
  parts_.observer.on_delivery(record.topic, report.status == DeliveryStatus::kDelivered,
                              std::chrono::steady_clock::now() - started);
  if (report.status == DeliveryStatus::kDelivered) {
    Outcome outcome = outcome_for(id, delivered_code, signature_scheme);
    outcome.topic = record.topic;
    outcome.message = delivered_detail;
    outcome.partition = report.partition;
    outcome.offset = report.offset;
    return outcome;
  }
  OutcomeCode code = OutcomeCode::kDeliveryFailed;
  std::string message;
  switch (report.status) {
    case DeliveryStatus::kTimedOut:
      code = OutcomeCode::kDeliveryTimeout;
      message = "Kafka did not acknowledge the event within " +
                std::to_string(settings_.delivery_timeout.count()) + " ms";
      break;
    case DeliveryStatus::kQueueFull:
      code = OutcomeCode::kProducerQueueFull;
      message = "the producer queue is full; retry later";
      break;
    case DeliveryStatus::kRejected:
      code = OutcomeCode::kUnpublishable;
      message = "Kafka can never accept this record on topic " + record.topic + ": " + report.error;
      break;
    default:
      message = "Kafka did not accept the event: " + report.error;
      break;
  }
  Outcome outcome = outcome_for(id, code, signature_scheme);
  outcome.topic = record.topic;
  outcome.message = std::move(message);
  if (info(code).retry_after != RetryAfter::kNever)
    outcome.retry_after = settings_.retry_after;
  return outcome;
}

}  // namespace cmr_bridge
