#include "http/status_table.h"

#include "core/json_writer.h"

namespace cmr_bridge {
namespace {
std::string error_body(std::string_view code, std::string_view message) {
  return JsonObjectWriter().field("error", code).field("message", message).finish();
}
}  // namespace

HttpResponse to_http(const Outcome& outcome) {
  HttpResponse response;
  switch (outcome.kind) {
    case OutcomeKind::kAccepted:
      response.status = 200;
      response.body = JsonObjectWriter()
                          .field("status", "accepted")
                          .field("eventId", outcome.event_id)
                          .finish();
      break;
    case OutcomeKind::kDeadLettered: {
      response.status = 200;
      JsonObjectWriter body;
      body.field("status", "dead_lettered").field("reason", outcome.code);
      if (!outcome.event_id.empty())
        body.field("eventId", outcome.event_id);
      response.body = body.finish();
      break;
    }
    case OutcomeKind::kDuplicate:
      response.status = 200;
      response.body = JsonObjectWriter()
                          .field("status", "duplicate")
                          .field("eventId", outcome.event_id)
                          .finish();
      break;
    case OutcomeKind::kInFlight:
      response.status = 409;
      response.body = error_body(outcome.code, outcome.message);
      response.retry_after_s = static_cast<int>(outcome.retry_after.count());
      break;
    case OutcomeKind::kUnauthorized:
      response.status = 401;
      response.body = error_body(outcome.code, outcome.message);
      break;
    case OutcomeKind::kUnavailable:
      response.status = 503;
      response.body = error_body(outcome.code, outcome.message);
      response.retry_after_s = static_cast<int>(outcome.retry_after.count());
      break;
  }
  return response;
}

HttpResponse to_http(HttpError error, const std::string& message) {
  switch (error) {
    case HttpError::kNotFound:
      return {404, error_body("not_found", message), 0};
    case HttpError::kMethodNotAllowed:
      return {405, error_body("method_not_allowed", message), 0};
    case HttpError::kPayloadTooLarge:
      return {413, error_body("payload_too_large", message), 0};
    case HttpError::kUnsupportedMediaType:
      return {415, error_body("unsupported_media_type", message), 0};
    case HttpError::kDuplicateHeader:
      return {401, error_body("duplicate_auth_header", message), 0};
    case HttpError::kBadRequest:
      return {400, error_body("bad_request", message), 0};
  }
  return {400, error_body("bad_request", message), 0};
}

}  // namespace cmr_bridge
