// cmr_bridge_bench_ceiling: benchmark ceiling (a) of issue 8. The same HTTP stack and pipeline
// as cmr-bridge: WebhookServer → IngestPipeline (admission, timestamp window, HMAC, envelope
// parse, routing, schema validation, CloudEvents normalization, the in-memory dedup cache, the
// in-flight cap, the per-request log line, Prometheus metrics), loaded and configured by the
// same code as serve() in src/main.cc (src/app/startup.h: environment, config file, routes,
// schemas, credentials, pipeline and listener settings), but with a Publisher that
// acknowledges at once, no dedup marker topic and no spool (it only matters when Kafka fails):
// no Kafka at all. What is still wired here by hand: the object graph below (compose()).
//
// Configured by the same environment variables as cmr-bridge (Kafka ones are ignored); prints
// the same "listening" log line (webhook_port, admin_port -1). SIGTERM/SIGINT stop it.
#include <signal.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "app/startup.h"
#include "config/env_config.h"
#include "core/dedup_cache.h"
#include "core/pipeline.h"
#include "core/routing.h"
#include "core/signature.h"
#include "http/webhook_server.h"
#include "log/logger.h"
#include "metrics/prometheus_observer.h"

namespace {

using namespace cmr_bridge;

// Acknowledges every record immediately, as if Kafka answered in zero time.
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

int fail(const std::string& message) {
  std::cerr << "config error: " << message << "\n";
  return 2;
}

}  // namespace

int main(int, char** argv) {
  const StartupState state = load_startup_state(argv[0]);
  for (const auto& error : state.errors)
    std::cerr << "config error: " << error << "\n";
  if (!state.errors.empty())
    return 2;
  const Config& config = state.config;
  set_log_level(config.log_level);

  const sigset_t signals = block_stop_signals();

  const auto verifier = SignatureVerifier::create(config.signing_keys, config.signature_scheme);
  if (!verifier)
    return fail("CMR_BRIDGE_SIGNING_KEYS: " + verifier.error().message());

  // compose(): the part that mirrors serve().
  ImmediatePublisher publisher;
  SystemClock clock;
  std::unique_ptr<DedupCache> dedup;
  if (config.dedup.enabled) {
    dedup =
        std::make_unique<DedupCache>(DedupSettings{config.dedup.capacity, config.dedup.ttl}, clock);
  }
  PrometheusObserver metrics;
  const PipelineSettings pipeline_settings = pipeline_settings_for(state);
  const IngestPipeline pipeline(pipeline_settings, {.verifier = *verifier.value(),
                                                    .routes = *state.routes,
                                                    .schemas = state.schemas.get(),
                                                    .publisher = publisher,
                                                    .clock = clock,
                                                    .observer = metrics,
                                                    .dedup = dedup.get(),
                                                    .markers = nullptr});

  const WebhookServerSettings http_settings = webhook_settings_for(config);
  WebhookServer webhook_server(pipeline, metrics, http_settings);
  const int port = webhook_server.bind(config.listen);
  if (port < 0) {
    log_error("cannot listen", {{"variable", "CMR_BRIDGE_LISTEN"}});
    return 1;
  }
  std::thread webhook_thread([&] { webhook_server.serve(); });
  log_info("config", {{"setting", "http_threads"}, {"value", std::to_string(config.http_threads)}});
  log_info("listening", {{"webhook_port", port}, {"admin_port", -1}, {"mode", "bench-ceiling"}});

  int received = 0;
  sigwait(&signals, &received);
  webhook_server.stop();
  webhook_thread.join();
  log_info("stopped", {});
  return 0;
}
