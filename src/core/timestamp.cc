#include "core/timestamp.h"

#include <charconv>

namespace cmr_bridge {
namespace {
constexpr int64_t kMillisecondsThreshold = 1'000'000'000'000;  // 1e12
constexpr std::size_t kMaxDigits = 19;
}  // namespace

std::string_view error_code(TimestampError error) {
  switch (error) {
    case TimestampError::kNone:
      return "";
    case TimestampError::kMissing:
      return "missing_timestamp";
    case TimestampError::kMalformed:
      return "malformed_timestamp";
    case TimestampError::kExpired:
      return "timestamp_expired";
    case TimestampError::kInFuture:
      return "timestamp_in_future";
  }
  return "malformed_timestamp";
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

}  // namespace cmr_bridge
