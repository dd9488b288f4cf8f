// W3C Trace Context (https://www.w3.org/TR/trace-context/) carried from a webhook request into
// its record: the bridge does not trace, it only passes on a sender's trace. Pure, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace cmr_bridge {

// Validated header values, or empty. Views point into the request's headers (or the spool
// record's strings) and live as long as they do.
struct TraceContext {
  std::string_view traceparent;
  std::string_view tracestate;  // only ever set together with traceparent
  bool empty() const { return traceparent.empty(); }
};

// Longest values carried: a traceparent of a later version may be longer than version 00's 55
// characters; a tracestate longer than 512 characters is dropped (the spec lets a forwarder
// drop it rather than propagate more).
inline constexpr std::size_t kMaxTraceparentLength = 256;
inline constexpr std::size_t kMaxTracestateLength = 512;

// `traceparent_count` is how many traceparent headers the request has (more than one is
// invalid); `traceparent` the first; `tracestate` every tracestate header joined with ','
// (nullopt when there is none). An invalid traceparent is ignored, and with it any tracestate;
// an invalid tracestate is ignored on its own. Never refuses a request.
TraceContext parse_trace_context(std::size_t traceparent_count,
                                 std::optional<std::string_view> traceparent,
                                 std::optional<std::string_view> tracestate);

bool valid_traceparent(std::string_view value);
bool valid_tracestate(std::string_view value);

}  // namespace cmr_bridge
