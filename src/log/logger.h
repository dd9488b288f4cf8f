// JSON-lines logging to stdout. One line per call, written with a single write(2) so lines
// from different threads never interleave. Callers must never pass secrets or body bytes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "cmr_bridge/log_level.h"

namespace cmr_bridge {

struct LogField {
  std::string_view name;
  std::variant<std::string_view, int64_t, double, bool> value;
  LogField(std::string_view n, std::string_view v) : name(n), value(v) {}
  LogField(std::string_view n, const std::string& v) : name(n), value(std::string_view(v)) {}
  LogField(std::string_view n, const char* v) : name(n), value(std::string_view(v)) {}
  LogField(std::string_view n, int64_t v) : name(n), value(v) {}
  LogField(std::string_view n, int v) : name(n), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view n, uint64_t v) : name(n), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view n, double v) : name(n), value(v) {}
  LogField(std::string_view n, bool v) : name(n), value(v) {}
};

// Process-wide; the level may be changed only before threads start (composition root).
void set_log_level(LogLevel level);
// Redirect output (tests); -1 silences. Default 1 (stdout).
void set_log_fd(int fd);
bool log_enabled(LogLevel level);
void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

inline void log_debug(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::kDebug, m, f);
}
inline void log_info(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::kInfo, m, f);
}
inline void log_warn(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::kWarn, m, f);
}
inline void log_error(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::kError, m, f);
}

}  // namespace cmr_bridge
