#include "http/status_table.h"

#include <cassert>

#include "core/json_writer.h"

namespace cmr_bridge {
namespace {
std::string error_body(const Outcome& outcome) {
  return JsonObjectWriter()
      .field("error", to_string(outcome.code))
      .field("message", outcome.message)
      .finish();
}

std::string success_body(const Outcome& outcome) {
  JsonObjectWriter body;
  switch (outcome.kind) {
    case OutcomeKind::kAccepted:
      body.field("status", "accepted").field("eventId", outcome.event_id);
      if (outcome.code == OutcomeCode::kSpooled)
        body.field("spooled", true);
      break;
    case OutcomeKind::kDeadLettered:
      body.field("status", "dead_lettered").field("reason", to_string(outcome.code));
      if (!outcome.event_id.empty())
        body.field("eventId", outcome.event_id);
      break;
    default:  // kDuplicate
      body.field("status", "duplicate").field("eventId", outcome.event_id);
      break;
  }
  return body.finish();
}
}  // namespace

Outcome rejection(OutcomeCode code, std::string message) {
  assert(info(code).kind == OutcomeKind::kRejected || info(code).kind == OutcomeKind::kOverloaded);
  Outcome outcome = outcome_with(code);
  outcome.message = std::move(message);
  if (info(code).retry_after == RetryAfter::kOneSecond)
    outcome.retry_after = std::chrono::seconds(1);
  return outcome;
}

HttpResponse to_http(const Outcome& outcome) {
  const OutcomeCodeInfo& row = info(outcome.code);
  HttpResponse response;
  response.status = row.http_status;
  response.body = row.http_status == 200 ? success_body(outcome) : error_body(outcome);
  if (row.retry_after != RetryAfter::kNever)
    response.retry_after_s = static_cast<int>(outcome.retry_after.count());
  return response;
}

}  // namespace cmr_bridge
