#include "core/timestamp.h"

#include <charconv>
#include <ctime>

namespace cmr_bridge {
namespace {
constexpr int64_t kMillisecondsThreshold = 1'000'000'000'000;  // 1e12
constexpr std::size_t kMaxDigits = 19;
}  // namespace

OutcomeCode error_code(TimestampError error) {
  switch (error) {
    case TimestampError::kNone:
      return OutcomeCode::kNone;
    case TimestampError::kMissing:
      return OutcomeCode::kMissingTimestamp;
    case TimestampError::kMalformed:
      return OutcomeCode::kMalformedTimestamp;
    case TimestampError::kExpired:
      return OutcomeCode::kTimestampExpired;
    case TimestampError::kInFuture:
      return OutcomeCode::kTimestampInFuture;
  }
  return OutcomeCode::kMalformedTimestamp;
}

std::optional<ParsedTimestamp> parse_timestamp(std::string_view header) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) {
    header.remove_prefix(1);
  }
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) {
    header.remove_suffix(1);
  }
  if (header.empty() || header.size() > kMaxDigits)
    return std::nullopt;
  for (char c : header) {
    if (c < '0' || c > '9')
      return std::nullopt;
  }
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), value);
  if (ec != std::errc{} || end != header.data() + header.size())
    return std::nullopt;
  return ParsedTimestamp{value, value >= kMillisecondsThreshold};
}

std::chrono::system_clock::time_point to_time_point(const ParsedTimestamp& timestamp) {
  using namespace std::chrono;
  return timestamp.milliseconds ? system_clock::time_point(milliseconds(timestamp.value))
                                : system_clock::time_point(seconds(timestamp.value));
}

TimestampError check_timestamp_window(std::optional<std::string_view> header,
                                      std::chrono::system_clock::time_point now,
                                      std::chrono::seconds tolerance) {
  if (!header || header->empty())
    return TimestampError::kMissing;
  const auto parsed = parse_timestamp(*header);
  if (!parsed)
    return TimestampError::kMalformed;

  using namespace std::chrono;
  int64_t now_units = 0;
  int64_t tolerance_units = 0;
  if (parsed->milliseconds) {
    now_units = duration_cast<milliseconds>(now.time_since_epoch()).count();
    tolerance_units = duration_cast<milliseconds>(tolerance).count();
  } else {
    now_units = duration_cast<seconds>(now.time_since_epoch()).count();
    tolerance_units = tolerance.count();
  }
  // Both values are non-negative, so neither difference below can overflow.
  if (parsed->value < now_units && now_units - parsed->value > tolerance_units) {
    return TimestampError::kExpired;
  }
  if (parsed->value > now_units && parsed->value - now_units > tolerance_units) {
    return TimestampError::kInFuture;
  }
  return TimestampError::kNone;
}

// Calendar arithmetic only (no gmtime_r/strftime): glibc's gmtime_r takes the process-wide
// timezone lock, and this runs several times per request on every worker thread.
std::string format_rfc3339(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss clock{ms - day};
  // "YYYY-MM-DDTHH:MM:SS.mmmZ"; a year beyond 9999 takes more digits, as strftime's %Y did.
  char out[40];
  char* end = out;
  const int year = static_cast<int>(date.year());
  if (year >= 0 && year < 1000)
    for (int scale = 1000; scale > 1 && year < scale; scale /= 10)
      *end++ = '0';
  end = std::to_chars(end, out + 16, year).ptr;
  const auto two = [&end](char separator, unsigned value) {
    *end++ = separator;
    *end++ = static_cast<char>('0' + value / 10);
    *end++ = static_cast<char>('0' + value % 10);
  };
  two('-', static_cast<unsigned>(date.month()));
  two('-', static_cast<unsigned>(date.day()));
  two('T', static_cast<unsigned>(clock.hours().count()));
  two(':', static_cast<unsigned>(clock.minutes().count()));
  two(':', static_cast<unsigned>(clock.seconds().count()));
  const auto millis = static_cast<unsigned>(clock.subseconds().count());
  *end++ = '.';
  *end++ = static_cast<char>('0' + millis / 100);
  *end++ = static_cast<char>('0' + millis / 10 % 10);
  *end++ = static_cast<char>('0' + millis % 10);
  *end++ = 'Z';
  return std::string(out, end);
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.mmm]Z
  if (text.size() != 20 && text.size() != 24)
    return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t len) -> int {
    int value = -1;
    const auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + len, value);
    return ec == std::errc{} && end == text.data() + at + len ? value : -1;
  };
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    return std::nullopt;
  }
  std::tm utc{};
  utc.tm_year = number(0, 4) - 1900;
  utc.tm_mon = number(5, 2) - 1;
  utc.tm_mday = number(8, 2);
  utc.tm_hour = number(11, 2);
  utc.tm_min = number(14, 2);
  utc.tm_sec = number(17, 2);
  int millis = 0;
  if (text.size() == 24) {
    if (text[19] != '.')
      return std::nullopt;
    millis = number(20, 3);
  }
  if (utc.tm_year < 0 || utc.tm_mon < 0 || utc.tm_mday < 1 || utc.tm_hour < 0 || utc.tm_min < 0 ||
      utc.tm_sec < 0 || millis < 0) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&utc)) + std::chrono::milliseconds(millis);
}

}  // namespace cmr_bridge
