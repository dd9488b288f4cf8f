// cmr_bridge_bench_ceiling: benchmark ceiling (a) of issue 8. It is `cmr-bridge serve`, built by
// the same composition root (src/app/bridge.h) from the same settings, with one part swapped:
// a Publisher that acknowledges every record at once. So it runs the production wiring by
// construction (WebhookServer → IngestPipeline: admission, timestamp window, HMAC, envelope
// parse, routing, schema validation, CloudEvents normalization, the in-memory dedup cache, the
// in-flight cap, the per-request log line, Prometheus metrics, the admin listener) with no
// Kafka at all: no producer, no topic provisioning, no dedup marker topic, no Kafka checks in
// /readyz.
//
// Configured by the same environment variables as cmr-bridge (Kafka ones are ignored); logs the
// same lines ("listening" with webhook_port and admin_port). SIGTERM/SIGINT stop it.
#include <atomic>
#include <memory>

#include "cli/commands.h"

namespace {

using namespace cmr_bridge;

// Acknowledges every record immediately, as if Kafka answered in zero time. Thread-safe.
class ImmediatePublisher final : public Publisher {
 public:
  DeliveryReport publish(const Record& record, std::chrono::milliseconds) override {
    DeliveryReport report;
    report.status = DeliveryStatus::kDelivered;
    report.topic = record.topic;
    report.partition = 0;
    report.offset = next_offset_.fetch_add(1, std::memory_order_relaxed);
    return report;
  }

 private:
  std::atomic<int64_t> next_offset_{0};
};

}  // namespace

int main(int, char** argv) {
  return serve_with_publisher(argv[0], std::make_unique<ImmediatePublisher>());
}
