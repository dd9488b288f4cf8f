// Small ASCII text helpers for header values and settings. Pure, header-only.
#pragma once

#include <string_view>

namespace cmr_bridge {

// `text` without leading and trailing spaces and tabs (HTTP's optional whitespace).
constexpr std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// ASCII case-insensitive equality (header names).
constexpr bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

}  // namespace cmr_bridge
