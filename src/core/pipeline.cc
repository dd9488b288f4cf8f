#include "core/pipeline.h"

#include <charconv>
#include <ctime>

#include "core/timestamp.h"

namespace cmr_bridge {
namespace {
// An outcome about `decision`'s event, without a delivery.
Outcome outcome_for(const Decision& decision, OutcomeKind kind, std::string code,
                    std::string_view signature_scheme) {
  Outcome outcome;
  outcome.kind = kind;
  outcome.code = std::move(code);
  outcome.event = decision.event;
  outcome.event_id = decision.event_id;
  outcome.signature_scheme = signature_scheme;
  return outcome;
}
}  // namespace

std::string format_rfc3339(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  const std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[40];
  std::snprintf(out, sizeof out, "%.*s.%03dZ", static_cast<int>(n), buffer,
                static_cast<int>(ms % 1000));
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.mmm]Z
  if (text.size() != 20 && text.size() != 24)
    return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t len) -> int {
    int value = -1;
    const auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + len, value);
    return ec == std::errc{} && end == text.data() + at + len ? value : -1;
  };
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    return std::nullopt;
  }
  std::tm utc{};
  utc.tm_year = number(0, 4) - 1900;
  utc.tm_mon = number(5, 2) - 1;
  utc.tm_mday = number(8, 2);
  utc.tm_hour = number(11, 2);
  utc.tm_min = number(14, 2);
  utc.tm_sec = number(17, 2);
  int millis = 0;
  if (text.size() == 24) {
    if (text[19] != '.')
      return std::nullopt;
    millis = number(20, 3);
  }
  if (utc.tm_year < 0 || utc.tm_mon < 0 || utc.tm_mday < 1 || utc.tm_hour < 0 || utc.tm_min < 0 ||
      utc.tm_sec < 0 || millis < 0) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&utc)) + std::chrono::milliseconds(millis);
}

std::string_view to_string(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kAccepted:
      return "accepted";
    case OutcomeKind::kDeadLettered:
      return "dead_lettered";
    case OutcomeKind::kDuplicate:
      return "duplicate";
    case OutcomeKind::kInFlight:
      return "in_flight";
    case OutcomeKind::kUnauthorized:
      return "unauthorized";
    case OutcomeKind::kUnavailable:
      return "unavailable";
    case OutcomeKind::kRejected:
      return "rejected";
    case OutcomeKind::kOverloaded:
      return "overloaded";
  }
  return "unavailable";
}

IngestPipeline::IngestPipeline(PipelineSettings settings, PipelineParts parts)
    : settings_(std::move(settings)), parts_(parts) {}

Outcome IngestPipeline::handle(const WebhookRequest& request) const {
  const auto received = parts_.clock.now();

  // Timestamp window, then the MAC over the raw bytes. Nothing is parsed before both pass.
  const auto timestamp_error =
      check_timestamp_window(request.timestamp, received, settings_.timestamp_tolerance);
  if (timestamp_error != TimestampError::kNone) {
    Outcome outcome;
    outcome.kind = OutcomeKind::kUnauthorized;
    outcome.code = error_code(timestamp_error);
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
    Outcome outcome;
    outcome.kind = OutcomeKind::kUnauthorized;
    outcome.code = error_code(signature.error);
    outcome.message = signature.error == SignatureError::kMissing
                          ? "cmr-x-signature header is required"
                      : signature.error == SignatureError::kMalformed
                          ? "cmr-x-signature is not a hex or base64 HMAC-SHA256 in the accepted "
                            "scheme"
                          : "cmr-x-signature does not match the body under any configured key";
    return outcome;
  }
  parts_.observer.on_signature_verified(signature.matched);

  // From here the request is authentic: it is published, dead-lettered or spooled.
  const auto sent = to_time_point(*parse_timestamp(*request.timestamp));
  const VerifiedRequest verified{request.body, *request.timestamp, sent, received,
                                 to_string(signature.matched)};
  const Decision decision = decide(verified);
  if (parts_.spool != nullptr && parts_.spool->backlogged()) {
    // Earlier requests wait in the spool: queue behind them so each key stays in order.
    if (decision.known_duplicate) {
      parts_.observer.on_dedup("duplicate");
      return outcome_for(decision, OutcomeKind::kDuplicate, "duplicate", verified.signature_scheme);
    }
    return spool(verified, decision);
  }
  Outcome outcome = publish_once(decision, verified);
  if (outcome.kind == OutcomeKind::kUnavailable && parts_.spool != nullptr) {
    return spool(verified, decision);
  }
  return outcome;
}

Outcome IngestPipeline::spool(const VerifiedRequest& request, const Decision& decision) const {
  Outcome outcome;
  outcome.event = decision.event;
  outcome.event_id = decision.event_id;
  outcome.signature_scheme = request.signature_scheme;
  const SpoolAppendResult result =
      parts_.spool->append({std::string(request.body), std::string(request.timestamp),
                            std::string(request.signature_scheme), request.received});
  if (result == SpoolAppendResult::kDurable) {
    outcome.kind = OutcomeKind::kAccepted;
    outcome.code = "spooled";
    return outcome;
  }
  outcome.kind = OutcomeKind::kUnavailable;
  outcome.retry_after = settings_.retry_after;
  outcome.code = result == SpoolAppendResult::kFull ? "spool_full" : "spool_unavailable";
  outcome.message = result == SpoolAppendResult::kFull
                        ? "Kafka is unavailable and the local spool is full"
                        : "Kafka is unavailable and the local spool cannot be written";
  return outcome;
}

VerifiedRequest reverified(const SpooledRequest& request) {
  const auto parsed = parse_timestamp(request.timestamp);
  return {request.body, request.timestamp, parsed ? to_time_point(*parsed) : request.received,
          request.received, request.signature_scheme};
}

Outcome IngestPipeline::forward(const SpooledRequest& request) const {
  const VerifiedRequest verified = reverified(request);
  return publish_once(decide(verified), verified);
}

Outcome IngestPipeline::publish_once(const Decision& decision, const VerifiedRequest& request,
                                     bool dead_letter_conflicts) const {
  if (!decision.publish || parts_.dedup == nullptr) {
    return deliver(decision, request.signature_scheme);
  }
  if (decision.known_duplicate) {
    parts_.observer.on_dedup("duplicate");
    return outcome_for(decision, OutcomeKind::kDuplicate, "duplicate", request.signature_scheme);
  }
  const EventKey key = decision.key ? *decision.key : event_key(decision.event_id);
  const uint64_t fingerprint =
      decision.key ? decision.body_fingerprint : body_fingerprint(request.body);
  const auto status = parts_.dedup->claim_or_wait(
      key, fingerprint, std::chrono::steady_clock::now() + settings_.delivery_timeout);
  switch (status) {
    case ClaimStatus::kDuplicate: {
      parts_.observer.on_dedup("duplicate");
      return outcome_for(decision, OutcomeKind::kDuplicate, "duplicate", request.signature_scheme);
    }
    case ClaimStatus::kConflict: {
      parts_.observer.on_dedup("conflict");
      // Same eventId, different bytes: never republished; kept for a human to look at.
      const Decision conflict = dead_letter(request, "eventid_conflict",
                                            "eventId was already received with a different body",
                                            decision.event, decision.event_id);
      if (!dead_letter_conflicts) {
        Outcome outcome = outcome_for(decision, OutcomeKind::kDeadLettered, conflict.reason,
                                      request.signature_scheme);
        outcome.message = conflict.detail;
        return outcome;
      }
      return deliver(conflict, request.signature_scheme);
    }
    case ClaimStatus::kInFlight: {
      parts_.observer.on_dedup("in_flight");
      Outcome outcome = outcome_for(decision, OutcomeKind::kInFlight, "event_in_flight",
                                    request.signature_scheme);
      outcome.message = "the same eventId is being published by another request; retry later";
      outcome.retry_after = settings_.retry_after;
      return outcome;
    }
    case ClaimStatus::kClaimed:
      break;
  }
  parts_.observer.on_dedup("claimed");
  Outcome outcome = deliver(decision, request.signature_scheme);
  if (outcome.kind != OutcomeKind::kAccepted) {
    parts_.dedup->release(key);
    return outcome;
  }
  // Done only after the delivery report: marking earlier would lose the event if the
  // publish failed.
  parts_.dedup->complete(key, fingerprint);
  if (parts_.markers != nullptr) {
    parts_.markers->record({decision.event_id, fingerprint, request.received, outcome.topic,
                            outcome.partition, outcome.offset});
  }
  return outcome;
}

Decision IngestPipeline::decide(const VerifiedRequest& request) const {
  auto parsed = parse_envelope(request.body, settings_.envelope_limits);
  if (parsed.error != EnvelopeError::kNone) {
    return dead_letter(request, error_code(parsed.error), std::move(parsed.detail),
                       std::move(parsed.event), std::move(parsed.event_id));
  }
  const Envelope& envelope = *parsed.envelope;
  std::optional<EventKey> key;
  uint64_t fingerprint = 0;
  if (parts_.dedup != nullptr) {
    key = event_key(envelope.event_id());
    fingerprint = body_fingerprint(request.body);
    // The same bytes were published before, so routing and validation decided "publish" then.
    if (parts_.dedup->lookup_done(*key, fingerprint) == ClaimStatus::kDuplicate) {
      Decision duplicate;
      duplicate.publish = true;
      duplicate.known_duplicate = true;
      duplicate.event = envelope.event();
      duplicate.event_id = envelope.event_id();
      duplicate.key = key;
      duplicate.body_fingerprint = fingerprint;
      return duplicate;
    }
  }
  const Route* route = parts_.routes.find(envelope.event());
  if (route == nullptr) {
    return dead_letter(request, "unroutable_event",
                       "no route for event \"" + envelope.event() + "\"", envelope.event(),
                       envelope.event_id());
  }
  if (parts_.schemas != nullptr && route->schema != "none") {
    const std::string& schema = route->schema.empty() ? envelope.event() : route->schema;
    if (auto violation = parts_.schemas->validate(schema, envelope.data())) {
      return dead_letter(request, "schema_violation", "data" + *violation, envelope.event(),
                         envelope.event_id());
    }
  }
  const std::string record_key = envelope.first_string(route->key_pointers).value_or("");
  Decision decision;
  decision.publish = true;
  decision.event = envelope.event();
  decision.event_id = envelope.event_id();
  decision.key = key;
  decision.body_fingerprint = fingerprint;
  const auto data =
      protect_credentials(envelope.raw_data(), settings_.credentials, envelope.event_id());
  if (!data) {
    decision.failed = true;
    decision.detail = "credential encryption failed";
    return decision;
  }
  decision.record = make_cloudevent_record({envelope, *route, record_key, request.sent,
                                            request.received, request.signature_scheme, *data},
                                           settings_.cloudevents);
  return decision;
}

Decision IngestPipeline::dead_letter(const VerifiedRequest& request, std::string_view reason,
                                     std::string detail, std::string event,
                                     std::string event_id) const {
  Decision decision;
  decision.reason = reason;
  decision.detail = std::move(detail);
  decision.event = std::move(event);
  decision.event_id = std::move(event_id);
  Record& record = decision.record;
  record.topic = settings_.deadletter_topic;
  record.key = decision.event_id;
  record.value.assign(request.body);
  record.headers = {
      {"cmr-dlq-reason", decision.reason},
      {"cmr-dlq-detail", decision.detail},
      {"cmr-received-time", format_rfc3339(request.received)},
      {"cmr-signature-scheme", std::string(request.signature_scheme)},
      {"cmr-x-timestamp", std::string(request.timestamp)},
  };
  if (!decision.event.empty())
    record.headers.push_back({"cmr-event", decision.event});
  if (!decision.event_id.empty())
    record.headers.push_back({"cmr-event-id", decision.event_id});
  return decision;
}

Outcome IngestPipeline::deliver(const Decision& decision, std::string_view signature_scheme) const {
  if (decision.failed) {
    Outcome failed;
    failed.kind = OutcomeKind::kUnavailable;
    failed.code = "internal_error";
    failed.message = decision.detail;
    failed.event = decision.event;
    failed.event_id = decision.event_id;
    failed.retry_after = settings_.retry_after;
    return failed;
  }
  Outcome outcome;
  outcome.event = decision.event;
  outcome.event_id = decision.event_id;
  outcome.signature_scheme = signature_scheme;
  outcome.topic = decision.record.topic;

  const auto started = std::chrono::steady_clock::now();
  const auto report = parts_.publisher.publish(decision.record, settings_.delivery_timeout);
  parts_.observer.on_delivery(decision.record.topic, report.status == DeliveryStatus::kDelivered,
                              std::chrono::steady_clock::now() - started);
  if (report.status == DeliveryStatus::kDelivered) {
    outcome.kind = decision.publish ? OutcomeKind::kAccepted : OutcomeKind::kDeadLettered;
    outcome.code = decision.reason;
    outcome.message = decision.detail;
    outcome.partition = report.partition;
    outcome.offset = report.offset;
    return outcome;
  }
  outcome.kind = OutcomeKind::kUnavailable;
  outcome.retry_after = settings_.retry_after;
  switch (report.status) {
    case DeliveryStatus::kTimedOut:
      outcome.code = "delivery_timeout";
      outcome.message = "Kafka did not acknowledge the event within " +
                        std::to_string(settings_.delivery_timeout.count()) + " ms";
      break;
    case DeliveryStatus::kQueueFull:
      outcome.code = "producer_queue_full";
      outcome.message = "the producer queue is full; retry later";
      break;
    default:
      outcome.code = "delivery_failed";
      outcome.message = "Kafka did not accept the event: " + report.error;
      break;
  }
  return outcome;
}

}  // namespace cmr_bridge
