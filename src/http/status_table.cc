#include "http/status_table.h"

#include "core/json_writer.h"

namespace cmr_bridge {
namespace {
std::string error_body(std::string_view code, std::string_view message) {
  return JsonObjectWriter().field("error", code).field("message", message).finish();
}

int rejection_status(const std::string& code) {
  if (code == "not_found")
    return 404;
  if (code == "method_not_allowed")
    return 405;
  if (code == "payload_too_large")
    return 413;
  if (code == "unsupported_media_type")
    return 415;
  if (code == "duplicate_auth_header")
    return 401;
  return 400;
}
}  // namespace

Outcome rejection(std::string code, std::string message) {
  Outcome outcome;
  outcome.kind = code == "overloaded" ? OutcomeKind::kOverloaded : OutcomeKind::kRejected;
  outcome.code = std::move(code);
  outcome.message = std::move(message);
  if (outcome.kind == OutcomeKind::kOverloaded)
    outcome.retry_after = std::chrono::seconds(1);
  return outcome;
}

HttpResponse to_http(const Outcome& outcome) {
  HttpResponse response;
  switch (outcome.kind) {
    case OutcomeKind::kAccepted: {
      response.status = 200;
      JsonObjectWriter body;
      body.field("status", "accepted").field("eventId", outcome.event_id);
      if (outcome.code == "spooled")
        body.field("spooled", true);
      response.body = body.finish();
      break;
    }
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
    case OutcomeKind::kRejected:
      response.status = rejection_status(outcome.code);
      response.body = error_body(outcome.code, outcome.message);
      break;
    case OutcomeKind::kOverloaded:
      response.status = 429;
      response.body = error_body(outcome.code, outcome.message);
      response.retry_after_s = static_cast<int>(outcome.retry_after.count());
      break;
  }
  return response;
}

}  // namespace cmr_bridge
