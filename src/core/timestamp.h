// cmr-x-timestamp parsing, the replay window, and the RFC 3339 times written in records,
// headers and logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cmr_bridge/codes.h"

namespace cmr_bridge {

enum class TimestampError {
  kNone,
  kMissing,    // header absent or empty
  kMalformed,  // not a plain non-negative integer, or it overflows
  kExpired,    // older than now - tolerance
  kInFuture,   // newer than now + tolerance
};
OutcomeCode error_code(TimestampError error);  // kMissingTimestamp, ...; kNone for kNone

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

// RFC 3339 UTC with milliseconds, e.g. "2024-03-08T23:59:59.123Z".
std::string format_rfc3339(std::chrono::system_clock::time_point time);
// Parses what format_rfc3339 writes (and the same without fraction); nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace cmr_bridge
