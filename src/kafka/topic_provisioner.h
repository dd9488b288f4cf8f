// Creates the bridge's topics in the background, retrying until the cluster accepts, so a
// bridge started before its cluster becomes ready by itself. Then verifies that the topics
// that must be compacted are (else the start fails), and reports an existing topic whose
// max.message.bytes is below the largest record (kafka/record_size.h) with a warning and the
// gauge cmr_bridge_topic_max_message_bytes_too_small, without stopping the start: a record that
// does not fit is refused for good and dead-lettered or quarantined. Owns its thread and an
// admin client (closed once it is done); joins on destruction.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cmr_bridge/gauges.h"
#include "cmr_bridge/result.h"
#include "kafka/kafka_admin.h"
#include "kafka/kafka_publisher.h"

namespace cmr_bridge {

// What the provisioner verifies once the topics exist.
struct TopicChecks {
  std::vector<std::string> must_be_compacted;
  // Topics whose max.message.bytes should hold a record of a body of `max_body_bytes`.
  std::vector<std::string> must_fit_records;
  std::size_t max_body_bytes = 1024 * 1024;
};

class TopicProvisioner final : public GaugeSource {
 public:
  // `create_missing` false: only the checks run (managed clusters). `on_fatal` is called (from
  // the provisioner thread) when a topic that must be compacted is not, with a message naming
  // the topic and the setting at fault. Fails when
  // librdkafka refuses the admin client's configuration (naming the property). `publisher`
  // must outlive the provisioner: it tells when the cluster answers, and its topic metadata is
  // prepared once the topics are ready.
  static Result<std::unique_ptr<TopicProvisioner>> create(
      const KafkaSettings& kafka, KafkaPublisher& publisher, std::vector<TopicSpec> topics,
      bool create_missing, TopicChecks checks, std::function<void(const std::string&)> on_fatal);
  ~TopicProvisioner() override;
  TopicProvisioner(const TopicProvisioner&) = delete;
  TopicProvisioner& operator=(const TopicProvisioner&) = delete;

  bool done() const { return done_.load(); }

  // cmr_bridge_topic_max_message_bytes_too_small for each topic of `must_fit_records` checked
  // so far (none before the check ran). Any thread.
  void report_gauges(GaugeSink& sink) const override;

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
  mutable std::mutex fit_mutex_;
  // Written by the provisioner thread, read by scrapes: topic, and whether it is too small.
  std::vector<std::pair<std::string, bool>> record_fit_;
  std::thread thread_;
};

}  // namespace cmr_bridge
