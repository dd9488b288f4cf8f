// Prometheus series for the pipeline (prometheus-cpp core; the admin listener serves them).
#pragma once

#include <memory>
#include <string>

#include "cmr_bridge/gauges.h"
#include "cmr_bridge/observer.h"

namespace cmr_bridge {

class PrometheusObserver final : public PipelineObserver {
 public:
  PrometheusObserver();
  ~PrometheusObserver() override;

  void on_signature_verified(std::string_view scheme, std::string_view source) override;
  void on_outcome(const Outcome& outcome, std::chrono::nanoseconds latency) override;
  void on_delivery(const std::string& topic, bool delivered,
                   std::chrono::nanoseconds latency) override;
  void on_dedup(DedupResult result, std::string_view source) override;
  void on_http_response(std::string_view route, int status) override;
  void on_connection_cut(std::string_view reason) override;

  // The limits the gauges of the components are measured against, from the settings, set once at
  // start: max in flight (429 beyond), spool max bytes and dedup capacity (0 = that feature is
  // off).
  void set_limits(std::size_t max_in_flight, std::size_t spool_max_bytes,
                  std::size_t dedup_capacity);

  // Keeps a gauge source registered while it lives; its destructor waits for a scrape that is
  // reading the source, after which no scrape reads it again. Must not outlive the observer.
  class GaugeRegistration {
   public:
    GaugeRegistration(GaugeRegistration&& other) noexcept;
    GaugeRegistration& operator=(GaugeRegistration&&) = delete;
    GaugeRegistration(const GaugeRegistration&) = delete;
    ~GaugeRegistration();

   private:
    friend class PrometheusObserver;
    GaugeRegistration(PrometheusObserver* observer, const GaugeSource* source)
        : observer_(observer), source_(source) {}
    PrometheusObserver* observer_;  // null once moved from
    const GaugeSource* source_;
  };

  // Every scrape asks `source` for its gauges until the returned registration is destroyed.
  [[nodiscard]] GaugeRegistration add_gauge_source(const GaugeSource& source);

  // Prometheus text exposition format 0.0.4, with the registered sources' current gauges.
  // Thread-safe.
  std::string scrape() const;

 private:
  void remove_gauge_source(const GaugeSource* source);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cmr_bridge
