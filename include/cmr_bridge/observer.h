// Observation seam: the core reports what it did; src/metrics turns it into Prometheus series.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cmr_bridge/codes.h"
#include "cmr_bridge/outcome.h"
#include "cmr_bridge/signature_scheme.h"

namespace cmr_bridge {

class PipelineObserver {
 public:
  virtual ~PipelineObserver() = default;
  // Called from HTTP worker threads, concurrently; implementations must be thread-safe.
  // `scheme`: CMR's signature scheme, or a source's verification profile. `source` (here and in
  // on_dedup): "cmr" or a configured source's name, never a value taken from a request.
  virtual void on_signature_verified(std::string_view scheme, std::string_view source) = 0;
  virtual void on_outcome(const Outcome& outcome, std::chrono::nanoseconds latency) = 0;
  virtual void on_delivery(const std::string& topic, bool delivered,
                           std::chrono::nanoseconds latency) = 0;
  // Result of the idempotency check on one request.
  virtual void on_dedup(DedupResult result, std::string_view source) = 0;
  // Every HTTP response of the webhook listener; `route` is "/webhooks" or "other".
  virtual void on_http_response(std::string_view route, int status) = 0;
  // A webhook connection the listener cut short: "busy" / "connection_limit" (503 before the
  // request was read), "request_timeout" (408), "header_too_large" / "too_many_headers" (431).
  virtual void on_connection_cut(std::string_view /*reason*/) {}
};

class NullObserver final : public PipelineObserver {
 public:
  void on_signature_verified(std::string_view, std::string_view) override {}
  void on_outcome(const Outcome&, std::chrono::nanoseconds) override {}
  void on_delivery(const std::string&, bool, std::chrono::nanoseconds) override {}
  void on_dedup(DedupResult, std::string_view) override {}
  void on_http_response(std::string_view, int) override {}
};

}  // namespace cmr_bridge
