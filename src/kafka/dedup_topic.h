// The compacted dedup topic: markers written after each published event, read back at start
// (before /readyz turns ready) and tailed afterwards, so restarts and replicas share what was
// published. Marker: key = eventId, value = {"firstSeen","bodyHash","topic","partition","offset"}.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "cmr_bridge/config.h"
#include "cmr_bridge/dedup_store.h"
#include "core/dedup_cache.h"
#include "kafka/kafka_publisher.h"

namespace cmr_bridge {

// Marker value JSON; pure, shared by writer, reader and tests.
std::string encode_dedup_marker(const DedupMarker& marker);
struct DecodedMarker {
  uint64_t body_fingerprint = 0;
  std::chrono::system_clock::time_point first_seen;
};
std::optional<DecodedMarker> decode_dedup_marker(std::string_view value);

// Writes markers through the shared producer without waiting (the event is already durable;
// a lost marker can only cause a later duplicate, never a loss).
class DedupMarkerWriter final : public DedupMarkerSink {
 public:
  DedupMarkerWriter(KafkaPublisher& publisher, std::string topic)
      : publisher_(publisher), topic_(std::move(topic)) {}
  void record(const DedupMarker& marker) override;

 private:
  KafkaPublisher& publisher_;
  std::string topic_;
};

// Owns a consumer and its thread. Reads every partition from the beginning; warmed() turns
// true once each partition reached the high watermark it had at start; keeps tailing.
class DedupTopicReader {
 public:
  static std::unique_ptr<DedupTopicReader> create(const KafkaSettings& kafka, std::string topic,
                                                  DedupCache& cache, std::string* error);
  ~DedupTopicReader();
  DedupTopicReader(const DedupTopicReader&) = delete;
  DedupTopicReader& operator=(const DedupTopicReader&) = delete;

  bool warmed() const { return warmed_.load(std::memory_order_acquire); }
  double warmup_seconds() const { return warmup_seconds_.load(std::memory_order_relaxed); }
  std::size_t markers_loaded() const { return markers_loaded_.load(std::memory_order_relaxed); }

 private:
  struct Impl;
  explicit DedupTopicReader(std::unique_ptr<Impl> impl);
  void run();

  std::unique_ptr<Impl> impl_;
  std::atomic<bool> warmed_{false};
  std::atomic<double> warmup_seconds_{0};
  std::atomic<std::size_t> markers_loaded_{0};
};

}  // namespace cmr_bridge
