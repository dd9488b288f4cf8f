// Creates the bridge's topics in the background, retrying until the cluster accepts, so a
// bridge started before its cluster becomes ready by itself. Then verifies that the topics
// that must be compacted are. Owns its thread; joins on destruction.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "kafka/kafka_publisher.h"

namespace cmr_bridge {

class TopicProvisioner {
 public:
  // `create` false: only the compaction check runs (managed clusters). `on_fatal` is called
  // (from the provisioner thread) when a topic that must be compacted is not.
  TopicProvisioner(KafkaPublisher& publisher, std::vector<TopicSpec> topics, bool create,
                   std::vector<std::string> must_be_compacted,
                   std::function<void(const std::string&)> on_fatal);
  ~TopicProvisioner();
  TopicProvisioner(const TopicProvisioner&) = delete;
  TopicProvisioner& operator=(const TopicProvisioner&) = delete;

  bool done() const { return done_.load(); }

 private:
  void run();
  bool pause(std::chrono::milliseconds d);

  KafkaPublisher& publisher_;
  std::vector<TopicSpec> topics_;
  bool create_;
  std::vector<std::string> must_be_compacted_;
  std::function<void(const std::string&)> on_fatal_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace cmr_bridge
