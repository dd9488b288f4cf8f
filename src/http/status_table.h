// Outcome → HTTP response. The status and Retry-After of every code come from the one code
// table (cmr_bridge/codes.h); the body shape from the outcome's kind.
#pragma once

#include <string>

#include "cmr_bridge/outcome.h"

namespace cmr_bridge {

struct HttpResponse {
  int status = 500;
  std::string body;       // JSON
  int retry_after_s = 0;  // > 0 → Retry-After header
};

HttpResponse to_http(const Outcome& outcome);

// A refusal decided before the pipeline runs (kRejected or kOverloaded codes: not_found,
// method_not_allowed, payload_too_large, unsupported_media_type, duplicate_auth_header,
// bad_request, overloaded). Retry-After as the code table says.
Outcome rejection(OutcomeCode code, std::string message);

}  // namespace cmr_bridge
