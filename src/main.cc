// cmr-bridge: the composition root. The only place that picks concrete types and wires them.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "app/startup.h"
#include "cli/commands.h"
#include "config/env_config.h"
#include "config/file_loaders.h"
#include "config/settings_doc.h"
#include "core/json_writer.h"
#include "core/pipeline.h"
#include "core/routing.h"
#include "core/signature.h"
#include "core/timestamp.h"
#include "http/admin_server.h"
#include "http/webhook_server.h"
#include "kafka/dedup_topic.h"
#include "kafka/kafka_publisher.h"
#include "kafka/topic_provisioner.h"
#include "kafka/topic_scan.h"
#include "log/logger.h"
#include "metrics/prometheus_observer.h"
#include "spool/file_spool.h"
#include "spool/spool_forwarder.h"

namespace {

using namespace cmr_bridge;

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

void print_help() {
  std::cout
      << "cmr-bridge " CMR_BRIDGE_VERSION
         " - verifies signed Cold Mail Reseller webhooks and publishes them to Kafka\n\n"
         "usage:\n"
         "  cmr-bridge [serve]          run the service (configured by environment)\n"
         "  cmr-bridge sign [--key K] [--timestamp T] [--scheme S] FILE|-\n"
         "                              print the cmr-x-timestamp/cmr-x-signature headers\n"
         "  cmr-bridge send URL [--key K] [--timestamp T] [--scheme S] FILE|-\n"
         "                              sign FILE and POST it to URL, print the response\n"
         "  cmr-bridge check-config     validate the configuration (environment, routes file,\n"
         "                              schemas) without serving; exit 0 or 2\n"
         "  cmr-bridge redrive [--since T] [--until T] [--from-offset N] [--reason R]...\n"
         "                  [--dry-run]  republish dead letters that now pass the schemas and\n"
         "                              routes; one JSON line per record, then a summary\n"
         "  cmr-bridge decrypt [--event-id ID] [FILE|-]\n"
         "                              print a record with its encrypted credentials decrypted\n"
         "  cmr-bridge --version | --help\n\n"
         "environment:\n"
      << settings_help();
  std::cout << "\nexit codes: 0 clean shutdown, 1 runtime failure (e.g. port in use), "
               "2 invalid configuration or usage\n";
}

std::vector<TopicSpec> topics_to_provision(const Config& config, const RouteTable& routes) {
  std::vector<std::string> names = {config.topics.order, config.topics.subscription,
                                    config.topics.prewarmup, config.topics.deadletter};
  for (const auto& route : routes.routes()) {
    if (std::find(names.begin(), names.end(), route.topic) == names.end()) {
      names.push_back(route.topic);
    }
  }
  std::vector<TopicSpec> specs;
  for (const auto& name : names) {
    specs.push_back({name, config.kafka.topic_partitions, config.kafka.topic_replication_factor,
                     config.kafka.topic_configs});
  }
  if (config.dedup.enabled) {
    const auto retention_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(config.dedup.ttl).count();
    specs.push_back(
        {config.dedup.topic,
         config.dedup.topic_partitions,
         config.kafka.topic_replication_factor,
         {{"cleanup.policy", "compact,delete"}, {"retention.ms", std::to_string(retention_ms)}}});
  }
  return specs;
}

int check_config(const std::string& executable) {
  const StartupState state = load_startup_state(executable);
  for (const auto& error : state.errors)
    std::cerr << "config error: " << error << "\n";
  if (!state.errors.empty())
    return kExitConfig;
  if (const auto verifier =
          SignatureVerifier::create(state.config.signing_keys, state.config.signature_scheme);
      !verifier) {
    std::cerr << "config error: CMR_BRIDGE_SIGNING_KEYS: " << verifier.error().message() << "\n";
    return kExitConfig;
  }
  for (const auto& warning : state.warnings)
    std::cerr << "config warning: " << warning << "\n";
  for (const auto& [name, value] : describe_config(state.config))
    std::cout << name << " = " << value << "\n";
  std::cout << "configuration is valid: " << state.routes->routes().size() << " routes, "
            << state.schemas->names().size() << " schemas from " << state.config.schema_dir << "\n";
  return kExitOk;
}

// `cmr-bridge redrive`: runs dead-lettered requests through the current schemas and routes
// and publishes what now passes (idempotency applies). Exit 0 when every record was handled,
// 1 when Kafka failed for some, 2 on usage or configuration errors.
int redrive(const std::string& executable, const std::vector<std::string>& args) {
  ScanRange range;
  std::vector<std::string> reasons;
  bool dry_run = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    const std::string& arg = args[i];
    if (arg == "--dry-run") {
      dry_run = true;
    } else if (arg == "--reason" && has_value) {
      reasons.push_back(args[++i]);
    } else if (arg == "--from-offset" && has_value) {
      range.from_offset = std::atoll(args[++i].c_str());
    } else if ((arg == "--since" || arg == "--until") && has_value) {
      const auto time = parse_rfc3339(args[++i]);
      if (!time) {
        std::cerr << arg << " takes an RFC 3339 UTC time like 2026-11-27T10:00:00Z\n";
        return kExitConfig;
      }
      (arg == "--since" ? range.since : range.until) = *time;
    } else {
      std::cerr << "usage: cmr-bridge redrive [--since T] [--until T] [--from-offset N] "
                   "[--reason R]... [--dry-run]\n";
      return kExitConfig;
    }
  }
  const StartupState state = load_startup_state(executable);
  for (const auto& error : state.errors)
    std::cerr << "config error: " << error << "\n";
  if (!state.errors.empty())
    return kExitConfig;
  const Config& config = state.config;
  set_log_level(LogLevel::kWarn);

  ProducerSettings producer_settings;
  producer_settings.kafka = config.kafka;
  producer_settings.message_timeout = config.delivery_timeout;
  auto created_publisher = KafkaPublisher::create(producer_settings);
  const auto verifier = SignatureVerifier::create(config.signing_keys, config.signature_scheme);
  if (!created_publisher || !verifier) {
    std::cerr << "config error: "
              << (created_publisher ? "CMR_BRIDGE_SIGNING_KEYS: " + verifier.error().message()
                                    : created_publisher.error().message())
              << "\n";
    return kExitConfig;
  }
  const auto publisher = std::move(created_publisher).value();
  SystemClock clock;
  NullObserver observer;
  std::unique_ptr<DedupCache> dedup;
  std::unique_ptr<DedupTopicReader> reader;
  std::unique_ptr<DedupMarkerWriter> writer;
  if (config.dedup.enabled) {
    dedup =
        std::make_unique<DedupCache>(DedupSettings{config.dedup.capacity, config.dedup.ttl}, clock);
    const std::string writer_id = new_dedup_writer_id();
    auto created_reader =
        DedupTopicReader::create(config.kafka, config.dedup.topic, writer_id, *dedup);
    if (!created_reader) {
      std::cerr << "config error: " << created_reader.error().message() << "\n";
      return kExitConfig;
    }
    reader = std::move(created_reader).value();
    for (int i = 0; i < 600 && !reader->warmed(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!reader->warmed()) {
      std::cerr << "the dedup topic " << config.dedup.topic << " could not be read within 60 s\n";
      return kExitRuntime;
    }
    writer = std::make_unique<DedupMarkerWriter>(*publisher, config.dedup.topic, writer_id);
  }
  const PipelineSettings settings = pipeline_settings_for(state);
  const IngestPipeline pipeline(settings, {.verifier = *verifier.value(),
                                           .routes = *state.routes,
                                           .schemas = state.schemas.get(),
                                           .publisher = *publisher,
                                           .clock = clock,
                                           .observer = observer,
                                           .dedup = dedup.get(),
                                           .markers = writer.get()});

  std::map<std::string, std::size_t> totals;
  std::map<std::string, std::size_t> still_failing;
  const auto header = [](const ScannedRecord& r, const char* name) {
    const auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
  };
  const Status scanned =
      scan_topic(config.kafka, config.topics.deadletter, range, [&](const ScannedRecord& record) {
        ++totals["read"];
        const std::string old_reason = header(record, "cmr-dlq-reason");
        std::string result;
        std::string detail;
        if (!reasons.empty() &&
            std::find(reasons.begin(), reasons.end(), old_reason) == reasons.end()) {
          result = "skipped";
        } else {
          const std::string timestamp = header(record, "cmr-x-timestamp");
          const std::string scheme = header(record, "cmr-signature-scheme");
          const auto received = parse_rfc3339(header(record, "cmr-received-time"))
                                    .value_or(std::chrono::system_clock::now());
          const SpooledRequest request{record.value, timestamp, scheme, received};
          const VerifiedRequest verified = reverified(request);
          const Decision decision = pipeline.decide(verified);
          if (const auto* dead = std::get_if<DeadLetterDecision>(&decision)) {
            const std::string reason(to_string(dead->reason));
            result = "still_failing";
            detail = reason + ": " + dead->detail;
            ++still_failing[reason];
          } else if (dry_run) {
            result = "would_publish";
          } else {
            const Outcome outcome = pipeline.publish_once(decision, verified, false);
            result = outcome.kind == OutcomeKind::kAccepted       ? "republished"
                     : outcome.kind == OutcomeKind::kDuplicate    ? "duplicate"
                     : outcome.kind == OutcomeKind::kDeadLettered ? "conflict"
                                                                  : "unavailable";
            detail = to_string(outcome.code);
          }
        }
        ++totals[result];
        std::cout << JsonObjectWriter()
                         .field("partition", static_cast<int64_t>(record.partition))
                         .field("offset", record.offset)
                         .field("eventId", header(record, "cmr-event-id"))
                         .field("was", old_reason)
                         .field("result", result)
                         .field("detail", detail)
                         .finish()
                  << "\n";
      });
  publisher->flush(config.delivery_timeout);
  std::cout << "redrive summary:";
  for (const auto& [name, count] : totals)
    std::cout << " " << name << "=" << count;
  std::cout << "\n";
  for (const auto& [reason, count] : still_failing) {
    std::cout << "  still failing: " << reason << " x" << count << "\n";
  }
  if (!scanned) {
    std::cerr << "reading " << config.topics.deadletter << " failed: " << scanned.error().message()
              << "\n";
    return kExitRuntime;
  }
  return totals["unavailable"] > 0 ? kExitRuntime : kExitOk;
}

int serve(const std::string& executable) {
  const StartupState state = load_startup_state(executable);
  if (!state.errors.empty()) {
    for (const auto& error : state.errors)
      std::cerr << "config error: " << error << "\n";
    return kExitConfig;
  }
  const Config& config = state.config;
  set_log_level(config.log_level);

  // Signals are taken by sigwait() on this thread only; blocked before any thread starts.
  const sigset_t signals = block_stop_signals();

  for (const auto& [name, value] : describe_config(config)) {
    log_info("config", {{"setting", name}, {"value", value}});
  }
  for (const auto& warning : state.warnings)
    log_warn("config warning", {{"detail", warning}});

  const auto verifier = SignatureVerifier::create(config.signing_keys, config.signature_scheme);
  if (!verifier) {
    std::cerr << "config error: CMR_BRIDGE_SIGNING_KEYS: " << verifier.error().message() << "\n";
    return kExitConfig;
  }

  ProducerSettings producer_settings;
  producer_settings.kafka = config.kafka;
  producer_settings.message_timeout = config.delivery_timeout;
  auto created_publisher = KafkaPublisher::create(producer_settings);
  if (!created_publisher) {
    std::cerr << "config error: " << created_publisher.error().message() << "\n";
    return kExitConfig;
  }
  const auto publisher = std::move(created_publisher).value();
  // A background failure that must stop the process (e.g. the dedup topic is not compacted):
  // recorded, then SIGTERM to ourselves so the one shutdown path below runs.
  std::atomic<bool> fatal{false};
  const auto on_fatal = [&fatal](const std::string& reason) {
    log_error("fatal", {{"detail", reason}});
    fatal.store(true);
    kill(getpid(), SIGTERM);
  };
  std::vector<std::string> must_be_compacted;
  if (config.dedup.enabled)
    must_be_compacted.push_back(config.dedup.topic);
  auto created_provisioner =
      TopicProvisioner::create(config.kafka, *publisher, topics_to_provision(config, *state.routes),
                               config.kafka.create_topics, must_be_compacted, on_fatal);
  if (!created_provisioner) {
    std::cerr << "config error: " << created_provisioner.error().message() << "\n";
    return kExitConfig;
  }
  const auto provisioner = std::move(created_provisioner).value();

  std::unique_ptr<DedupCache> dedup;
  std::unique_ptr<DedupTopicReader> dedup_reader;
  std::unique_ptr<DedupMarkerWriter> dedup_writer;
  SystemClock clock;
  if (config.dedup.enabled) {
    dedup =
        std::make_unique<DedupCache>(DedupSettings{config.dedup.capacity, config.dedup.ttl}, clock);
    const std::string writer_id = new_dedup_writer_id();
    auto created_reader =
        DedupTopicReader::create(config.kafka, config.dedup.topic, writer_id, *dedup);
    if (!created_reader) {
      std::cerr << "config error: " << created_reader.error().message() << "\n";
      return kExitConfig;
    }
    dedup_reader = std::move(created_reader).value();
    dedup_writer = std::make_unique<DedupMarkerWriter>(*publisher, config.dedup.topic, writer_id);
  }

  std::unique_ptr<FileSpool> spool;
  if (!config.spool_dir.empty()) {
    std::string spool_error;
    spool = FileSpool::open({config.spool_dir, config.spool_max_bytes}, &spool_error);
    if (!spool) {
      std::cerr << "config error: " << spool_error << "\n";
      return kExitConfig;
    }
    log_info("spool opened", {{"dir", config.spool_dir},
                              {"records", static_cast<int64_t>(spool->recovery().records)},
                              {"torn_bytes", static_cast<int64_t>(spool->recovery().torn_bytes)}});
  }

  PrometheusObserver metrics;
  metrics.set_limits(config.max_in_flight, spool ? config.spool_max_bytes : 0,
                     dedup ? config.dedup.capacity : 0);
  const PipelineSettings pipeline_settings = pipeline_settings_for(state);
  const IngestPipeline pipeline(pipeline_settings, {.verifier = *verifier.value(),
                                                    .routes = *state.routes,
                                                    .schemas = state.schemas.get(),
                                                    .publisher = *publisher,
                                                    .clock = clock,
                                                    .observer = metrics,
                                                    .dedup = dedup.get(),
                                                    .markers = dedup_writer.get(),
                                                    .spool = spool.get()});
  std::unique_ptr<SpoolForwarder> forwarder;
  if (spool)
    forwarder = std::make_unique<SpoolForwarder>(*spool, pipeline, config.spool_retry);

  const WebhookServerSettings http_settings = webhook_settings_for(config);
  WebhookServer webhook_server(pipeline, metrics, http_settings);

  std::atomic<bool> draining{false};
  // With the spool on, Kafka being away is what the spool is for: the pod stays in service
  // (requests are spooled) and the Kafka checks are reported but do not fail /readyz.
  const bool kafka_required = spool == nullptr;
  std::vector<ReadinessCheck> checks = {
      {"kafka", [&] { return publisher->reachable(); }, kafka_required},
      {"topics", [&] { return provisioner->done(); }, kafka_required},
      {"dedup", [&] { return !dedup_reader || dedup_reader->warmed(); }, kafka_required},
      {"not_draining", [&] { return !draining.load(); }, true},
  };
  AdminServer admin_server(std::move(checks), [&] {
    metrics.set_kafka_reachable(publisher->reachable());
    metrics.set_producer_queue_depth(publisher->queue_depth());
    metrics.set_in_flight(webhook_server.in_flight());
    if (spool) {
      const SpoolStats stats = spool->stats();
      const double age =
          stats.oldest
              ? std::chrono::duration<double>(std::chrono::system_clock::now() - *stats.oldest)
                    .count()
              : 0.0;
      metrics.set_spool_state(stats.bytes, stats.records, age, forwarder ? forwarder->errors() : 0,
                              stats.append_failures);
    }
    if (dedup) {
      metrics.set_dedup_state(dedup->size(), dedup->in_flight(), dedup_reader->warmed(),
                              dedup_reader->warmup_seconds(), dedup_reader->markers_loaded(),
                              dedup_reader->markers_skipped());
    }
    return metrics.scrape();
  });

  if (!webhook_server.valid()) {
    std::cerr << "config error: CMR_BRIDGE_TLS_CERT_FILE / CMR_BRIDGE_TLS_KEY_FILE: cannot load "
              << config.tls_cert_file << " and " << config.tls_key_file << "\n";
    return kExitConfig;
  }
  const int webhook_port = webhook_server.bind(config.listen);
  if (webhook_port < 0) {
    log_error("cannot listen", {{"variable", "CMR_BRIDGE_LISTEN"},
                                {"host", config.listen.host},
                                {"port", static_cast<int64_t>(config.listen.port)}});
    return kExitRuntime;
  }
  const int admin_port = admin_server.bind(config.admin_listen);
  if (admin_port < 0) {
    log_error("cannot listen", {{"variable", "CMR_BRIDGE_ADMIN_LISTEN"},
                                {"host", config.admin_listen.host},
                                {"port", static_cast<int64_t>(config.admin_listen.port)}});
    return kExitRuntime;
  }
  std::thread webhook_thread([&] { webhook_server.serve(); });
  std::thread admin_thread([&] { admin_server.serve(); });
  log_info("listening", {{"webhook_port", webhook_port},
                         {"admin_port", admin_port},
                         {"version", CMR_BRIDGE_VERSION}});

  int received = 0;
  sigwait(&signals, &received);
  log_info("shutting down",
           {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}, {"fatal", fatal.load()}});
  draining.store(true);
  // Load balancers see /readyz fail and stop sending; until then new requests are served.
  if (!fatal.load() && config.drain_delay.count() > 0) {
    log_info("draining", {{"delay_s", static_cast<int64_t>(config.drain_delay.count())}});
    struct timespec delay {
      static_cast<time_t>(config.drain_delay.count()), 0
    };
    siginfo_t info;
    sigtimedwait(&signals, &info, &delay);  // a second signal ends the wait early
  }
  // stop() closes the listening socket; serve() returns once in-flight requests are answered.
  webhook_server.stop();
  webhook_thread.join();
  // Nothing is appended any more: forward what the spool holds while Kafka answers, for up to
  // CMR_BRIDGE_SPOOL_DRAIN_S (the chart's grace period counts it), and log what stays on disk.
  if (forwarder && !fatal.load())
    forwarder->drain_and_stop(config.spool_drain);
  forwarder.reset();
  const bool flushed = publisher->flush(config.delivery_timeout);
  admin_server.stop();
  admin_thread.join();
  log_info("stopped", {{"producer_flushed", flushed}});
  return fatal.load() ? kExitRuntime : kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::string command = args.empty() ? "serve" : args[0];
  const std::vector<std::string> rest(args.empty() ? args.begin() : args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    print_help();
    return kExitOk;
  }
  if (command == "--version" || command == "version") {
    std::cout << "cmr-bridge " CMR_BRIDGE_VERSION "\n";
    return kExitOk;
  }
  if (command == "serve") {
    if (!rest.empty()) {
      std::cerr << "serve takes no arguments; configure with environment variables (--help)\n";
      return kExitConfig;
    }
    return serve(argv[0]);
  }
  if (command == "check-config")
    return check_config(argv[0]);
  if (command == "config-doc") {  // hidden: regenerates docs/configuration.md
    std::cout << configuration_markdown();
    return kExitOk;
  }
  if (command == "decrypt")
    return run_decrypt_command(rest);
  if (command == "redrive")
    return redrive(argv[0], rest);
  if (command == "sign")
    return run_sign_command(rest);
  if (command == "send")
    return run_send_command(rest);
  std::cerr << "unknown command \"" << command << "\"; see cmr-bridge --help\n";
  return kExitConfig;
}
