// Admin operations over an existing librdkafka handle.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct rd_kafka_s;

namespace cmr_bridge {

struct TopicSpec {
  std::string name;
  int partitions = -1;                                       // -1 = broker default
  int replication_factor = -1;                               // -1 = broker default
  std::vector<std::pair<std::string, std::string>> configs;  // e.g. cleanup.policy
};

// Creates each topic that does not exist yet; an existing topic is left alone.
// Empty string on success, otherwise the first failure, naming the topic.
std::string create_missing_topics(rd_kafka_s* handle, const std::vector<TopicSpec>& topics,
                                  std::chrono::milliseconds timeout);

// The value of one topic config (e.g. "cleanup.policy"), or nullopt with `error` set.
std::optional<std::string> describe_topic_config(rd_kafka_s* handle, const std::string& topic,
                                                 const std::string& name,
                                                 std::chrono::milliseconds timeout,
                                                 std::string* error);

}  // namespace cmr_bridge
