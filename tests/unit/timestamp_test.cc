#include "core/timestamp.h"

#include <doctest/doctest.h>

using namespace cmr_bridge;
using namespace std::chrono;

namespace {
const auto kNow = system_clock::time_point(seconds(1'700'000'000)) + milliseconds(400);
TimestampError check(std::optional<std::string_view> header) {
  return check_timestamp_window(header, kNow, seconds(300));
}
}  // namespace

TEST_SUITE("timestamp") {
  TEST_CASE("seconds: exactly at the tolerance is accepted, one second past is not") {
    CHECK(check("1700000000") == TimestampError::kNone);
    CHECK(check("1699999700") == TimestampError::kNone);
    CHECK(check("1699999699") == TimestampError::kExpired);
    CHECK(check("1700000300") == TimestampError::kNone);
    CHECK(check("1700000301") == TimestampError::kInFuture);
  }

  TEST_CASE("values from 1e12 up are milliseconds, with the window in milliseconds") {
    CHECK(check("1700000000400") == TimestampError::kNone);
    CHECK(check("1699999700400") == TimestampError::kNone);
    CHECK(check("1699999700399") == TimestampError::kExpired);
    CHECK(check("1700000300400") == TimestampError::kNone);
    CHECK(check("1700000300401") == TimestampError::kInFuture);
    CHECK(parse_timestamp("999999999999")->milliseconds == false);
    CHECK(parse_timestamp("1000000000000")->milliseconds == true);
  }

  TEST_CASE("absent and empty headers are missing") {
    CHECK(check(std::nullopt) == TimestampError::kMissing);
    CHECK(check("") == TimestampError::kMissing);
  }

  TEST_CASE("anything but a plain non-negative integer is malformed") {
    for (const char* header :
         {"abc", "-1700000000", "+1700000000", "1700000000.5", "1.7e9", "0x6553f100",
          "1700000000abc", "   ", "99999999999999999999", "9223372036854775808", "17 00000000"}) {
      CAPTURE(header);
      CHECK(check(header) == TimestampError::kMalformed);
    }
  }

  TEST_CASE("surrounding blanks are tolerated") {
    CHECK(check(" 1700000000 ") == TimestampError::kNone);
  }

  TEST_CASE("the largest int64 parses and is far in the future, without overflow") {
    CHECK(check("9223372036854775807") == TimestampError::kInFuture);
    CHECK(check("0") == TimestampError::kExpired);
  }

  TEST_CASE("error codes are stable API strings") {
    CHECK(to_string(error_code(TimestampError::kMissing)) == "missing_timestamp");
    CHECK(to_string(error_code(TimestampError::kMalformed)) == "malformed_timestamp");
    CHECK(to_string(error_code(TimestampError::kExpired)) == "timestamp_expired");
    CHECK(to_string(error_code(TimestampError::kInFuture)) == "timestamp_in_future");
  }

  TEST_CASE("RFC 3339 parsing reads back what formatting writes") {
    using namespace std::chrono;
    const auto t = system_clock::time_point(milliseconds(1709942399123));
    CHECK(parse_rfc3339(format_rfc3339(t)) == t);
    CHECK(parse_rfc3339("2024-03-08T23:59:59Z") == system_clock::time_point(seconds(1709942399)));
    CHECK_FALSE(parse_rfc3339("2024-03-08 23:59:59Z"));
    CHECK_FALSE(parse_rfc3339("yesterday"));
  }

  TEST_CASE("RFC 3339 formatting keeps milliseconds and UTC") {
    using namespace std::chrono;
    CHECK(format_rfc3339(system_clock::time_point(milliseconds(1709942399123))) ==
          "2024-03-08T23:59:59.123Z");
    CHECK(format_rfc3339(system_clock::time_point(seconds(0))) == "1970-01-01T00:00:00.000Z");
  }
}
