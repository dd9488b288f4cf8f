#include "app/bridge.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "core/dedup_cache.h"
#include "core/signature.h"
#include "http/admin_server.h"
#include "http/webhook_server.h"
#include "kafka/dedup_topic.h"
#include "kafka/kafka_publisher.h"
#include "kafka/record_size.h"
#include "kafka/topic_provisioner.h"
#include "log/logger.h"
#include "log/thread_name.h"
#include "metrics/prometheus_observer.h"
#include "spool/file_spool.h"
#include "spool/quarantine.h"
#include "spool/spool_forwarder.h"

namespace cmr_bridge {
namespace {

// Runs server.serve() on a thread of its own; stop() (or destruction) stops the server and
// joins. Waits for serve() to be running before stopping it: httplib ignores a stop() that
// comes before its accept loop started, which would leave serve() blocked forever.
template <typename Server>
class ServingThread {
 public:
  // `name`: the thread's name (log/thread_name.h).
  ServingThread(Server& server, const char* name)
      : server_(server), thread_([this, name] {
          name_this_thread(name);
          server_.serve();
          returned_.store(true);
        }) {}
  ~ServingThread() { stop(); }
  ServingThread(const ServingThread&) = delete;
  ServingThread& operator=(const ServingThread&) = delete;

  void stop() {
    if (!thread_.joinable())
      return;
    while (!server_.is_running() && !returned_.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server_.stop();
    thread_.join();
  }

 private:
  Server& server_;
  std::atomic<bool> returned_{false};
  std::thread thread_;
};

// The event and dead-letter topics: every topic a record of a request body can go to (CMR's
// routes and each source's).
std::vector<std::string> record_topics(const Config& config, const RouteTable& routes,
                                       const SourceTable& sources) {
  std::vector<std::string> names = {config.topics.order, config.topics.subscription,
                                    config.topics.prewarmup, config.topics.deadletter};
  const auto add_topics_of = [&names](const RouteTable& table) {
    for (const auto& route : table.routes()) {
      if (std::find(names.begin(), names.end(), route.topic) == names.end())
        names.push_back(route.topic);
    }
  };
  add_topics_of(routes);
  for (const auto& source : sources.sources())
    add_topics_of(source->routes);
  return names;
}

// record_topics() and the dedup marker topic.
std::vector<TopicSpec> topics_to_provision(const Config& config, const RouteTable& routes,
                                           const SourceTable& sources) {
  // Created topics hold the largest record (kafka/record_size.h) unless the operator chose
  // their max.message.bytes; a topic that does not is warned about at start either way.
  auto configs = config.kafka.topic_configs;
  if (std::none_of(configs.begin(), configs.end(),
                   [](const auto& entry) { return entry.first == "max.message.bytes"; })) {
    configs.emplace_back("max.message.bytes",
                         std::to_string(largest_record_bytes(config.max_body_bytes)));
  }
  std::vector<TopicSpec> specs;
  for (const auto& name : record_topics(config, routes, sources)) {
    specs.push_back(
        {name, config.kafka.topic_partitions, config.kafka.topic_replication_factor, configs});
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

}  // namespace

// Members in construction order: each depends only on those above it, so the implicit
// destruction order (reverse) never destroys a component before one that uses it.
struct Bridge::Parts {
  StartupState state;
  BridgeRole role = BridgeRole::kServe;
  SystemClock clock;
  std::unique_ptr<SignatureVerifier> verifier;
  std::unique_ptr<Publisher> replacement_publisher;  // the ceiling's; else null
  std::unique_ptr<KafkaPublisher> kafka;             // null when replaced
  Publisher* publisher = nullptr;                    // whichever of the two exists
  std::unique_ptr<TopicProvisioner> provisioner;
  std::unique_ptr<DedupCache> dedup;
  std::unique_ptr<DedupTopicReader> dedup_reader;
  std::unique_ptr<DedupMarkerWriter> dedup_writer;
  std::unique_ptr<FileSpool> spool;
  std::unique_ptr<FileQuarantine> quarantine;
  std::unique_ptr<PrometheusObserver> metrics;  // kServe
  NullObserver no_metrics;                      // kRedrive
  std::unique_ptr<IngestPipeline> pipeline;
  std::unique_ptr<SpoolForwarder> forwarder;
  std::unique_ptr<WebhookServer> webhook;
  std::atomic<bool> draining{false};
  std::unique_ptr<AdminServer> admin;
  std::vector<PrometheusObserver::GaugeRegistration> gauge_registrations;
  std::unique_ptr<ServingThread<WebhookServer>> webhook_thread;
  std::unique_ptr<ServingThread<AdminServer>> admin_thread;
  bool shut_down = false;

  // Publishing (live requests with the spool on, and the spool forwarder) waits for this: the
  // dedup marker topic read to its end, and the topics provisioned with their metadata fetched
  // by the producer. Until then a publish could repeat an event that an earlier process
  // published, or time out on the producer's first metadata lookup. Any thread.
  bool ready_to_publish() const {
    return (!dedup_reader || dedup_reader->warmed()) && (!provisioner || provisioner->done());
  }
  Status build_kafka(BridgeOptions& options);
  Status build_dedup();
  Status build_spool();
  Status build_quarantine();
  void build_pipeline();
  Status build_servers();
  void register_gauges();
};

Status Bridge::Parts::build_kafka(BridgeOptions& options) {
  if (options.publisher) {
    replacement_publisher = std::move(options.publisher);
    publisher = replacement_publisher.get();
    return ok_status();
  }
  const Config& config = state.config;
  ProducerSettings producer_settings;
  producer_settings.kafka = config.kafka;
  producer_settings.message_timeout = config.delivery_timeout;
  producer_settings.max_body_bytes = config.max_body_bytes;
  producer_settings.on_fatal = options.on_fatal;
  auto created_publisher = KafkaPublisher::create(producer_settings);
  if (!created_publisher)
    return created_publisher.error();
  kafka = std::move(created_publisher).value();
  publisher = kafka.get();
  if (role == BridgeRole::kServe) {
    TopicChecks checks{.must_be_compacted = {},
                       .must_fit_records = record_topics(config, *state.routes, *state.sources),
                       .max_body_bytes = config.max_body_bytes};
    if (config.dedup.enabled)
      checks.must_be_compacted.push_back(config.dedup.topic);
    auto created_provisioner = TopicProvisioner::create(
        config.kafka, *kafka, topics_to_provision(config, *state.routes, *state.sources),
        config.kafka.create_topics, std::move(checks),
        options.on_fatal ? options.on_fatal : [](const std::string&) {});
    if (!created_provisioner)
      return created_provisioner.error();
    provisioner = std::move(created_provisioner).value();
  }
  return ok_status();
}

Status Bridge::Parts::build_dedup() {
  const Config& config = state.config;
  if (!config.dedup.enabled)
    return ok_status();
  dedup =
      std::make_unique<DedupCache>(DedupSettings{config.dedup.capacity, config.dedup.ttl}, clock);
  if (!kafka)
    return ok_status();
  const std::string writer_id = new_dedup_writer_id();
  auto created_reader =
      DedupTopicReader::create(config.kafka, config.dedup.topic, writer_id, *dedup);
  if (!created_reader)
    return created_reader.error();
  dedup_reader = std::move(created_reader).value();
  dedup_writer = std::make_unique<DedupMarkerWriter>(*kafka, config.dedup.topic, writer_id);
  return ok_status();
}

Status Bridge::Parts::build_spool() {
  const Config& config = state.config;
  if (role != BridgeRole::kServe || config.spool_dir.empty())
    return ok_status();
  auto opened = FileSpool::open({config.spool_dir, config.spool_max_bytes});
  if (!opened)
    return opened.error();
  spool = std::move(opened).value();
  log_info("spool opened", {{"dir", config.spool_dir},
                            {"records", static_cast<int64_t>(spool->recovery().records)},
                            {"torn_bytes", static_cast<int64_t>(spool->recovery().torn_bytes)}});
  return ok_status();
}

Status Bridge::Parts::build_quarantine() {
  const Config& config = state.config;
  if (role != BridgeRole::kServe)
    return ok_status();
  const std::string dir = !config.quarantine_dir.empty() ? config.quarantine_dir
                          : config.spool_dir.empty()     ? std::string()
                                                         : config.spool_dir + "/quarantine";
  if (dir.empty())
    return ok_status();
  auto opened = FileQuarantine::open({dir, config.quarantine_max_bytes});
  if (!opened)
    return opened.error();
  quarantine = std::move(opened).value();
  log_info("quarantine opened", {{"dir", dir},
                                 {"records", static_cast<int64_t>(quarantine->records())},
                                 {"bytes", static_cast<int64_t>(quarantine->bytes())}});
  if (quarantine->records() > 0) {
    log_warn("quarantine holds requests; see docs/runbooks.md (quarantine)",
             {{"dir", dir}, {"records", static_cast<int64_t>(quarantine->records())}});
  }
  return ok_status();
}

void Bridge::Parts::build_pipeline() {
  if (role == BridgeRole::kServe) {
    metrics = std::make_unique<PrometheusObserver>();
    metrics->set_limits(state.config.max_in_flight, spool ? state.config.spool_max_bytes : 0,
                        dedup ? state.config.dedup.capacity : 0);
  }
  PipelineObserver& observer = metrics ? static_cast<PipelineObserver&>(*metrics) : no_metrics;
  pipeline = std::make_unique<IngestPipeline>(
      pipeline_settings_for(state),
      PipelineParts{.verifier = *verifier,
                    .routes = *state.routes,
                    .schemas = state.schemas.get(),
                    .publisher = *publisher,
                    .clock = clock,
                    .observer = observer,
                    .dedup = dedup.get(),
                    .markers = dedup_writer.get(),
                    .spool = spool.get(),
                    .ready_to_publish = [this] { return ready_to_publish(); },
                    .quarantine = quarantine.get(),
                    .sources = state.sources.get()});
  if (spool) {
    forwarder = std::make_unique<SpoolForwarder>(
        *spool, *pipeline,
        SpoolForwarderSettings{state.config.spool_forward_window, state.config.spool_retry,
                               [this] { return ready_to_publish(); }});
  }
}

Status Bridge::Parts::build_servers() {
  if (role != BridgeRole::kServe)
    return ok_status();
  const Config& config = state.config;
  webhook = std::make_unique<WebhookServer>(*pipeline, *metrics, webhook_settings_for(config),
                                            state.sources.get());
  if (!webhook->valid()) {
    return Error("CMR_BRIDGE_TLS_CERT_FILE / CMR_BRIDGE_TLS_KEY_FILE: cannot load " +
                 config.tls_cert_file + " and " + config.tls_key_file);
  }
  // With the spool on, Kafka being away is what the spool is for: the pod stays in service
  // (requests are spooled) and the Kafka checks are reported but do not fail /readyz.
  const bool kafka_required = spool == nullptr;
  std::vector<ReadinessCheck> checks;
  if (kafka) {
    checks.push_back({"kafka", [this] { return kafka->reachable(); }, kafka_required});
    checks.push_back({"topics", [this] { return provisioner->done(); }, kafka_required});
  }
  checks.push_back(
      {"dedup", [this] { return !dedup_reader || dedup_reader->warmed(); }, kafka_required});
  checks.push_back({"not_draining", [this] { return !draining.load(); }, true});
  // A fatal producer error is not recovered from in process: the process exits non-zero
  // (on_fatal) and /healthz fails meanwhile, so Kubernetes restarts it either way.
  std::vector<ReadinessCheck> liveness;
  if (kafka)
    liveness.push_back({"kafka_producer", [this] { return !kafka->fatal(); }});
  admin = std::make_unique<AdminServer>(std::move(checks), std::move(liveness),
                                        [this] { return metrics->scrape(); });
  register_gauges();
  return ok_status();
}

void Bridge::Parts::register_gauges() {
  const std::initializer_list<const GaugeSource*> sources = {
      kafka.get(), provisioner.get(), dedup.get(),     dedup_reader.get(),
      spool.get(), quarantine.get(),  forwarder.get(), webhook.get()};
  for (const GaugeSource* source : sources) {
    if (source != nullptr)
      gauge_registrations.push_back(metrics->add_gauge_source(*source));
  }
}

Result<std::unique_ptr<Bridge>> Bridge::build(StartupState state, BridgeOptions options) {
  auto parts = std::make_unique<Parts>();
  parts->state = std::move(state);
  parts->role = options.role;
  if (!parts->state.sources)
    parts->state.sources = std::make_unique<SourceTable>();
  const Config& config = parts->state.config;
  auto verifier = create_verifier(config);
  if (!verifier)
    return verifier.error();
  parts->verifier = std::move(*verifier);
  if (Status built = parts->build_kafka(options); !built)
    return built.error();
  if (Status built = parts->build_dedup(); !built)
    return built.error();
  if (Status built = parts->build_spool(); !built)
    return built.error();
  if (Status built = parts->build_quarantine(); !built)
    return built.error();
  parts->build_pipeline();
  if (Status built = parts->build_servers(); !built)
    return built.error();
  return std::unique_ptr<Bridge>(new Bridge(std::move(parts)));
}

Bridge::Bridge(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Bridge::~Bridge() {
  shutdown();
}

const Config& Bridge::config() const {
  return parts_->state.config;
}

const IngestPipeline& Bridge::pipeline() const {
  return *parts_->pipeline;
}

const SourceTable& Bridge::sources() const {
  return *parts_->state.sources;
}

KafkaPublisher* Bridge::kafka_publisher() const {
  return parts_->kafka.get();
}

bool Bridge::wait_dedup_warmed(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const DedupTopicReader* reader = parts_->dedup_reader.get();
  while (reader != nullptr && !reader->warmed()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

Result<ListeningPorts> Bridge::listen() {
  Parts& parts = *parts_;
  const Config& config = parts.state.config;
  const auto cannot_listen = [](const char* variable, const ListenAddress& address) {
    log_error("cannot listen", {{"variable", variable},
                                {"host", address.host},
                                {"port", static_cast<int64_t>(address.port)}});
    return Error(std::string(variable) + ": cannot listen on " + address.host + ":" +
                 std::to_string(address.port));
  };
  ListeningPorts ports;
  ports.webhook = parts.webhook->bind(config.listen);
  if (ports.webhook < 0)
    return cannot_listen("CMR_BRIDGE_LISTEN", config.listen);
  ports.admin = parts.admin->bind(config.admin_listen);
  if (ports.admin < 0)
    return cannot_listen("CMR_BRIDGE_ADMIN_LISTEN", config.admin_listen);
  parts.webhook_thread =
      std::make_unique<ServingThread<WebhookServer>>(*parts.webhook, "http-poller");
  parts.admin_thread = std::make_unique<ServingThread<AdminServer>>(*parts.admin, "admin-http");
  return ports;
}

void Bridge::begin_draining() {
  parts_->draining.store(true);
}

bool Bridge::shutdown(bool forward_spool) {
  Parts& parts = *parts_;
  if (parts.shut_down)
    return true;
  parts.shut_down = true;
  parts.draining.store(true);
  // serve() returns once in-flight requests are answered.
  parts.webhook_thread.reset();
  if (parts.forwarder && forward_spool)
    parts.forwarder->drain_and_stop(parts.state.config.spool_drain);
  if (parts.forwarder)
    parts.forwarder->stop();
  const bool flushed = !parts.kafka || parts.kafka->flush(parts.state.config.delivery_timeout);
  parts.admin_thread.reset();
  return flushed;
}

}  // namespace cmr_bridge
