// The one table that turns outcomes into HTTP responses.
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

// Refusals decided before the pipeline runs. Codes (closed set) and statuses:
// not_found 404, method_not_allowed 405, payload_too_large 413, unsupported_media_type 415,
// duplicate_auth_header 401, bad_request 400, overloaded 429.
Outcome rejection(std::string code, std::string message);

}  // namespace cmr_bridge
