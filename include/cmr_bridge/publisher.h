// Publishing seam between the pure core and the Kafka edge.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cmr_bridge {

struct RecordHeader {
  std::string name;
  std::string value;
};

// One record to write. The publisher copies what it needs before publish() returns.
struct Record {
  std::string topic;
  std::string key;
  std::string value;
  std::vector<RecordHeader> headers;
};

enum class DeliveryStatus {
  kDelivered,  // acknowledged by the cluster (acks=all): durable
  kFailed,     // definitively not written (broker error, unknown topic, message timed out)
  kTimedOut,   // no delivery report before the caller's deadline; outcome unknown
  kQueueFull,  // the local producer queue refused the record; nothing was sent
  kRejected,   // definitively not written, and retrying the same record can never succeed
               // (too large, unknown topic, not authorized, invalid record)
};

struct DeliveryReport {
  DeliveryStatus status = DeliveryStatus::kFailed;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string error;  // empty when delivered; never contains record contents
};

class Publisher {
 public:
  virtual ~Publisher() = default;
  // Blocks the calling thread until the delivery report arrives or `deadline` passes.
  // Thread-safe: called concurrently from every HTTP worker thread.
  virtual DeliveryReport publish(const Record& record, std::chrono::milliseconds deadline) = 0;
};

}  // namespace cmr_bridge
