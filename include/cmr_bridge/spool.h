// Seam for the durable local spool: when Kafka cannot acknowledge in time, a verified request
// is kept on local disk (fsync'd) and the sender still gets its 200.
#pragma once

#include <chrono>
#include <string>

namespace cmr_bridge {

// Everything needed to process a verified request again later.
struct SpooledRequest {
  std::string body;              // raw bytes as received
  std::string timestamp;         // the cmr-x-timestamp header as received
  std::string signature_scheme;  // the scheme that verified it
  std::chrono::system_clock::time_point received;
  // The sender's W3C trace context as validated at the edge; empty when it sent none.
  std::string traceparent = {};
  std::string tracestate = {};
  // Another provider's request (docs/sources.md): its source's name (empty: CMR), and the
  // event id and type its headers carried (empty when its body holds them).
  std::string source = {};
  std::string delivery_id = {};
  std::string event_type = {};
};

enum class SpoolAppendResult {
  kDurable,  // written and fsync'd: safe to answer 2xx
  kFull,     // the spool holds its configured maximum of bytes
  kFailed,   // the disk refused (unwritable, no space, I/O error)
};

class Spool {
 public:
  virtual ~Spool() = default;
  // Returns once the record is fsync'd (group commit: concurrent appends share one fsync).
  // Thread-safe; blocks the caller for the write and the fsync only.
  virtual SpoolAppendResult append(const SpooledRequest& request) = 0;
  // True while records wait to be forwarded. New requests then queue behind them, so events
  // of one key reach Kafka in arrival order.
  virtual bool backlogged() const = 0;
};

}  // namespace cmr_bridge
