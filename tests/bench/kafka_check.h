// Kafka side of the benchmark (librdkafka): watermark snapshots, the consumer check that every
// accepted eventId reached its topic, and create/delete of the benchmark's own topics.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace cmr_bench {

using PartitionOffsets = std::map<std::pair<std::string, int32_t>, int64_t>;

// High watermark of every partition of `topics` (absent topics contribute nothing).
// Throws std::runtime_error when the broker does not answer.
PartitionOffsets high_watermarks(const std::string& brokers, const std::vector<std::string>& topics,
                                 std::chrono::milliseconds timeout);

struct ConsumerCheck {
  uint64_t records = 0;             // records read between the two snapshots
  uint64_t distinct_ids = 0;        // distinct cmr-event-id values among them
  uint64_t expected = 0;            // accepted eventIds to find
  uint64_t missing = 0;             // accepted but not on Kafka
  uint64_t unexpected = 0;          // records whose eventId was not answered "accepted"
  uint64_t without_id = 0;          // records whose eventId could not be read
  std::vector<std::string> sample;  // a few missing ids
  std::string error;                // empty when the check ran to the end
};

// Reads [from, to) of every partition in `to` and checks that each id in `accepted` is the
// eventId of a record (cmr-event-id / ce_id header or CloudEvents "id"). Bounded by `timeout`.
ConsumerCheck check_event_ids(const std::string& brokers, const PartitionOffsets& from,
                              const PartitionOffsets& to,
                              const std::unordered_set<std::string>& accepted,
                              std::chrono::milliseconds timeout);

// Creates (idempotently) or deletes topics. Empty string on success. delete_topics refuses
// names that do not start with `required_prefix` (the benchmark only removes its own topics).
std::string create_topics(const std::string& brokers, const std::vector<std::string>& topics,
                          int partitions, std::chrono::milliseconds timeout);
std::string delete_topics(const std::string& brokers, const std::vector<std::string>& topics,
                          const std::string& required_prefix, std::chrono::milliseconds timeout);
// Topic names on the cluster that start with `prefix`.
std::vector<std::string> list_topics(const std::string& brokers, const std::string& prefix,
                                     std::chrono::milliseconds timeout);

}  // namespace cmr_bench
