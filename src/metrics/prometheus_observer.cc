#include "metrics/prometheus_observer.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cmr_bridge {
namespace {
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

constexpr std::size_t kGaugeCount = static_cast<std::size_t>(Gauge::kCount);

struct GaugeDeclaration {
  Gauge gauge;
  const char* name;
  const char* help;
};

// The one place gauge names and help texts are written (README lists the names).
constexpr GaugeDeclaration kGaugeDeclarations[] = {
    {Gauge::kKafkaReachable, "cmr_bridge_kafka_reachable",
     "1 when the last Kafka metadata probe succeeded."},
    {Gauge::kProducerQueueDepth, "cmr_bridge_kafka_producer_queue_depth",
     "Records queued or in flight in the producer."},
    {Gauge::kPossiblyPersisted, "cmr_bridge_kafka_possibly_persisted_records",
     "Records answered as not delivered since start that the broker may hold anyway (delivered "
     "after the deadline, or failed as possibly persisted): at-least-once duplicates."},
    {Gauge::kDedupEntries, "cmr_bridge_dedup_entries", "eventIds remembered as published."},
    {Gauge::kDedupInFlight, "cmr_bridge_dedup_in_flight", "eventIds being published right now."},
    {Gauge::kDedupWarmed, "cmr_bridge_dedup_warmed",
     "1 once the dedup topic was read to its end at start."},
    {Gauge::kDedupWarmupSeconds, "cmr_bridge_dedup_warmup_seconds",
     "Time the start-up read of the dedup topic took."},
    {Gauge::kDedupMarkersLoaded, "cmr_bridge_dedup_markers_loaded",
     "Markers of other replicas and earlier runs applied from the dedup topic since start."},
    {Gauge::kDedupOwnMarkersSkipped, "cmr_bridge_dedup_own_markers_skipped",
     "Markers this process wrote, read back from the dedup topic and skipped."},
    {Gauge::kSpoolBytes, "cmr_bridge_spool_bytes", "Unforwarded bytes in the local spool."},
    {Gauge::kSpoolRecords, "cmr_bridge_spool_records", "Unforwarded requests in the local spool."},
    {Gauge::kSpoolOldestAgeSeconds, "cmr_bridge_spool_oldest_record_age_seconds",
     "Age of the oldest unforwarded spooled request."},
    {Gauge::kSpoolForwarderErrors, "cmr_bridge_spool_forwarder_errors",
     "Forwarding attempts Kafka did not acknowledge."},
    {Gauge::kSpoolAppendFailures, "cmr_bridge_spool_append_failures",
     "Spool writes or fsyncs that failed."},
    {Gauge::kQuarantineRecords, "cmr_bridge_quarantine_records",
     "Requests in the quarantine directory: Kafka refused their record and dead letter for good."},
    {Gauge::kQuarantineBytes, "cmr_bridge_quarantine_bytes",
     "Bytes of the quarantine directory's entry files."},
    {Gauge::kHttpInFlight, "cmr_bridge_http_in_flight_requests",
     "Webhook requests being handled right now."},
};
static_assert(std::size(kGaugeDeclarations) == kGaugeCount, "every Gauge is declared once");

std::array<prometheus::Gauge*, kGaugeCount> register_gauges(prometheus::Registry& registry) {
  std::array<prometheus::Gauge*, kGaugeCount> gauges{};
  for (const auto& declaration : kGaugeDeclarations) {
    gauges[static_cast<std::size_t>(declaration.gauge)] = &prometheus::BuildGauge()
                                                               .Name(declaration.name)
                                                               .Help(declaration.help)
                                                               .Register(registry)
                                                               .Add({});
  }
  return gauges;
}

using LabelValues = std::initializer_list<std::pair<const char*, std::string_view>>;

// Family::Add builds a label map, hashes it and takes the family's mutex on every call. The
// request path instead finds the metric by its label values under a shared lock; Family::Add
// runs once per label set. Metrics are never removed, so the pointers stay valid. Any thread.
template <typename Metric>
class MetricCache {
 public:
  explicit MetricCache(prometheus::Family<Metric>& family) : family_(family) {}

  template <typename... CreateArgs>
  Metric& get(LabelValues labels, const CreateArgs&... create_args) {
    thread_local std::string key;  // reused: no allocation per lookup once it has grown
    key.clear();
    for (const auto& label : labels) {
      key.append(label.second);
      key.push_back('\x1f');
    }
    {
      std::shared_lock lock(mutex_);
      if (const auto it = by_values_.find(key); it != by_values_.end())
        return *it->second;
    }
    std::map<std::string, std::string> map;
    for (const auto& label : labels)
      map.emplace(label.first, std::string(label.second));
    Metric& metric = family_.Add(map, create_args...);
    std::unique_lock lock(mutex_);
    by_values_.emplace(key, &metric);
    return metric;
  }

 private:
  prometheus::Family<Metric>& family_;
  std::shared_mutex mutex_;
  std::unordered_map<std::string, Metric*> by_values_;
};
}  // namespace

struct PrometheusObserver::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& http_requests =
      prometheus::BuildCounter()
          .Name("cmr_bridge_http_requests_total")
          .Help("Webhook listener responses by route and HTTP status.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& connections_cut =
      prometheus::BuildCounter()
          .Name("cmr_bridge_http_connections_cut_total")
          .Help("Webhook connections cut short by the listener's bounds, by reason.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& outcomes =
      prometheus::BuildCounter()
          .Name("cmr_bridge_webhook_outcomes_total")
          .Help("Webhook outcomes by kind, reason code and source.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& request_latency =
      prometheus::BuildHistogram()
          .Name("cmr_bridge_webhook_duration_seconds")
          .Help("Time from request received to response decided, by outcome and source.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& deliveries =
      prometheus::BuildCounter()
          .Name("cmr_bridge_kafka_deliveries_total")
          .Help("Kafka delivery reports by topic and result.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& delivery_latency =
      prometheus::BuildHistogram()
          .Name("cmr_bridge_kafka_delivery_duration_seconds")
          .Help("Time from produce to delivery report (or deadline), by topic.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& schemes =
      prometheus::BuildCounter()
          .Name("cmr_bridge_signature_matches_total")
          .Help(
              "Verified requests by the signature scheme (or source profile) that matched, and "
              "source.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& dedup_results =
      prometheus::BuildCounter()
          .Name("cmr_bridge_dedup_results_total")
          .Help(
              "Idempotency checks by result (claimed, duplicate, conflict, in_flight) and source.")
          .Register(*registry);
  std::array<prometheus::Gauge*, kGaugeCount> gauges = register_gauges(*registry);
  prometheus::Family<prometheus::Gauge>& topic_max_message_bytes_too_small =
      prometheus::BuildGauge()
          .Name("cmr_bridge_topic_max_message_bytes_too_small")
          .Help(
              "1 when the topic's max.message.bytes (read at start) is below the largest record "
              "(CMR_BRIDGE_MAX_BODY_BYTES + 16 KiB); a record that does not fit is "
              "dead-lettered or quarantined.")
          .Register(*registry);

  // Guards `sources` and the gauge values between a scrape's reports and its Collect().
  mutable std::mutex sources_mutex;
  std::vector<const GaugeSource*> sources;

  prometheus::Gauge& max_in_flight =
      gauge("cmr_bridge_http_max_in_flight_requests",
            "CMR_BRIDGE_MAX_IN_FLIGHT: webhook requests handled at once; more answer 429.");
  prometheus::Gauge& spool_max_bytes = gauge(
      "cmr_bridge_spool_max_bytes",
      "CMR_BRIDGE_SPOOL_MAX_BYTES: spool size beyond which requests answer 503 (0: no spool).");
  prometheus::Gauge& dedup_capacity =
      gauge("cmr_bridge_dedup_capacity",
            "CMR_BRIDGE_DEDUP_CAPACITY: eventIds the dedup cache holds (0: dedup off).");

  MetricCache<prometheus::Counter> http_requests_by{http_requests};
  MetricCache<prometheus::Counter> outcomes_by{outcomes};
  MetricCache<prometheus::Counter> connections_cut_by{connections_cut};
  MetricCache<prometheus::Histogram> request_latency_by{request_latency};
  MetricCache<prometheus::Counter> deliveries_by{deliveries};
  MetricCache<prometheus::Histogram> delivery_latency_by{delivery_latency};
  MetricCache<prometheus::Counter> schemes_by{schemes};
  MetricCache<prometheus::Counter> dedup_results_by{dedup_results};
  MetricCache<prometheus::Gauge> topic_max_message_bytes_too_small_by{
      topic_max_message_bytes_too_small};

  prometheus::Gauge& gauge(const char* name, const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(*registry).Add({});
  }

  Impl() {
    prometheus::BuildGauge()
        .Name("cmr_bridge_build_info")
        .Help("Build information; the value is always 1.")
        .Register(*registry)
        .Add({{"version", CMR_BRIDGE_VERSION}})
        .Set(1);
  }
};

PrometheusObserver::PrometheusObserver() : impl_(std::make_unique<Impl>()) {}
PrometheusObserver::~PrometheusObserver() = default;

void PrometheusObserver::on_signature_verified(std::string_view scheme, std::string_view source) {
  impl_->schemes_by.get({{"scheme", scheme}, {"source", source}}).Increment();
}

void PrometheusObserver::on_outcome(const Outcome& outcome, std::chrono::nanoseconds latency) {
  const std::string_view kind = to_string(outcome.kind);
  impl_->outcomes_by
      .get({{"outcome", kind},
            {"reason", outcome.code == OutcomeCode::kNone ? "none" : to_string(outcome.code)},
            {"source", outcome.source}})
      .Increment();
  impl_->request_latency_by.get({{"outcome", kind}, {"source", outcome.source}}, kLatencyBuckets)
      .Observe(seconds(latency));
}

void PrometheusObserver::on_delivery(const std::string& topic, bool delivered,
                                     std::chrono::nanoseconds latency) {
  impl_->deliveries_by.get({{"topic", topic}, {"result", delivered ? "delivered" : "failed"}})
      .Increment();
  impl_->delivery_latency_by.get({{"topic", topic}}, kLatencyBuckets).Observe(seconds(latency));
}

void PrometheusObserver::on_dedup(DedupResult result, std::string_view source) {
  impl_->dedup_results_by.get({{"result", to_string(result)}, {"source", source}}).Increment();
}

void PrometheusObserver::set_limits(std::size_t max_in_flight, std::size_t spool_max_bytes,
                                    std::size_t dedup_capacity) {
  impl_->max_in_flight.Set(static_cast<double>(max_in_flight));
  impl_->spool_max_bytes.Set(static_cast<double>(spool_max_bytes));
  impl_->dedup_capacity.Set(static_cast<double>(dedup_capacity));
}

void PrometheusObserver::on_http_response(std::string_view route, int status) {
  char status_text[12];
  const int length = std::snprintf(status_text, sizeof status_text, "%d", status);
  impl_->http_requests_by
      .get({{"route", route},
            {"status", std::string_view(status_text, static_cast<std::size_t>(length))}})
      .Increment();
}

void PrometheusObserver::on_connection_cut(std::string_view reason) {
  impl_->connections_cut_by.get({{"reason", reason}}).Increment();
}

PrometheusObserver::GaugeRegistration PrometheusObserver::add_gauge_source(
    const GaugeSource& source) {
  std::lock_guard lock(impl_->sources_mutex);
  impl_->sources.push_back(&source);
  return GaugeRegistration(this, &source);
}

void PrometheusObserver::remove_gauge_source(const GaugeSource* source) {
  std::lock_guard lock(impl_->sources_mutex);
  std::erase(impl_->sources, source);
}

PrometheusObserver::GaugeRegistration::GaugeRegistration(GaugeRegistration&& other) noexcept
    : observer_(std::exchange(other.observer_, nullptr)), source_(other.source_) {}

PrometheusObserver::GaugeRegistration::~GaugeRegistration() {
  if (observer_ != nullptr)
    observer_->remove_gauge_source(source_);
}

std::string PrometheusObserver::scrape() const {
  struct Sink final : GaugeSink {
    Impl& impl;
    explicit Sink(Impl& i) : impl(i) {}
    void set(Gauge gauge, double value) override {
      impl.gauges[static_cast<std::size_t>(gauge)]->Set(value);
    }
    void set_for_topic(TopicGauge gauge, const std::string& topic, double value) override {
      switch (gauge) {
        case TopicGauge::kMaxMessageBytesTooSmall:
          impl.topic_max_message_bytes_too_small_by.get({{"topic", topic}}).Set(value);
          return;
        case TopicGauge::kCount:
          return;
      }
    }
  } sink(*impl_);
  std::lock_guard lock(impl_->sources_mutex);
  for (const GaugeSource* source : impl_->sources)
    source->report_gauges(sink);
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace cmr_bridge
