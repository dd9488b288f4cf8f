// The ingest pipeline: one verified webhook in, one Outcome out. No sockets or threads here;
// the Publisher seam does the waiting.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "cmr_bridge/clock.h"
#include "cmr_bridge/observer.h"
#include "cmr_bridge/outcome.h"
#include "cmr_bridge/publisher.h"
#include "core/envelope.h"
#include "core/routing.h"
#include "core/signature.h"

namespace cmr_bridge {

struct WebhookRequest {
  std::optional<std::string_view> signature;  // cmr-x-signature, nullopt when absent
  std::optional<std::string_view> timestamp;  // cmr-x-timestamp, nullopt when absent
  std::string_view body;                      // raw bytes exactly as received
};

struct PipelineSettings {
  std::chrono::seconds timestamp_tolerance{300};
  std::chrono::milliseconds delivery_timeout{10000};
  std::string deadletter_topic = "cmr.webhooks.deadletter";
  std::chrono::seconds retry_after{5};
  EnvelopeLimits envelope_limits;
};

// Shares (does not own) its collaborators; they must outlive it. handle() is const and
// thread-safe as long as the Publisher, Clock and observer are.
class IngestPipeline {
 public:
  IngestPipeline(PipelineSettings settings, const SignatureVerifier& verifier,
                 const RouteTable& routes, Publisher& publisher, const Clock& clock,
                 PipelineObserver& observer);

  Outcome handle(const WebhookRequest& request) const;

 private:
  Outcome dead_letter(const WebhookRequest& request, std::string_view reason,
                      std::string_view detail, std::string event, std::string event_id,
                      std::string_view scheme,
                      std::chrono::system_clock::time_point received) const;
  Outcome deliver(Record record, Outcome on_success) const;

  PipelineSettings settings_;
  const SignatureVerifier& verifier_;
  const RouteTable& routes_;
  Publisher& publisher_;
  const Clock& clock_;
  PipelineObserver& observer_;
};

// RFC 3339 UTC with milliseconds, e.g. "2024-03-08T23:59:59.123Z".
std::string format_rfc3339(std::chrono::system_clock::time_point time);

}  // namespace cmr_bridge
