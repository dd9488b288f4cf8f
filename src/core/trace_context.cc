#include "core/trace_context.h"

#include <array>

#include "core/text.h"

namespace cmr_bridge {
namespace {

bool lower_hex(std::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  return true;
}
bool all_zero(std::string_view text) {
  return text.find_first_not_of('0') == std::string_view::npos;
}

bool lcalpha(char c) {
  return c >= 'a' && c <= 'z';
}
bool key_char(char c) {
  return lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/';
}
bool all_key_chars(std::string_view text) {
  for (const char c : text) {
    if (!key_char(c))
      return false;
  }
  return true;
}

// key = lcalpha 0*255(key-char) / tenant "@" system, tenant = (lcalpha / DIGIT) 0*240(key-char),
// system = lcalpha 0*13(key-char).
bool valid_key(std::string_view key) {
  const std::size_t at = key.find('@');
  if (at == std::string_view::npos)
    return !key.empty() && key.size() <= 256 && lcalpha(key.front()) && all_key_chars(key);
  const std::string_view tenant = key.substr(0, at);
  const std::string_view system = key.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 &&
         (lcalpha(tenant.front()) || (tenant.front() >= '0' && tenant.front() <= '9')) &&
         all_key_chars(tenant) && !system.empty() && system.size() <= 14 &&
         lcalpha(system.front()) && all_key_chars(system);
}

// value = 0*255(chr) nblk-chr; chr = ' ' / nblk-chr; nblk-chr = printable ASCII but ',' '='.
bool valid_value(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ')
    return false;
  for (const char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
      return false;
  }
  return true;
}

}  // namespace

bool valid_traceparent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 characters.
  constexpr std::size_t kVersion00Length = 55;
  if (value.size() < kVersion00Length || value.size() > kMaxTraceparentLength)
    return false;
  const std::string_view version = value.substr(0, 2);
  const std::string_view trace_id = value.substr(3, 32);
  const std::string_view parent_id = value.substr(36, 16);
  const std::string_view flags = value.substr(53, 2);
  if (value[2] != '-' || value[35] != '-' || value[52] != '-' || !lower_hex(version) ||
      version == "ff" || !lower_hex(trace_id) || all_zero(trace_id) || !lower_hex(parent_id) ||
      all_zero(parent_id) || !lower_hex(flags)) {
    return false;
  }
  if (version == "00")
    return value.size() == kVersion00Length;
  // A later version may append fields after a '-'; they are carried as received.
  if (value.size() > kVersion00Length && value[kVersion00Length] != '-')
    return false;
  for (const char c : value) {
    if (c <= 0x20 || c > 0x7e)
      return false;
  }
  return true;
}

bool valid_tracestate(std::string_view value) {
  if (value.size() > kMaxTracestateLength)
    return false;
  constexpr std::size_t kMaxMembers = 32;
  std::array<std::string_view, kMaxMembers> keys;
  std::size_t members = 0;
  while (true) {
    const std::size_t comma = value.find(',');
    // Empty and whitespace-only members are allowed (they come from joining headers).
    const std::string_view member = trim_spaces(value.substr(0, comma));
    if (!member.empty()) {
      const std::size_t equals = member.find('=');
      if (equals == std::string_view::npos || members == kMaxMembers)
        return false;
      const std::string_view key = member.substr(0, equals);
      if (!valid_key(key) || !valid_value(member.substr(equals + 1)))
        return false;
      for (std::size_t i = 0; i < members; ++i) {
        if (keys[i] == key)
          return false;
      }
      keys[members++] = key;
    }
    if (comma == std::string_view::npos)
      break;
    value.remove_prefix(comma + 1);
  }
  return members > 0;
}

TraceContext parse_trace_context(std::size_t traceparent_count,
                                 std::optional<std::string_view> traceparent,
                                 std::optional<std::string_view> tracestate) {
  TraceContext trace;
  if (traceparent_count != 1 || !traceparent)
    return trace;
  const std::string_view parent = trim_spaces(*traceparent);
  if (!valid_traceparent(parent))
    return trace;
  trace.traceparent = parent;
  if (tracestate) {
    const std::string_view state = trim_spaces(*tracestate);
    if (valid_tracestate(state))
      trace.tracestate = state;
  }
  return trace;
}

}  // namespace cmr_bridge
