// What happened to one webhook request. Produced by the core, mapped to HTTP by src/http.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cmr_bridge {

enum class OutcomeKind {
  kAccepted,      // published and acked by Kafka
  kDeadLettered,  // verified but not publishable as an event; raw bytes acked on the DLQ topic
  kDuplicate,     // this eventId was already published with the same body; nothing produced
  kInFlight,      // the same eventId is being published by another request right now
  kUnauthorized,  // signature or timestamp check failed; nothing stored
  kUnavailable,   // Kafka did not ack in time or failed; nothing promised, sender retries
  kRejected,      // refused before verification (size, method, path, content type, headers)
  kOverloaded,    // too many requests in flight; sender retries
};

// Closed label set: "accepted", "dead_lettered", "duplicate", "in_flight", "unauthorized",
// "unavailable", "rejected", "overloaded".
std::string_view to_string(OutcomeKind kind);

// Error/reason codes are closed sets (stable strings: API contract and metric labels).
struct Outcome {
  OutcomeKind kind = OutcomeKind::kUnavailable;
  std::string code;     // e.g. "signature_mismatch", "delivery_timeout"; empty when accepted
  std::string message;  // human-readable detail; never echoes secrets or body contents
  std::string event;    // event name when known
  std::string event_id;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string signature_scheme;  // which scheme verified, when verified
  std::chrono::seconds retry_after{0};
};

}  // namespace cmr_bridge
