// Admin operations over an existing librdkafka handle.
#pragma once

#include <chrono>
#include <string>
#include <vector>

struct rd_kafka_s;

namespace cmr_bridge {

// Creates each topic that does not exist yet; an existing topic is left alone.
// Empty string on success, otherwise the first failure, naming the topic.
std::string create_missing_topics(rd_kafka_s* handle, const std::vector<std::string>& topics,
                                  int partitions, int replication_factor,
                                  std::chrono::milliseconds timeout);

}  // namespace cmr_bridge
