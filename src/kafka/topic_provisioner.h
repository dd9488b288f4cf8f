// Creates the bridge's topics in the background, retrying until the cluster accepts, so a
// bridge started before its cluster becomes ready by itself. Then verifies that the topics
// that must be compacted are, and that the records of the largest accepted body fit the topics
// they go to (kafka/record_size.h). Owns its thread and an admin client (closed once it is done);
// joins on destruction.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cmr_bridge/result.h"
#include "kafka/kafka_admin.h"
#include "kafka/kafka_publisher.h"

namespace cmr_bridge {

// What the provisioner verifies once the topics exist.
struct TopicChecks {
  std::vector<std::string> must_be_compacted;
  // Topics whose max.message.bytes must hold a record of a body of `max_body_bytes`.
  std::vector<std::string> must_fit_records;
  std::size_t max_body_bytes = 1024 * 1024;
};

class TopicProvisioner {
 public:
  // `create_missing` false: only the checks run (managed clusters). `on_fatal` is called (from
  // the provisioner thread) when a check fails, with a message naming the topic and the
  // settings at fault. Fails when
  // librdkafka refuses the admin client's configuration (naming the property). `publisher`
  // must outlive the provisioner: it tells when the cluster answers, and its topic metadata is
  // prepared once the topics are ready.
  static Result<std::unique_ptr<TopicProvisioner>> create(
      const KafkaSettings& kafka, KafkaPublisher& publisher, std::vector<TopicSpec> topics,
      bool create_missing, TopicChecks checks, std::function<void(const std::string&)> on_fatal);
  ~TopicProvisioner();
  TopicProvisioner(const TopicProvisioner&) = delete;
  TopicProvisioner& operator=(const TopicProvisioner&) = delete;

  bool done() const { return done_.load(); }

 private:
  TopicProvisioner(std::unique_ptr<KafkaAdmin> admin, KafkaPublisher& publisher,
                   std::vector<TopicSpec> topics, bool create_missing, TopicChecks checks,
                   std::function<void(const std::string&)> on_fatal);
  void run();
  // The work of run(); false when stopped before it was done.
  bool provision();
  // One pass of the checks: nullopt when a config could not be read (retry), else the first
  // failure ("" when every check holds).
  std::optional<std::string> check_topics();
  bool pause(std::chrono::milliseconds d);

  std::unique_ptr<KafkaAdmin> admin_;  // used and released by the provisioner thread only
  KafkaPublisher& publisher_;
  std::vector<TopicSpec> topics_;
  bool create_missing_;
  TopicChecks checks_;
  std::function<void(const std::string&)> on_fatal_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace cmr_bridge
