// What happened to one webhook request. Produced by the core, mapped to HTTP by src/http.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "cmr_bridge/codes.h"

namespace cmr_bridge {

struct Outcome {
  OutcomeKind kind = OutcomeKind::kUnavailable;
  OutcomeCode code = OutcomeCode::kNone;  // e.g. kSignatureMismatch; kNone when published
  std::string message;  // human-readable detail; never echoes secrets or body contents
  std::string event;    // event name when known
  std::string event_id;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string signature_scheme;  // which scheme verified, when verified
  // The source whose path the request came to (metric label `source`, log field `source`):
  // "cmr", a configured source's name (a view into the configuration, which outlives every
  // request), or empty when the path names no configured source.
  std::string_view source = "cmr";
  // Sent as Retry-After when the code's table row says so (see codes.h).
  std::chrono::seconds retry_after{0};
};

// An outcome carrying `code`, of the one kind the code table gives that code.
inline Outcome outcome_with(OutcomeCode code) {
  Outcome outcome;
  outcome.kind = info(code).kind;
  outcome.code = code;
  return outcome;
}

}  // namespace cmr_bridge
