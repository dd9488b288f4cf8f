// The composition root: builds the running bridge from loaded settings. `serve`, `redrive` and
// the benchmark ceiling (tests/bench) all build it here, so each runs the production wiring;
// this is the only place that picks concrete types and wires them together.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "app/startup.h"
#include "cmr_bridge/publisher.h"
#include "cmr_bridge/result.h"
#include "core/pipeline.h"

namespace cmr_bridge {

class KafkaPublisher;

enum class BridgeRole {
  // Everything: topic provisioning, dedup cache + marker topic reader and writer, the spool and
  // its forwarder (when CMR_BRIDGE_SPOOL_DIR is set), Prometheus metrics, the webhook and
  // admin listeners.
  kServe,
  // The pipeline over Kafka with dedup (reader and writer) only: no listeners, no spool, no
  // metrics, no topic provisioning.
  kRedrive,
};

struct BridgeOptions {
  BridgeRole role = BridgeRole::kServe;
  // Replaces the Kafka producer (the benchmark ceiling). Then no Kafka client exists at all:
  // no topic provisioning, no dedup marker topic (the dedup cache stays, in memory), and no
  // Kafka checks in /readyz. Everything else is built as for the role.
  std::unique_ptr<Publisher> publisher;
  // Called from a background thread when a failure must stop the process: a dedup topic that
  // is not compacted, a topic too small for the largest record, a fatal producer error. Must
  // be thread-safe and must not block (the producer's poll thread calls it).
  std::function<void(const std::string& reason)> on_fatal;
};

struct ListeningPorts {
  int webhook = -1;
  int admin = -1;
};

// Owns every component. Threads: build(), listen(), begin_draining() and shutdown() are called
// from one thread (the command's); the listeners and background components run on their own.
// Destruction calls shutdown(), then destroys components in reverse order of construction, so
// each is destroyed after every thread that uses it was joined.
class Bridge {
 public:
  // Errors name the setting at fault (configuration errors: exit 2).
  static Result<std::unique_ptr<Bridge>> build(StartupState state, BridgeOptions options);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  const Config& config() const;
  const IngestPipeline& pipeline() const;
  // The sources beside CMR (the config file's "sources").
  const SourceTable& sources() const;
  // Null when the publisher was replaced.
  KafkaPublisher* kafka_publisher() const;

  // True once the dedup topic was read to its end (at once without one); waits up to `timeout`.
  bool wait_dedup_warmed(std::chrono::milliseconds timeout) const;

  // kServe: binds the webhook and admin listeners and serves on threads of their own. A
  // listener that cannot bind is logged ("cannot listen", with its variable, host and port)
  // and returned as the error (a runtime failure, e.g. the port is in use: exit 1).
  Result<ListeningPorts> listen();
  // /readyz fails from now on, so load balancers stop sending; requests are still served.
  void begin_draining();
  // Stops accepting and answers in-flight requests; with `forward_spool`, forwards what the
  // spool holds while Kafka answers, for up to CMR_BRIDGE_SPOOL_DRAIN_S, and logs what stays
  // on disk; stops the spool forwarder; flushes the producer (bounded by the delivery
  // timeout); then stops the admin listener (metrics stay readable until here). True when the
  // producer flushed (or there is none). Idempotent: later calls return true at once.
  bool shutdown(bool forward_spool = true);

 private:
  struct Parts;
  explicit Bridge(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace cmr_bridge
