// cmr-x-timestamp parsing and the replay window.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cmr_bridge {

enum class TimestampError {
  kNone,
  kMissing,    // header absent or empty
  kMalformed,  // not a plain non-negative integer, or it overflows
  kExpired,    // older than now - tolerance
  kInFuture,   // newer than now + tolerance
};
std::string_view error_code(TimestampError error);  // "missing_timestamp", ...

struct ParsedTimestamp {
  int64_t value = 0;
  bool milliseconds = false;  // a value >= 1e12 is taken as Unix milliseconds
};

std::optional<ParsedTimestamp> parse_timestamp(std::string_view header);
// The instant a parsed header names.
std::chrono::system_clock::time_point to_time_point(const ParsedTimestamp& timestamp);

// Inclusive window: exactly `tolerance` away from now is accepted, one unit more is not.
// Seconds are compared against now truncated to whole seconds; milliseconds against now in ms.
TimestampError check_timestamp_window(std::optional<std::string_view> header,
                                      std::chrono::system_clock::time_point now,
                                      std::chrono::seconds tolerance);

}  // namespace cmr_bridge
