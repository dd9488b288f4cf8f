#include "log/logger.h"

#include <unistd.h>

#include <atomic>
#include <chrono>

#include "core/json_writer.h"
#include "core/timestamp.h"

namespace cmr_bridge {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_fd{1};

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}
}  // namespace

void set_log_level(LogLevel level) {
  g_level.store(static_cast<int>(level));
}
void set_log_fd(int fd) {
  g_fd.store(fd);
}
bool log_enabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed) &&
         g_fd.load(std::memory_order_relaxed) >= 0;
}

void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!log_enabled(level))
    return;
  JsonObjectWriter line;
  line.field("time", format_rfc3339(std::chrono::system_clock::now()));
  line.field("level", level_name(level));
  line.field("msg", message);
  for (const auto& f : fields) {
    std::visit([&](const auto& v) { line.field(f.name, v); }, f.value);
  }
  std::string text = line.finish();
  text.push_back('\n');
  const int fd = g_fd.load(std::memory_order_relaxed);
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0)
      break;  // logging never takes the process down
    written += static_cast<std::size_t>(n);
  }
}

}  // namespace cmr_bridge
