// The closed sets of codes the bridge answers, logs and counts: outcome kinds, outcome codes and
// dedup results. Each code is declared once, in one table, with its string and what it means on
// the wire. The strings are an API contract: JSON bodies ("error", "reason"), the metric labels
// `outcome`, `reason` and `result`, and the log fields `outcome` and `code` use them verbatim.
// docs/ (or the README) lists every code with its HTTP status; a unit test holds the two equal.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cmr_bridge {

// Each table below is indexed by its enum: row i holds the value i, and the last row the last
// value. A row out of place or missing fails the build.
template <typename Row, std::size_t N, typename Enum>
constexpr bool rows_follow_enum(const std::array<Row, N>& rows, Enum Row::*key, Enum last) {
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(rows[i].*key) != i)
      return false;
  }
  return static_cast<std::size_t>(last) == N - 1;
}

enum class OutcomeKind : uint8_t {
  kAccepted,      // published and acked by Kafka (or fsync'd to the spool)
  kDeadLettered,  // verified but not publishable as an event; raw bytes acked on the DLQ topic
  kDuplicate,     // this eventId was already published with the same body; nothing produced
  kInFlight,      // the same eventId is being published by another request right now
  kUnauthorized,  // signature or timestamp check failed; nothing stored
  kUnavailable,   // Kafka did not ack in time or failed; nothing promised, sender retries
  kRejected,      // refused before verification (size, method, path, content type, headers),
                  // or verified but never publishable (unpublishable)
  kOverloaded,    // too many requests in flight; sender retries
};

enum class OutcomeCode : uint8_t {
  kNone,  // accepted and published: no code (metric label "none", empty log field)
  kSpooled,
  kDuplicate,
  // Dead-letter reasons (also the cmr-dlq-reason header).
  kInvalidJson,
  kInvalidEnvelope,
  kUnroutableEvent,
  kSchemaViolation,
  kEventIdConflict,
  kPublishRejected,
  // Kept in the local quarantine: Kafka refused the record and its dead letter for good.
  kQuarantined,
  kEventInFlight,
  // Signature and timestamp checks.
  kMissingSignature,
  kMalformedSignature,
  kSignatureMismatch,
  kMissingTimestamp,
  kMalformedTimestamp,
  kTimestampExpired,
  kTimestampInFuture,
  kDuplicateAuthHeader,
  // Kafka or the spool could not make the request durable.
  kDeliveryTimeout,
  kDeliveryFailed,
  kUnpublishable,
  kProducerQueueFull,
  kSpoolFull,
  kSpoolUnavailable,
  kQuarantineFull,
  kQuarantineUnavailable,
  kInternalError,
  // Refused before the pipeline runs.
  kOverloaded,
  kPayloadTooLarge,
  kUnsupportedMediaType,
  kMethodNotAllowed,
  kNotFound,
  kBadRequest,
  // Refused by the listener's bounds before (or instead of) reading the request.
  kRequestTimeout,
  kLengthRequired,
  kUnsupportedContentEncoding,
  kHeaderTooLarge,
  kTooManyHeaders,
  kServerBusy,
  // A path under /webhooks/ that names no configured source.
  kUnknownSource,
};

// Whether an answer carries Retry-After, and with which value.
enum class RetryAfter : uint8_t {
  kNever,
  kOneSecond,        // admission (in-flight cap): a slot frees within milliseconds
  kPipelineSetting,  // PipelineSettings::retry_after (5 s): Kafka or a concurrent publish
};

struct OutcomeCodeInfo {
  OutcomeCode code;
  std::string_view name;
  OutcomeKind kind;  // the one kind of outcome that carries this code
  int http_status;
  RetryAfter retry_after;
};

inline constexpr auto kOutcomeCodes = std::to_array<OutcomeCodeInfo>({
    {OutcomeCode::kNone, "", OutcomeKind::kAccepted, 200, RetryAfter::kNever},
    {OutcomeCode::kSpooled, "spooled", OutcomeKind::kAccepted, 200, RetryAfter::kNever},
    {OutcomeCode::kDuplicate, "duplicate", OutcomeKind::kDuplicate, 200, RetryAfter::kNever},
    {OutcomeCode::kInvalidJson, "invalid_json", OutcomeKind::kDeadLettered, 200,
     RetryAfter::kNever},
    {OutcomeCode::kInvalidEnvelope, "invalid_envelope", OutcomeKind::kDeadLettered, 200,
     RetryAfter::kNever},
    {OutcomeCode::kUnroutableEvent, "unroutable_event", OutcomeKind::kDeadLettered, 200,
     RetryAfter::kNever},
    {OutcomeCode::kSchemaViolation, "schema_violation", OutcomeKind::kDeadLettered, 200,
     RetryAfter::kNever},
    {OutcomeCode::kEventIdConflict, "eventid_conflict", OutcomeKind::kDeadLettered, 200,
     RetryAfter::kNever},
    {OutcomeCode::kPublishRejected, "publish_rejected", OutcomeKind::kDeadLettered, 200,
     RetryAfter::kNever},
    {OutcomeCode::kQuarantined, "quarantined", OutcomeKind::kDeadLettered, 200, RetryAfter::kNever},
    {OutcomeCode::kEventInFlight, "event_in_flight", OutcomeKind::kInFlight, 409,
     RetryAfter::kPipelineSetting},
    {OutcomeCode::kMissingSignature, "missing_signature", OutcomeKind::kUnauthorized, 401,
     RetryAfter::kNever},
    {OutcomeCode::kMalformedSignature, "malformed_signature", OutcomeKind::kUnauthorized, 401,
     RetryAfter::kNever},
    {OutcomeCode::kSignatureMismatch, "signature_mismatch", OutcomeKind::kUnauthorized, 401,
     RetryAfter::kNever},
    {OutcomeCode::kMissingTimestamp, "missing_timestamp", OutcomeKind::kUnauthorized, 401,
     RetryAfter::kNever},
    {OutcomeCode::kMalformedTimestamp, "malformed_timestamp", OutcomeKind::kUnauthorized, 401,
     RetryAfter::kNever},
    {OutcomeCode::kTimestampExpired, "timestamp_expired", OutcomeKind::kUnauthorized, 401,
     RetryAfter::kNever},
    {OutcomeCode::kTimestampInFuture, "timestamp_in_future", OutcomeKind::kUnauthorized, 401,
     RetryAfter::kNever},
    {OutcomeCode::kDuplicateAuthHeader, "duplicate_auth_header", OutcomeKind::kRejected, 401,
     RetryAfter::kNever},
    {OutcomeCode::kDeliveryTimeout, "delivery_timeout", OutcomeKind::kUnavailable, 503,
     RetryAfter::kPipelineSetting},
    {OutcomeCode::kDeliveryFailed, "delivery_failed", OutcomeKind::kUnavailable, 503,
     RetryAfter::kPipelineSetting},
    {OutcomeCode::kUnpublishable, "unpublishable", OutcomeKind::kRejected, 422, RetryAfter::kNever},
    {OutcomeCode::kProducerQueueFull, "producer_queue_full", OutcomeKind::kUnavailable, 503,
     RetryAfter::kPipelineSetting},
    {OutcomeCode::kSpoolFull, "spool_full", OutcomeKind::kUnavailable, 503,
     RetryAfter::kPipelineSetting},
    {OutcomeCode::kSpoolUnavailable, "spool_unavailable", OutcomeKind::kUnavailable, 503,
     RetryAfter::kPipelineSetting},
    {OutcomeCode::kQuarantineFull, "quarantine_full", OutcomeKind::kUnavailable, 503,
     RetryAfter::kPipelineSetting},
    {OutcomeCode::kQuarantineUnavailable, "quarantine_unavailable", OutcomeKind::kUnavailable, 503,
     RetryAfter::kPipelineSetting},
    {OutcomeCode::kInternalError, "internal_error", OutcomeKind::kUnavailable, 503,
     RetryAfter::kPipelineSetting},
    {OutcomeCode::kOverloaded, "overloaded", OutcomeKind::kOverloaded, 429, RetryAfter::kOneSecond},
    {OutcomeCode::kPayloadTooLarge, "payload_too_large", OutcomeKind::kRejected, 413,
     RetryAfter::kNever},
    {OutcomeCode::kUnsupportedMediaType, "unsupported_media_type", OutcomeKind::kRejected, 415,
     RetryAfter::kNever},
    {OutcomeCode::kMethodNotAllowed, "method_not_allowed", OutcomeKind::kRejected, 405,
     RetryAfter::kNever},
    {OutcomeCode::kNotFound, "not_found", OutcomeKind::kRejected, 404, RetryAfter::kNever},
    {OutcomeCode::kBadRequest, "bad_request", OutcomeKind::kRejected, 400, RetryAfter::kNever},
    {OutcomeCode::kRequestTimeout, "request_timeout", OutcomeKind::kRejected, 408,
     RetryAfter::kNever},
    {OutcomeCode::kLengthRequired, "length_required", OutcomeKind::kRejected, 411,
     RetryAfter::kNever},
    {OutcomeCode::kUnsupportedContentEncoding, "unsupported_content_encoding",
     OutcomeKind::kRejected, 415, RetryAfter::kNever},
    {OutcomeCode::kHeaderTooLarge, "header_too_large", OutcomeKind::kRejected, 431,
     RetryAfter::kNever},
    {OutcomeCode::kTooManyHeaders, "too_many_headers", OutcomeKind::kRejected, 431,
     RetryAfter::kNever},
    {OutcomeCode::kServerBusy, "server_busy", OutcomeKind::kOverloaded, 503,
     RetryAfter::kOneSecond},
    {OutcomeCode::kUnknownSource, "unknown_source", OutcomeKind::kRejected, 404,
     RetryAfter::kNever},
});

static_assert(rows_follow_enum(kOutcomeCodes, &OutcomeCodeInfo::code, OutcomeCode::kUnknownSource));

inline constexpr const OutcomeCodeInfo& info(OutcomeCode code) {
  return kOutcomeCodes[static_cast<std::size_t>(code)];
}
// "" for kNone.
inline constexpr std::string_view to_string(OutcomeCode code) {
  return info(code).name;
}
// The code named `name`; nullopt for an unknown name (and for "", which is no code).
inline constexpr std::optional<OutcomeCode> outcome_code_from_string(std::string_view name) {
  for (const auto& row : kOutcomeCodes) {
    if (!name.empty() && row.name == name)
      return row.code;
  }
  return std::nullopt;
}

struct OutcomeKindInfo {
  OutcomeKind kind;
  std::string_view name;  // metric label `outcome`, log field `outcome`
};

inline constexpr auto kOutcomeKinds = std::to_array<OutcomeKindInfo>({
    {OutcomeKind::kAccepted, "accepted"},
    {OutcomeKind::kDeadLettered, "dead_lettered"},
    {OutcomeKind::kDuplicate, "duplicate"},
    {OutcomeKind::kInFlight, "in_flight"},
    {OutcomeKind::kUnauthorized, "unauthorized"},
    {OutcomeKind::kUnavailable, "unavailable"},
    {OutcomeKind::kRejected, "rejected"},
    {OutcomeKind::kOverloaded, "overloaded"},
});

static_assert(rows_follow_enum(kOutcomeKinds, &OutcomeKindInfo::kind, OutcomeKind::kOverloaded));

inline constexpr std::string_view to_string(OutcomeKind kind) {
  return kOutcomeKinds[static_cast<std::size_t>(kind)].name;
}

// Result of the idempotency check on an eventId.
enum class DedupResult : uint8_t {
  kClaimed,    // new: the caller now holds it and must complete() or release()
  kDuplicate,  // already published with the same body
  kConflict,   // already published (or held) with a different body
  kInFlight,   // another request holds it and did not resolve before the deadline
};

struct DedupResultInfo {
  DedupResult result;
  std::string_view name;  // metric label `result` of cmr_bridge_dedup_results_total
  // What the request is answered: nullopt when the publish that follows the claim decides.
  std::optional<OutcomeCode> answer;
};

inline constexpr auto kDedupResults = std::to_array<DedupResultInfo>({
    {DedupResult::kClaimed, "claimed", std::nullopt},
    {DedupResult::kDuplicate, "duplicate", OutcomeCode::kDuplicate},
    {DedupResult::kConflict, "conflict", OutcomeCode::kEventIdConflict},
    {DedupResult::kInFlight, "in_flight", OutcomeCode::kEventInFlight},
});

static_assert(rows_follow_enum(kDedupResults, &DedupResultInfo::result, DedupResult::kInFlight));

inline constexpr const DedupResultInfo& info(DedupResult result) {
  return kDedupResults[static_cast<std::size_t>(result)];
}
inline constexpr std::string_view to_string(DedupResult result) {
  return info(result).name;
}
// The HTTP status the request is answered with; nullopt for kClaimed (the publish decides).
inline constexpr std::optional<int> http_status(DedupResult result) {
  const auto answer = info(result).answer;
  if (!answer)
    return std::nullopt;
  return info(*answer).http_status;
}

}  // namespace cmr_bridge
