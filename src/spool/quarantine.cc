#include "spool/quarantine.h"

#include <fcntl.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <tuple>

#include "core/encoding.h"
#include "core/json_writer.h"
#include "core/source.h"
#include "core/timestamp.h"
#include "log/logger.h"
#include "spool/durable_io.h"

namespace cmr_bridge {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kPrefix = "q-";
constexpr std::string_view kSuffix = ".json";

// The source a request came to, as files and logs name it ("cmr" for CMR's).
std::string_view source_of(const SpooledRequest& request) {
  return request.source.empty() ? kCmrSourceName : std::string_view(request.source);
}

}  // namespace

std::string encode_quarantine_entry(const QuarantinedRequest& entry) {
  const auto& body = entry.request.body;
  return JsonObjectWriter()
             .field("event", entry.event)
             .field("eventId", entry.event_id)
             .field("reason", entry.reason)
             .field("detail", entry.detail)
             .field("refusal", entry.refusal)
             .field("receivedTime", format_rfc3339(entry.request.received))
             .field("timestamp", entry.request.timestamp)
             .field("signatureScheme", entry.request.signature_scheme)
             .field("source", source_of(entry.request))
             .field("deliveryId", entry.request.delivery_id)
             .field("eventType", entry.request.event_type)
             .field("traceparent", entry.request.traceparent)
             .field("tracestate", entry.request.tracestate)
             .field("body",
                    base64_encode(reinterpret_cast<const uint8_t*>(body.data()), body.size()))
             .finish() +
         "\n";
}

Result<QuarantinedRequest> decode_quarantine_entry(std::string_view text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  if (document.HasParseError() || !document.IsObject())
    return Error("not a JSON object");
  QuarantinedRequest entry;
  const auto read = [&](const char* name, std::string& out) -> Status {
    const auto it = document.FindMember(name);
    if (it == document.MemberEnd() || !it->value.IsString())
      return Error(std::string("missing string field ") + name);
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return ok_status();
  };
  std::string received;
  std::string body;
  for (const auto& [name, out] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"event", &entry.event},
           {"eventId", &entry.event_id},
           {"reason", &entry.reason},
           {"detail", &entry.detail},
           {"refusal", &entry.refusal},
           {"receivedTime", &received},
           {"timestamp", &entry.request.timestamp},
           {"signatureScheme", &entry.request.signature_scheme},
           {"body", &body}}) {
    if (Status found = read(name, *out); !found)
      return found.error();
  }
  // Entries written before sources and trace context were kept lack these fields: CMR's,
  // without a trace context.
  for (const auto& [name, out] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"source", &entry.request.source},
           {"deliveryId", &entry.request.delivery_id},
           {"eventType", &entry.request.event_type},
           {"traceparent", &entry.request.traceparent},
           {"tracestate", &entry.request.tracestate}}) {
    if (document.HasMember(name)) {
      if (Status found = read(name, *out); !found)
        return found.error();
    }
  }
  if (entry.request.source == kCmrSourceName)
    entry.request.source.clear();
  const auto time = parse_rfc3339(received);
  if (!time)
    return Error("receivedTime is not an RFC 3339 time");
  entry.request.received = *time;
  const auto bytes = base64_decode(body);
  if (!bytes)
    return Error("body is not base64");
  entry.request.body.assign(bytes->begin(), bytes->end());
  return entry;
}

std::string quarantine_file_name(uint64_t unix_nanos, uint64_t sequence) {
  char name[64];
  std::snprintf(name, sizeof name, "q-%020llu-%06llu.json",
                static_cast<unsigned long long>(unix_nanos),
                static_cast<unsigned long long>(sequence % 1000000));
  return name;
}

bool is_quarantine_file_name(std::string_view name) {
  return name.size() == kPrefix.size() + 20 + 1 + 6 + kSuffix.size() &&
         name.substr(0, kPrefix.size()) == kPrefix &&
         name.substr(name.size() - kSuffix.size()) == kSuffix;
}

Result<std::vector<std::string>> list_quarantine_files(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (is_quarantine_file_name(entry.path().filename().string()))
      files.push_back(entry.path().string());
  }
  if (ec)
    return Error("cannot list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

FileQuarantine::FileQuarantine(QuarantineSettings settings) : settings_(std::move(settings)) {}

Result<std::unique_ptr<FileQuarantine>> FileQuarantine::open(const QuarantineSettings& settings) {
  std::error_code ec;
  fs::create_directories(settings.dir, ec);
  if (ec) {
    return Error("CMR_BRIDGE_QUARANTINE_DIR: cannot create " + settings.dir + ": " + ec.message());
  }
  if (::access(settings.dir.c_str(), W_OK) != 0) {
    return Error("CMR_BRIDGE_QUARANTINE_DIR: " + settings.dir +
                 " is not writable: " + std::strerror(errno));
  }
  std::unique_ptr<FileQuarantine> quarantine(new FileQuarantine(settings));
  std::lock_guard lock(quarantine->mutex_);
  if (Status counted = quarantine->recount(); !counted)
    return Error("CMR_BRIDGE_QUARANTINE_DIR: " + counted.error().message());
  return quarantine;
}

namespace {

// Entries in `dir` and the bytes of their files.
Result<std::pair<std::size_t, std::size_t>> count_entries(const std::string& dir) {
  auto files = list_quarantine_files(dir);
  if (!files)
    return files.error();
  std::size_t bytes = 0;
  std::error_code ec;
  for (const auto& file : *files) {
    const auto size = fs::file_size(file, ec);
    if (!ec)
      bytes += size;
  }
  return std::pair<std::size_t, std::size_t>(files->size(), bytes);
}

}  // namespace

Status FileQuarantine::recount() {
  auto counted = count_entries(settings_.dir);
  if (!counted)
    return counted.error();
  std::tie(records_, bytes_) = counted.value();
  return ok_status();
}

QuarantineResult FileQuarantine::keep(const QuarantinedRequest& request) {
  const std::string text = encode_quarantine_entry(request);
  std::lock_guard lock(mutex_);
  if (bytes_ + text.size() > settings_.max_bytes) {
    if (!recount() || bytes_ + text.size() > settings_.max_bytes) {
      log_error("quarantine full", {{"dir", settings_.dir},
                                    {"bytes", static_cast<int64_t>(bytes_)},
                                    {"eventId", request.event_id}});
      return QuarantineResult::kFull;
    }
  }
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const std::string path =
      (fs::path(settings_.dir) / quarantine_file_name(static_cast<uint64_t>(nanos), sequence_++))
          .string();
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool written = fd >= 0 && write_all(fd, text) && ::fsync(fd) == 0;
  const int error = errno;
  if (fd >= 0)
    written = (::close(fd) == 0) && written;
  written =
      written && ::rename(temporary.c_str(), path.c_str()) == 0 && fsync_directory(settings_.dir);
  if (!written) {
    ::unlink(temporary.c_str());
    log_error(
        "quarantine write failed",
        {{"dir", settings_.dir}, {"error", std::strerror(error)}, {"eventId", request.event_id}});
    return QuarantineResult::kFailed;
  }
  ++records_;
  bytes_ += text.size();
  log_error("request quarantined", {{"file", path},
                                    {"source", source_of(request.request)},
                                    {"event", request.event},
                                    {"eventId", request.event_id},
                                    {"reason", request.reason},
                                    {"refusal", request.refusal}});
  return QuarantineResult::kDurable;
}

std::size_t FileQuarantine::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::size_t FileQuarantine::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

void FileQuarantine::report_gauges(GaugeSink& sink) const {
  // Counted from the directory at each scrape, so entries that redrive --from-quarantine
  // removed (another process) leave the gauges at once. The directory is small: empty unless
  // Kafka refused something for good.
  std::lock_guard lock(mutex_);
  const auto counted = count_entries(settings_.dir);
  const auto [records, bytes] = counted ? counted.value() : std::pair(records_, bytes_);
  sink.set(Gauge::kQuarantineRecords, static_cast<double>(records));
  sink.set(Gauge::kQuarantineBytes, static_cast<double>(bytes));
}

}  // namespace cmr_bridge
