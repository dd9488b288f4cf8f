// Gauge seam: components report their own current values when metrics are scraped; src/metrics
// turns them into Prometheus series (names and help texts are declared there, once, per Gauge).
#pragma once

#include <string>

namespace cmr_bridge {

// Every gauge the bridge exposes besides cmr_bridge_build_info. A gauge no live component
// reports reads 0 (e.g. the spool gauges when the spool is off).
enum class Gauge {
  kKafkaReachable,          // cmr_bridge_kafka_reachable
  kProducerQueueDepth,      // cmr_bridge_kafka_producer_queue_depth
  kPossiblyPersisted,       // cmr_bridge_kafka_possibly_persisted_records
  kHttpInFlight,            // cmr_bridge_http_in_flight_requests
  kDedupEntries,            // cmr_bridge_dedup_entries
  kDedupInFlight,           // cmr_bridge_dedup_in_flight
  kDedupWarmed,             // cmr_bridge_dedup_warmed
  kDedupWarmupSeconds,      // cmr_bridge_dedup_warmup_seconds
  kDedupMarkersLoaded,      // cmr_bridge_dedup_markers_loaded
  kDedupOwnMarkersSkipped,  // cmr_bridge_dedup_own_markers_skipped
  kSpoolBytes,              // cmr_bridge_spool_bytes
  kSpoolRecords,            // cmr_bridge_spool_records
  kSpoolOldestAgeSeconds,   // cmr_bridge_spool_oldest_record_age_seconds
  kSpoolForwarderErrors,    // cmr_bridge_spool_forwarder_errors
  kSpoolAppendFailures,     // cmr_bridge_spool_append_failures
  kQuarantineRecords,       // cmr_bridge_quarantine_records
  kQuarantineBytes,         // cmr_bridge_quarantine_bytes
  kCount,                   // not a gauge: the number of them
};

// Gauges with a `topic` label, reported only for the bridge's configured topics.
enum class TopicGauge {
  kMaxMessageBytesTooSmall,  // cmr_bridge_topic_max_message_bytes_too_small
  kCount,                    // not a gauge: the number of them
};

class GaugeSink {
 public:
  virtual void set(Gauge gauge, double value) = 0;
  virtual void set_for_topic(TopicGauge gauge, const std::string& topic, double value) = 0;

 protected:
  ~GaugeSink() = default;
};

// Implemented by components that have gauges. report_gauges() is called on the scrape thread
// (the admin listener's), concurrently with the component's own threads: it must be cheap and
// thread-safe. The owner keeps the component alive for as long as it is registered.
class GaugeSource {
 public:
  virtual ~GaugeSource() = default;
  virtual void report_gauges(GaugeSink& sink) const = 0;
};

}  // namespace cmr_bridge
