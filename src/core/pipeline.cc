#include "core/pipeline.h"

#include <ctime>

#include "core/timestamp.h"

namespace cmr_bridge {

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

std::string_view to_string(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kAccepted:
      return "accepted";
    case OutcomeKind::kDeadLettered:
      return "dead_lettered";
    case OutcomeKind::kUnauthorized:
      return "unauthorized";
    case OutcomeKind::kUnavailable:
      return "unavailable";
  }
  return "unavailable";
}

IngestPipeline::IngestPipeline(PipelineSettings settings, const SignatureVerifier& verifier,
                               const RouteTable& routes, Publisher& publisher, const Clock& clock,
                               PipelineObserver& observer)
    : settings_(std::move(settings)),
      verifier_(verifier),
      routes_(routes),
      publisher_(publisher),
      clock_(clock),
      observer_(observer) {}

Outcome IngestPipeline::handle(const WebhookRequest& request) const {
  const auto received = clock_.now();

  // 1. Timestamp window, then the MAC over the raw bytes. Nothing is parsed before both pass.
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
      verifier_.verify(request.signature, request.timestamp.value_or(""), request.body);
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
  observer_.on_signature_verified(signature.matched);
  const std::string_view scheme = to_string(signature.matched);

  // 2. From here the request is authentic: it is either published or dead-lettered.
  auto parsed = parse_envelope(request.body, settings_.envelope_limits);
  if (parsed.error != EnvelopeError::kNone) {
    return dead_letter(request, error_code(parsed.error), parsed.detail, std::move(parsed.event),
                       std::move(parsed.event_id), scheme, received);
  }
  const Envelope& envelope = *parsed.envelope;
  const Route* route = routes_.find(envelope.event());
  if (route == nullptr) {
    return dead_letter(request, "unroutable_event",
                       "no route for event \"" + envelope.event() + "\"", envelope.event(),
                       envelope.event_id(), scheme, received);
  }

  Record record;
  record.topic = route->topic;
  record.key = envelope.first_string(route->key_pointers).value_or("");
  record.value.assign(request.body);
  record.headers = {
      {"content-type", "application/json"},
      {"cmr-event", envelope.event()},
      {"cmr-event-id", envelope.event_id()},
      {"cmr-lifecycle", route->lifecycle},
      {"cmr-received-time", format_rfc3339(received)},
      {"cmr-signature-scheme", std::string(scheme)},
  };

  Outcome accepted;
  accepted.kind = OutcomeKind::kAccepted;
  accepted.event = envelope.event();
  accepted.event_id = envelope.event_id();
  accepted.signature_scheme = scheme;
  return deliver(std::move(record), std::move(accepted));
}

Outcome IngestPipeline::dead_letter(const WebhookRequest& request, std::string_view reason,
                                    std::string_view detail, std::string event,
                                    std::string event_id, std::string_view scheme,
                                    std::chrono::system_clock::time_point received) const {
  Record record;
  record.topic = settings_.deadletter_topic;
  record.key = event_id;
  record.value.assign(request.body);
  record.headers = {
      {"cmr-dlq-reason", std::string(reason)},
      {"cmr-dlq-detail", std::string(detail)},
      {"cmr-received-time", format_rfc3339(received)},
      {"cmr-signature-scheme", std::string(scheme)},
  };
  if (request.timestamp)
    record.headers.push_back({"cmr-x-timestamp", std::string(*request.timestamp)});
  if (!event.empty())
    record.headers.push_back({"cmr-event", event});
  if (!event_id.empty())
    record.headers.push_back({"cmr-event-id", event_id});

  Outcome outcome;
  outcome.kind = OutcomeKind::kDeadLettered;
  outcome.code = reason;
  outcome.message = std::string(detail);
  outcome.event = std::move(event);
  outcome.event_id = std::move(event_id);
  outcome.signature_scheme = scheme;
  return deliver(std::move(record), std::move(outcome));
}

Outcome IngestPipeline::deliver(Record record, Outcome on_success) const {
  const auto started = std::chrono::steady_clock::now();
  const auto report = publisher_.publish(record, settings_.delivery_timeout);
  observer_.on_delivery(record.topic, report.status == DeliveryStatus::kDelivered,
                        std::chrono::steady_clock::now() - started);
  if (report.status == DeliveryStatus::kDelivered) {
    on_success.topic = report.topic;
    on_success.partition = report.partition;
    on_success.offset = report.offset;
    return on_success;
  }
  Outcome unavailable;
  unavailable.kind = OutcomeKind::kUnavailable;
  unavailable.event = std::move(on_success.event);
  unavailable.event_id = std::move(on_success.event_id);
  unavailable.signature_scheme = std::move(on_success.signature_scheme);
  unavailable.topic = record.topic;
  unavailable.retry_after = settings_.retry_after;
  switch (report.status) {
    case DeliveryStatus::kTimedOut:
      unavailable.code = "delivery_timeout";
      unavailable.message = "Kafka did not acknowledge the event within " +
                            std::to_string(settings_.delivery_timeout.count()) + " ms";
      break;
    case DeliveryStatus::kQueueFull:
      unavailable.code = "producer_queue_full";
      unavailable.message = "the producer queue is full; retry later";
      break;
    default:
      unavailable.code = "delivery_failed";
      unavailable.message = "Kafka did not accept the event: " + report.error;
      break;
  }
  return unavailable;
}

}  // namespace cmr_bridge
