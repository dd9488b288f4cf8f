// The webhook listener: cpp-httplib in front of the IngestPipeline.
#pragma once

#include <memory>
#include <string>

#include "cmr_bridge/config.h"
#include "cmr_bridge/gauges.h"
#include "cmr_bridge/observer.h"
#include "core/pipeline.h"

namespace cmr_bridge {

struct WebhookServerSettings {
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t threads = 256;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  std::chrono::seconds keep_alive_timeout{5};
  std::size_t keep_alive_max_requests = 1000;
  // Request line + headers: at most this many bytes and lines, else 431 and the connection closes.
  std::size_t max_header_bytes = 32 * 1024;
  std::size_t max_header_lines = 100;
  // Connections open at once (idle ones included); beyond it new ones get 503 server_busy.
  std::size_t max_connections = 2048;
  // After stop(): how long requests already received may still run before their connections are
  // cut (the in-flight bound of the drain).
  std::chrono::seconds drain_timeout{30};
  // Requests handled at once before new ones get 429 (each may wait up to the delivery
  // timeout on Kafka).
  std::size_t max_in_flight = 256;
  // Both set: serve HTTPS with this PEM certificate chain and key (OpenSSL).
  std::string tls_cert_file;
  std::string tls_key_file;
  // Which answered requests get a "webhook" log line.
  AccessLog access_log = AccessLog::kAll;
};

class WebhookServer final : public GaugeSource {
 public:
  // `pipeline`, `observer` and `sources` are shared, not owned, and must outlive the server.
  // CMR is served at /webhooks and /webhooks/cmr; each of `sources` at /webhooks/<name> (null:
  // CMR only).
  WebhookServer(const IngestPipeline& pipeline, PipelineObserver& observer,
                WebhookServerSettings settings, const SourceTable* sources = nullptr);
  ~WebhookServer() override;

  // False when the TLS certificate or key could not be loaded.
  bool valid() const;
  // Binds the socket; port 0 picks a free port. Returns the bound port or -1.
  int bind(const ListenAddress& address);
  // Serves until stop() has drained; blocks the calling thread. Idle connections wait in one
  // poller (this thread); a connection takes one of `threads` workers only while a request on it
  // is being read, handled or answered. Readable connections wait for a worker in a queue of at
  // most `threads`; beyond that they are answered 503 server_busy at once.
  bool serve();
  // True while serve() accepts connections.
  bool is_running() const;
  // Thread-safe. Stops accepting without dropping a connection the kernel already accepted
  // (new SYNs are dropped, the accept backlog is drained, then the listener closes); requests
  // already received are answered with Connection: close; idle kept-alive connections are closed;
  // serve() returns once nothing is in flight, or after drain_timeout.
  void stop();
  // Requests being handled right now.
  std::size_t in_flight() const;
  // in_flight().
  void report_gauges(GaugeSink& sink) const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cmr_bridge
