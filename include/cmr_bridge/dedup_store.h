// Seam for sharing "this eventId was published" beyond one process: the Kafka edge writes
// markers to a compacted topic that every replica (and every restart) reads back.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cmr_bridge {

struct DedupMarker {
  std::string event_id;
  uint64_t body_fingerprint = 0;
  std::chrono::system_clock::time_point first_seen;
  std::string topic;  // where the event was published
  int32_t partition = -1;
  int64_t offset = -1;
};

class DedupMarkerSink {
 public:
  virtual ~DedupMarkerSink() = default;
  // Called after the event's own delivery report succeeded. Must not block on the network:
  // the marker is written asynchronously. Thread-safe.
  virtual void record(const DedupMarker& marker) = 0;
};

}  // namespace cmr_bridge
