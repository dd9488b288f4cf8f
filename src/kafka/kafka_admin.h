// Kafka admin operations (topic creation, topic configs) on a client of their own, so the
// producer does only produce work. Any one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cmr_bridge/config.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

struct TopicSpec {
  std::string name;
  int partitions = -1;                                       // -1 = broker default
  int replication_factor = -1;                               // -1 = broker default
  std::vector<std::pair<std::string, std::string>> configs;  // e.g. cleanup.policy
};

class KafkaAdmin {
 public:
  // Fails (naming the property) when librdkafka refuses the configuration. Does not wait for
  // the cluster.
  static Result<std::unique_ptr<KafkaAdmin>> create(const KafkaSettings& kafka);
  ~KafkaAdmin();
  KafkaAdmin(const KafkaAdmin&) = delete;
  KafkaAdmin& operator=(const KafkaAdmin&) = delete;

  // Creates each topic that does not exist yet; an existing topic is left alone. The error
  // names the first topic that failed.
  Status create_missing_topics(const std::vector<TopicSpec>& topics,
                               std::chrono::milliseconds timeout);

  // The value of one topic config (e.g. "cleanup.policy").
  Result<std::string> topic_config(const std::string& topic, const std::string& name,
                                   std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit KafkaAdmin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cmr_bridge
