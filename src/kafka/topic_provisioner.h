// Creates the bridge's topics in the background, retrying until the cluster accepts, so a
// bridge started before its cluster becomes ready by itself. Then verifies that the topics
// that must be compacted are. Owns its thread and an admin client (closed once it is done);
// joins on destruction.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cmr_bridge/result.h"
#include "kafka/kafka_admin.h"
#include "kafka/kafka_publisher.h"

namespace cmr_bridge {

class TopicProvisioner {
 public:
  // `create_missing` false: only the compaction check runs (managed clusters). `on_fatal` is
  // called (from the provisioner thread) when a topic that must be compacted is not. Fails when
  // librdkafka refuses the admin client's configuration (naming the property). `publisher`
  // must outlive the provisioner: it tells when the cluster answers, and its topic metadata is
  // prepared once the topics are ready.
  static Result<std::unique_ptr<TopicProvisioner>> create(
      const KafkaSettings& kafka, KafkaPublisher& publisher, std::vector<TopicSpec> topics,
      bool create_missing, std::vector<std::string> must_be_compacted,
      std::function<void(const std::string&)> on_fatal);
  ~TopicProvisioner();
  TopicProvisioner(const TopicProvisioner&) = delete;
  TopicProvisioner& operator=(const TopicProvisioner&) = delete;

  bool done() const { return done_.load(); }

 private:
  TopicProvisioner(std::unique_ptr<KafkaAdmin> admin, KafkaPublisher& publisher,
                   std::vector<TopicSpec> topics, bool create_missing,
                   std::vector<std::string> must_be_compacted,
                   std::function<void(const std::string&)> on_fatal);
  void run();
  // The work of run(); false when stopped before it was done.
  bool provision();
  bool pause(std::chrono::milliseconds d);

  std::unique_ptr<KafkaAdmin> admin_;  // used and released by the provisioner thread only
  KafkaPublisher& publisher_;
  std::vector<TopicSpec> topics_;
  bool create_missing_;
  std::vector<std::string> must_be_compacted_;
  std::function<void(const std::string&)> on_fatal_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace cmr_bridge
