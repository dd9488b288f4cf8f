// Prometheus series for the pipeline (prometheus-cpp core; the admin listener serves them).
#pragma once

#include <memory>
#include <string>

#include "cmr_bridge/observer.h"

namespace cmr_bridge {

class PrometheusObserver final : public PipelineObserver {
 public:
  PrometheusObserver();
  ~PrometheusObserver() override;

  void on_signature_verified(SignatureScheme scheme) override;
  void on_outcome(const Outcome& outcome, std::chrono::nanoseconds latency) override;
  void on_delivery(const std::string& topic, bool delivered,
                   std::chrono::nanoseconds latency) override;
  void on_dedup(DedupResult result) override;
  void on_http_response(std::string_view route, int status) override;
  void on_connection_cut(std::string_view reason) override;

  // Gauges sampled by the admin listener right before a scrape.
  void set_kafka_reachable(bool reachable);
  void set_producer_queue_depth(int depth);
  void set_spool_state(std::size_t bytes, std::size_t records, double oldest_age_seconds,
                       uint64_t forwarder_errors, uint64_t append_failures);
  void set_in_flight(std::size_t requests);
  void set_dedup_state(std::size_t entries, std::size_t in_flight, bool warmed,
                       double warmup_seconds, std::size_t markers_loaded,
                       std::size_t own_markers_skipped);

  // The limits the gauges above are measured against, from the settings, set once at start:
  // max in flight (429 beyond), spool max bytes and dedup capacity (0 = that feature is off).
  void set_limits(std::size_t max_in_flight, std::size_t spool_max_bytes,
                  std::size_t dedup_capacity);

  // Prometheus text exposition format 0.0.4. Thread-safe.
  std::string scrape() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cmr_bridge
