#include "http/status_table.h"

#include <doctest/doctest.h>

using namespace cmr_bridge;

namespace {
Outcome with_code(OutcomeCode code, std::chrono::seconds retry_after = std::chrono::seconds(0)) {
  Outcome outcome = outcome_with(code);
  outcome.event_id = "E1";
  outcome.message = "why";
  outcome.retry_after = retry_after;
  return outcome;
}
}  // namespace

TEST_SUITE("status table") {
  TEST_CASE("every code answers the status of its row, with Retry-After only where it says") {
    for (const auto& row : kOutcomeCodes) {
      CAPTURE(row.name);
      const HttpResponse response = to_http(with_code(row.code, std::chrono::seconds(7)));
      CHECK(response.status == row.http_status);
      CHECK(response.retry_after_s == (row.retry_after == RetryAfter::kNever ? 0 : 7));
    }
  }

  TEST_CASE("accepted, spooled, duplicate and dead-lettered bodies") {
    CHECK(to_http(with_code(OutcomeCode::kNone)).body == R"({"status":"accepted","eventId":"E1"})");
    CHECK(to_http(with_code(OutcomeCode::kSpooled)).body ==
          R"({"status":"accepted","eventId":"E1","spooled":true})");
    CHECK(to_http(with_code(OutcomeCode::kDuplicate)).body ==
          R"({"status":"duplicate","eventId":"E1"})");
    CHECK(to_http(with_code(OutcomeCode::kSchemaViolation)).body ==
          R"({"status":"dead_lettered","reason":"schema_violation","eventId":"E1"})");
    Outcome anonymous = with_code(OutcomeCode::kInvalidJson);
    anonymous.event_id.clear();
    CHECK(to_http(anonymous).body == R"({"status":"dead_lettered","reason":"invalid_json"})");
  }

  TEST_CASE("errors carry the code string and the message") {
    const HttpResponse response = to_http(with_code(OutcomeCode::kSignatureMismatch));
    CHECK(response.status == 401);
    CHECK(response.body == R"({"error":"signature_mismatch","message":"why"})");
    CHECK(to_http(with_code(OutcomeCode::kDeliveryTimeout, std::chrono::seconds(5))).body ==
          R"({"error":"delivery_timeout","message":"why"})");
  }

  TEST_CASE("refusals before the pipeline: status from the table, overloaded retries in 1 s") {
    const Outcome overloaded = rejection(OutcomeCode::kOverloaded, "busy");
    CHECK(overloaded.kind == OutcomeKind::kOverloaded);
    CHECK(to_http(overloaded).status == 429);
    CHECK(to_http(overloaded).retry_after_s == 1);
    const struct {
      OutcomeCode code;
      int status;
    } cases[] = {{OutcomeCode::kNotFound, 404},
                 {OutcomeCode::kMethodNotAllowed, 405},
                 {OutcomeCode::kPayloadTooLarge, 413},
                 {OutcomeCode::kUnsupportedMediaType, 415},
                 {OutcomeCode::kDuplicateAuthHeader, 401},
                 {OutcomeCode::kBadRequest, 400}};
    for (const auto& c : cases) {
      CAPTURE(to_string(c.code));
      const Outcome refused = rejection(c.code, "no");
      CHECK(refused.kind == OutcomeKind::kRejected);
      const HttpResponse response = to_http(refused);
      CHECK(response.status == c.status);
      CHECK(response.retry_after_s == 0);
      CHECK(response.body ==
            R"({"error":")" + std::string(to_string(c.code)) + R"(","message":"no"})");
    }
  }
}
