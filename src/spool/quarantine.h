// The local quarantine directory: one JSON file per request that Kafka refused for good, record
// and dead letter both (include/cmr_bridge/quarantine.h). The file format is pure (encode /
// decode, below); FileQuarantine is the file I/O.
//
// Threads: keep() from any request thread and the spool forwarder; report_gauges() from the
// scrape thread. redrive --from-quarantine reads and removes files from another process.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cmr_bridge/gauges.h"
#include "cmr_bridge/quarantine.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

// One file's text: a JSON object with event, eventId, reason, detail, refusal, receivedTime
// (RFC 3339), timestamp (cmr-x-timestamp as received), signatureScheme and body (base64 of the
// raw bytes, which need not be UTF-8).
std::string encode_quarantine_entry(const QuarantinedRequest& entry);
// The entry encode_quarantine_entry() wrote; an error naming the field that is missing or bad.
Result<QuarantinedRequest> decode_quarantine_entry(std::string_view text);

// "q-<20-digit nanoseconds since the epoch>-<6-digit sequence>.json": names sort in the order
// the requests were quarantined.
std::string quarantine_file_name(uint64_t unix_nanos, uint64_t sequence);
bool is_quarantine_file_name(std::string_view name);

struct QuarantineSettings {
  std::string dir;
  std::size_t max_bytes = 256ull * 1024 * 1024;  // bytes of entry files; beyond → kFull
};

class FileQuarantine final : public Quarantine, public GaugeSource {
 public:
  // Creates the directory when missing and counts the entries it holds. The error names
  // CMR_BRIDGE_QUARANTINE_DIR and the path.
  static Result<std::unique_ptr<FileQuarantine>> open(const QuarantineSettings& settings);

  // Writes "<name>.tmp", fsyncs it, renames it to <name> and fsyncs the directory. When the
  // entry would pass max_bytes, recounts the directory first (redrive may have removed
  // entries).
  QuarantineResult keep(const QuarantinedRequest& request) override;

  std::size_t records() const;
  std::size_t bytes() const;
  // cmr_bridge_quarantine_records and cmr_bridge_quarantine_bytes, counted from the directory.
  void report_gauges(GaugeSink& sink) const override;

 private:
  explicit FileQuarantine(QuarantineSettings settings);
  Status recount();  // requires mutex_

  QuarantineSettings settings_;
  mutable std::mutex mutex_;
  std::size_t records_ = 0;
  std::size_t bytes_ = 0;
  uint64_t sequence_ = 0;
};

// The entry files in `dir`, oldest first (full paths).
Result<std::vector<std::string>> list_quarantine_files(const std::string& dir);

}  // namespace cmr_bridge
