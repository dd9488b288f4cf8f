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
#include "cmr_bridge/gauges.h"
#include "cmr_bridge/result.h"
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

// Header naming the process that wrote a marker. Its own reader skips those markers: the writer
// put the eventId in its cache before it wrote the marker, so reading it back is pure cost.
inline constexpr const char* kDedupWriterHeader = "cmr-dedup-writer";
// A fresh random id (32 hex digits) for this process's markers; unique per start, so markers of
// an earlier run of the same pod are loaded like any other replica's.
std::string new_dedup_writer_id();

// Writes markers through the shared producer without waiting (the event is already durable;
// a lost marker can only cause a later duplicate, never a loss).
class DedupMarkerWriter final : public DedupMarkerSink {
 public:
  DedupMarkerWriter(KafkaPublisher& publisher, std::string topic, std::string writer_id)
      : publisher_(publisher), topic_(std::move(topic)), writer_id_(std::move(writer_id)) {}
  void record(const DedupMarker& marker) override;

 private:
  KafkaPublisher& publisher_;
  std::string topic_;
  std::string writer_id_;
};

// Owns a consumer and its thread. Reads every partition from the beginning; warmed() turns
// true once each partition reached the high watermark it had at start; keeps tailing, fetching
// in batches (markers of other replicas arrive within ~100 ms). Markers whose writer header is
// `own_writer_id` are skipped (none when it is empty). Partitions added to the topic later are
// assigned (from their beginning) within 5 s.
class DedupTopicReader final : public GaugeSource {
 public:
  // Fails (naming the property) when librdkafka refuses the configuration. Does not wait for
  // the cluster.
  static Result<std::unique_ptr<DedupTopicReader>> create(const KafkaSettings& kafka,
                                                          std::string topic,
                                                          std::string own_writer_id,
                                                          DedupCache& cache);
  ~DedupTopicReader() override;
  DedupTopicReader(const DedupTopicReader&) = delete;
  DedupTopicReader& operator=(const DedupTopicReader&) = delete;

  bool warmed() const { return warmed_.load(std::memory_order_acquire); }
  double warmup_seconds() const { return warmup_seconds_.load(std::memory_order_relaxed); }
  // Markers applied to the cache (other writers); markers_skipped(): this process's own.
  std::size_t markers_loaded() const { return markers_loaded_.load(std::memory_order_relaxed); }
  std::size_t markers_skipped() const { return markers_skipped_.load(std::memory_order_relaxed); }
  // warmed(), warmup_seconds(), markers_loaded() and markers_skipped().
  void report_gauges(GaugeSink& sink) const override;

 private:
  struct Impl;
  explicit DedupTopicReader(std::unique_ptr<Impl> impl);
  void run();

  std::unique_ptr<Impl> impl_;
  std::atomic<bool> warmed_{false};
  std::atomic<double> warmup_seconds_{0};
  std::atomic<std::size_t> markers_loaded_{0};
  std::atomic<std::size_t> markers_skipped_{0};
};

}  // namespace cmr_bridge
