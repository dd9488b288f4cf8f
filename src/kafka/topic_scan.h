// Reads a bounded range of a topic once (all partitions, up to the high watermarks taken at
// the start), for operator commands such as `redrive`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "cmr_bridge/config.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

struct ScannedRecord {
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

struct ScanRange {
  std::optional<int64_t> from_offset;  // per partition; default: the beginning
  std::optional<std::chrono::system_clock::time_point> since;  // by record timestamp
  std::optional<std::chrono::system_clock::time_point> until;  // exclusive
  bool missing_topic_is_empty = false;  // false: a missing topic is an error (likely a typo)
};

// Calls `visit` for each record in range, partition by partition in offset order. Fails when
// the broker does not answer, the topic is missing, or the range was not read within
// `timeout`.
Status scan_topic(const KafkaSettings& kafka, const std::string& topic, const ScanRange& range,
                  const std::function<void(const ScannedRecord&)>& visit,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace cmr_bridge
