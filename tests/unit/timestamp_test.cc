#include "core/timestamp.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <ctime>
#include <string>

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

  TEST_CASE("RFC 3339 formatting agrees with gmtime and strftime across leap days and centuries") {
    using namespace std::chrono;
    const auto reference = [](int64_t ms) {
      const auto seconds_since_epoch =
          static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
      std::tm utc{};
      gmtime_r(&seconds_since_epoch, &utc);
      char date[32];
      const std::size_t n = std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
      char out[48];
      std::snprintf(out, sizeof out, "%.*s.%03dZ", static_cast<int>(n), date,
                    static_cast<int>(((ms % 1000) + 1000) % 1000));
      return std::string(out);
    };
    // Leap days (2000, 2024), a non-leap century (2100), the last millisecond of a year,
    // before the epoch (system_clock spans 1678-2262).
    const int64_t cases[] = {951782400000,  951868799999, 1709164800000, 4107542400000,
                             1735689599999, -1,           -86400001,     1764504000123};
    for (const int64_t ms : cases) {
      CAPTURE(ms);
      CHECK(format_rfc3339(system_clock::time_point(milliseconds(ms))) == reference(ms));
    }
    for (int64_t ms = 0; ms < 4102444800000; ms += 86399999 * 7 + 12345) {
      CAPTURE(ms);
      REQUIRE(format_rfc3339(system_clock::time_point(milliseconds(ms))) == reference(ms));
    }
  }
}
