// The one table that turns outcomes and admission errors into HTTP responses.
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

// Admission failures decided before the pipeline runs (closed set of codes).
enum class HttpError {
  kNotFound,              // 404 not_found
  kMethodNotAllowed,      // 405 method_not_allowed
  kPayloadTooLarge,       // 413 payload_too_large
  kUnsupportedMediaType,  // 415 unsupported_media_type
  kDuplicateHeader,       // 401 duplicate_auth_header
  kBadRequest,            // 400 bad_request
};
HttpResponse to_http(HttpError error, const std::string& message);

}  // namespace cmr_bridge
