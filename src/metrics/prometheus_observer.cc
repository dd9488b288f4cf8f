#include "metrics/prometheus_observer.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace cmr_bridge {
namespace {
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}
}  // namespace

struct PrometheusObserver::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& http_requests =
      prometheus::BuildCounter()
          .Name("cmr_bridge_http_requests_total")
          .Help("Webhook listener responses by route and HTTP status.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& outcomes =
      prometheus::BuildCounter()
          .Name("cmr_bridge_webhook_outcomes_total")
          .Help("Webhook outcomes by kind and reason code.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& request_latency =
      prometheus::BuildHistogram()
          .Name("cmr_bridge_webhook_duration_seconds")
          .Help("Time from request received to response decided, by outcome.")
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
          .Help("Verified requests by the signature scheme that matched.")
          .Register(*registry);
  prometheus::Gauge& kafka_reachable = prometheus::BuildGauge()
                                           .Name("cmr_bridge_kafka_reachable")
                                           .Help("1 when the last Kafka metadata probe succeeded.")
                                           .Register(*registry)
                                           .Add({});
  prometheus::Gauge& queue_depth = prometheus::BuildGauge()
                                       .Name("cmr_bridge_kafka_producer_queue_depth")
                                       .Help("Records queued or in flight in the producer.")
                                       .Register(*registry)
                                       .Add({});
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

void PrometheusObserver::on_signature_verified(SignatureScheme scheme) {
  impl_->schemes.Add({{"scheme", std::string(to_string(scheme))}}).Increment();
}

void PrometheusObserver::on_outcome(const Outcome& outcome, std::chrono::nanoseconds latency) {
  const std::string kind(to_string(outcome.kind));
  impl_->outcomes.Add({{"outcome", kind}, {"reason", outcome.code.empty() ? "none" : outcome.code}})
      .Increment();
  impl_->request_latency.Add({{"outcome", kind}}, kLatencyBuckets).Observe(seconds(latency));
}

void PrometheusObserver::on_delivery(const std::string& topic, bool delivered,
                                     std::chrono::nanoseconds latency) {
  impl_->deliveries.Add({{"topic", topic}, {"result", delivered ? "delivered" : "failed"}})
      .Increment();
  impl_->delivery_latency.Add({{"topic", topic}}, kLatencyBuckets).Observe(seconds(latency));
}

void PrometheusObserver::on_http_response(std::string_view route, int status) {
  impl_->http_requests.Add({{"route", std::string(route)}, {"status", std::to_string(status)}})
      .Increment();
}

void PrometheusObserver::set_kafka_reachable(bool reachable) {
  impl_->kafka_reachable.Set(reachable ? 1 : 0);
}

void PrometheusObserver::set_producer_queue_depth(int depth) {
  impl_->queue_depth.Set(depth);
}

std::string PrometheusObserver::scrape() const {
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace cmr_bridge
