// librdkafka behind the Publisher seam. Owns one producer handle, a poll thread that serves
// delivery reports, and a probe thread that tracks whether the cluster answers.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cmr_bridge/config.h"
#include "cmr_bridge/gauges.h"
#include "cmr_bridge/publisher.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

// How a failed produce is reported: kRejected when retrying the same record cannot succeed
// (the record or its topic is the problem), kFailed when a later attempt may (the cluster is).
// An unknown topic is permanent only when nobody creates topics (CMR_BRIDGE_CREATE_TOPICS=false);
// otherwise the provisioner may still be creating it.
DeliveryStatus failure_status(int librdkafka_error_code, bool unknown_topic_is_permanent);

struct ProducerSettings {
  KafkaSettings kafka;
  // Upper bound for one record's delivery (librdkafka message.timeout.ms).
  std::chrono::milliseconds message_timeout{10000};
  // How often readiness is re-probed with a metadata request.
  std::chrono::milliseconds probe_interval{2000};
  // CMR_BRIDGE_MAX_BODY_BYTES: message.max.bytes is raised to fit its largest record
  // (kafka/record_size.h).
  std::size_t max_body_bytes = 1024 * 1024;
  // Called once, from the producer's poll thread, when the idempotent producer hits a fatal
  // error (every later produce fails). Must be thread-safe and must not block; null: only
  // logged and reported by fatal().
  std::function<void(const std::string& reason)> on_fatal;
};

class KafkaPublisher final : public Publisher, public GaugeSource {
 public:
  // Fails (naming the property) when librdkafka refuses the configuration, or when
  // CMR_BRIDGE_KAFKA_PROP_message.max.bytes is below the largest record (naming both settings).
  static Result<std::unique_ptr<KafkaPublisher>> create(const ProducerSettings& settings);
  // Flushes (bounded by message_timeout) and joins the threads.
  ~KafkaPublisher() override;
  KafkaPublisher(const KafkaPublisher&) = delete;
  KafkaPublisher& operator=(const KafkaPublisher&) = delete;

  DeliveryReport publish(const Record& record, std::chrono::milliseconds deadline) override;
  // Enqueues without waiting; a failed delivery is logged (with the topic only) and counted.
  // False when the record could not even be enqueued.
  bool publish_detached(const Record& record);
  // Delivery reports of detached records that failed, since start.
  uint64_t detached_failures() const;
  // Records publish() reported as not delivered (timed out at the caller's deadline, or failed)
  // that the broker may hold anyway: delivered after the deadline, or failed with librdkafka's
  // status "possibly persisted". Each can show up on Kafka twice once retried or spooled.
  uint64_t possibly_persisted() const;

  // True once the last metadata probe succeeded; false after a failed probe or fatal error.
  bool reachable() const;
  // True once the producer hit a fatal error: it never produces again (the process must
  // restart). Any thread.
  bool fatal() const;
  // Test hook, for test binaries only (no production code path calls it): raises a fatal
  // idempotent-producer error through librdkafka's rd_kafka_test_fatal_error(), exactly as the
  // cluster would (e.g. OUT_OF_ORDER_SEQUENCE_NUMBER).
  Status raise_fatal_error_for_test();
  // Waits until a probe succeeded or `timeout` passed.
  bool wait_reachable(std::chrono::milliseconds timeout) const;
  // Learns the partitions and leaders of `topics` now (one metadata request; best effort), so the
  // first record to each does not wait for librdkafka's lazy topic lookup (measured ~1 s).
  // Call once the topics exist. Any thread. Producer work, not admin work: it fills this
  // producer's own topic cache, which no other client can do for it.
  void prepare_topics(const std::vector<std::string>& topics, std::chrono::milliseconds timeout);
  // Waits for every queued record's delivery report. True when the queue drained in time.
  bool flush(std::chrono::milliseconds timeout);
  // Records queued or in flight, not yet reported.
  int queue_depth() const;
  // reachable() and queue_depth().
  void report_gauges(GaugeSink& sink) const override;

 private:
  struct Impl;
  explicit KafkaPublisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> reachable_{false};
};

}  // namespace cmr_bridge
