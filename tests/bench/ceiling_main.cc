// cmr_bridge_bench_ceiling: benchmark ceiling (a) of issue 8. The same HTTP stack and pipeline
// as cmr-bridge: WebhookServer → IngestPipeline (admission, timestamp window, HMAC, envelope
// parse, routing, schema validation, CloudEvents normalization, the in-memory dedup cache, the
// in-flight cap, the per-request log line, Prometheus metrics), wired as serve() in
// src/main.cc does, but with a Publisher that acknowledges at once, no dedup marker topic and
// no spool (it only matters when Kafka fails): no Kafka at all.
// KEEP IN SYNC with serve() in src/main.cc when the composition changes (see compose() below);
// settings that do not change the measured path (timeouts, drain delay, admin listener) are
// left out on purpose.
//
// Configured by the same environment variables as cmr-bridge (Kafka ones are ignored); prints
// the same "listening" log line (webhook_port, admin_port -1). SIGTERM/SIGINT stop it.
#include <signal.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "config/env_config.h"
#include "config/file_loaders.h"
#include "core/dedup_cache.h"
#include "core/pipeline.h"
#include "core/routing.h"
#include "core/signature.h"
#include "http/webhook_server.h"
#include "log/logger.h"
#include "metrics/prometheus_observer.h"

extern char** environ;

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

std::map<std::string, std::string> read_environment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const auto eq = text.find('=');
    if (eq != std::string::npos)
      env.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return env;
}

int fail(const std::string& message) {
  std::cerr << "config error: " << message << "\n";
  return 2;
}

}  // namespace

int main(int, char** argv) {
  // Start-up state as src/main.cc's load_startup_state(): environment, routes file, schemas.
  ConfigResult loaded = load_config_from_env(read_environment());
  for (const auto& error : loaded.errors)
    std::cerr << "config error: " << error << "\n";
  if (!loaded.ok())
    return 2;
  Config& config = loaded.config;
  config.schema_dir = resolve_schema_dir(config.schema_dir, argv[0]);
  RoutesFileResult loaded_routes = load_routes(config);
  if (!loaded_routes.errors.empty())
    return fail(loaded_routes.errors.front());
  const RouteTable routes =
      RouteTable::with_overrides(std::move(loaded_routes.routes), config.topics);
  std::string schema_error;
  const auto schemas = load_schemas(config.schema_dir, routes, &schema_error);
  if (!schemas)
    return fail(schema_error);
  set_log_level(*parse_log_level(config.log_level));

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const auto verifier = SignatureVerifier::create(config.signing_keys, config.signature_scheme);
  if (!verifier)
    return fail("CMR_BRIDGE_SIGNING_KEYS: no usable HMAC key");

  // compose(): the part that mirrors serve().
  ImmediatePublisher publisher;
  SystemClock clock;
  std::unique_ptr<DedupCache> dedup;
  if (config.dedup.enabled) {
    dedup =
        std::make_unique<DedupCache>(DedupSettings{config.dedup.capacity, config.dedup.ttl}, clock);
  }
  PrometheusObserver metrics;
  PipelineSettings pipeline_settings;
  pipeline_settings.cloudevents.source = config.cloudevents_source;
  pipeline_settings.cloudevents.mode = config.record_format == RecordFormat::kCloudEventsBinary
                                           ? CloudEventsMode::kBinary
                                           : CloudEventsMode::kStructured;
  pipeline_settings.timestamp_tolerance = config.timestamp_tolerance;
  pipeline_settings.delivery_timeout = config.delivery_timeout + std::chrono::milliseconds(250);
  pipeline_settings.deadletter_topic = config.topics.deadletter;
  const IngestPipeline pipeline(pipeline_settings, {.verifier = *verifier,
                                                    .routes = routes,
                                                    .schemas = schemas.get(),
                                                    .publisher = publisher,
                                                    .clock = clock,
                                                    .observer = metrics,
                                                    .dedup = dedup.get(),
                                                    .markers = nullptr});

  WebhookServerSettings http_settings;
  http_settings.max_body_bytes = config.max_body_bytes;
  http_settings.threads = config.http_threads;
  http_settings.max_in_flight = config.max_in_flight;
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
