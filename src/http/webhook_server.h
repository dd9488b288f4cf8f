// The webhook listener: cpp-httplib in front of the IngestPipeline.
#pragma once

#include <memory>
#include <string>

#include "cmr_bridge/config.h"
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
  // Requests handled at once before new ones get 429 (each may wait up to the delivery
  // timeout on Kafka).
  std::size_t max_in_flight = 256;
  // Both set: serve HTTPS with this PEM certificate chain and key (OpenSSL).
  std::string tls_cert_file;
  std::string tls_key_file;
};

class WebhookServer {
 public:
  // `pipeline` and `observer` are shared, not owned, and must outlive the server.
  WebhookServer(const IngestPipeline& pipeline, PipelineObserver& observer,
                WebhookServerSettings settings);
  ~WebhookServer();

  // False when the TLS certificate or key could not be loaded.
  bool valid() const;
  // Binds the socket; port 0 picks a free port. Returns the bound port or -1.
  int bind(const ListenAddress& address);
  // Serves until stop(); blocks the calling thread.
  bool serve();
  // True while serve() accepts connections.
  bool is_running() const;
  // Thread-safe; makes a running serve() return once in-flight requests are answered.
  void stop();
  // Requests being handled right now.
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cmr_bridge
