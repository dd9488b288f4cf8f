// The ingest pipeline: one webhook request in, one Outcome out. No sockets or threads here;
// the Publisher seam does the waiting.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>
#include <variant>

#include "cmr_bridge/clock.h"
#include "cmr_bridge/dedup_store.h"
#include "cmr_bridge/observer.h"
#include "cmr_bridge/outcome.h"
#include "cmr_bridge/publisher.h"
#include "cmr_bridge/quarantine.h"
#include "cmr_bridge/spool.h"
#include "core/cloudevents.h"
#include "core/credentials.h"
#include "core/dedup_cache.h"
#include "core/envelope.h"
#include "core/routing.h"
#include "core/schema_set.h"
#include "core/signature.h"
#include "core/source.h"
#include "core/trace_context.h"

namespace cmr_bridge {

struct WebhookRequest {
  std::optional<std::string_view> signature;  // cmr-x-signature, nullopt when absent
  std::optional<std::string_view> timestamp;  // cmr-x-timestamp, nullopt when absent
  std::string_view body;                      // raw bytes exactly as received
  TraceContext trace = {};                    // the sender's W3C trace context, if valid
  // Another provider's request (docs/sources.md): its source, and the request's headers for
  // the source's verifier. Null: CMR (signature and timestamp above).
  const Source* source = nullptr;
  const HeaderView* headers = nullptr;
};

// A request whose signature and timestamp already passed (live, or read back from the
// dead-letter topic by `redrive`).
struct VerifiedRequest {
  std::string_view body;
  std::string_view timestamp;  // the cmr-x-timestamp header as received
  std::chrono::system_clock::time_point sent;
  std::chrono::system_clock::time_point received;
  std::string_view signature_scheme;
  TraceContext trace = {};  // carried into the record (and the spool, and a dead letter)
  // Another provider's request: its source (null: CMR, or a source this configuration lacks),
  // the name of the source it came to (empty: CMR), and the event id and type when they came
  // from headers (empty when the body holds them).
  const Source* source = nullptr;
  std::string_view source_name = {};
  std::string_view delivery_id = {};
  std::string_view event_type = {};
};

// A spooled or dead-lettered request, verified once already, ready to be decided again.
// The views point into `request`, which must outlive the result. `sources` resolves
// request.source (a name no source has, or no table, leaves `source` null and decide()
// dead-letters it as unroutable, naming the source).
VerifiedRequest reverified(const SpooledRequest& request, const SourceTable* sources = nullptr);

// Which event a decision is about: from the envelope, best effort when it is invalid.
struct EventIdentity {
  std::string event;
  std::string event_id;
};

// Dedup identity, computed once per request when dedup is on and the envelope parsed.
struct DedupIdentity {
  std::optional<EventKey> key;
  uint64_t body_fingerprint = 0;
};

// Publish `record` on its event topic (at most once per eventId).
struct PublishDecision {
  EventIdentity id;
  DedupIdentity dedup;
  Record record;
};
// Already published with these exact bytes: answered "duplicate" without routing, validating
// or building a record (a duplicate costs a parse and a lookup).
struct KnownDuplicateDecision {
  EventIdentity id;
  DedupIdentity dedup;
};
// Not publishable as an event: write the raw bytes to the dead-letter topic.
struct DeadLetterDecision {
  EventIdentity id;
  OutcomeCode reason = OutcomeCode::kInvalidJson;  // a dead-letter reason (codes.h)
  std::string detail;                              // never quotes the body
  Record record;                                   // on the dead-letter topic
};
// Publishable, but the record could not be prepared (credential encryption failed): nothing is
// written; the sender retries later.
struct UnpreparedDecision {
  EventIdentity id;
  DedupIdentity dedup;
  std::string detail;
};

// What to do with a verified request.
using Decision =
    std::variant<PublishDecision, KnownDuplicateDecision, DeadLetterDecision, UnpreparedDecision>;

inline const EventIdentity& identity(const Decision& decision) {
  return std::visit([](const auto& d) -> const EventIdentity& { return d.id; }, decision);
}

struct PipelineSettings {
  std::chrono::seconds timestamp_tolerance{300};
  std::chrono::milliseconds delivery_timeout{10000};
  std::string deadletter_topic = "cmr.webhooks.deadletter";
  std::chrono::seconds retry_after{5};
  EnvelopeLimits envelope_limits;
  CloudEventsSettings cloudevents;
  CredentialPolicy credentials;
};

// The pipeline's collaborators. Shared, not owned: they must outlive the pipeline.
struct PipelineParts {
  const SignatureVerifier& verifier;
  const RouteTable& routes;
  const SchemaSet* schemas = nullptr;  // null: envelope checks only
  Publisher& publisher;
  const Clock& clock;
  PipelineObserver& observer;
  DedupCache* dedup = nullptr;         // null: no idempotency check
  DedupMarkerSink* markers = nullptr;  // null: "done" is known to this process only
  Spool* spool = nullptr;              // null: Kafka unavailable → 503
  // With a spool: false while publishing must wait (the dedup marker topic not yet read to its
  // end, the topics' metadata not yet known); requests are then spooled, not published. Empty:
  // always ready. Called on every request from any thread.
  std::function<bool()> ready_to_publish = nullptr;
  // Where a request goes when Kafka refuses its record and its dead letter for good (answered
  // 200 quarantined once durable). Null: such a request is answered 422 unpublishable.
  Quarantine* quarantine = nullptr;
  // The sources beside CMR, for requests read back from the spool. Null: none.
  const SourceTable* sources = nullptr;
};

// handle(), decide() and publish_once() are const and thread-safe as long as the parts are.
class IngestPipeline {
 public:
  IngestPipeline(PipelineSettings settings, PipelineParts parts);

  Outcome handle(const WebhookRequest& request) const;

  // Parse, route, validate and normalize; no I/O.
  Decision decide(const VerifiedRequest& request) const;
  // Publishes a decision at most once per eventId: claim → publish → mark done after the
  // delivery report, or release the claim when the publish failed. Dead-letter decisions are
  // written without the idempotency check (a redrive must still be able to publish them).
  // `dead_letter_conflicts` false (redrive): a conflict is reported, not written again.
  Outcome publish_once(const Decision& decision, const VerifiedRequest& request,
                       bool dead_letter_conflicts = true) const;
  // Processes a request read back from the spool: decide, then publish_once. Unavailable means
  // "keep it and try again later". (The spool forwarder calls decide() and publish_once()
  // itself, to learn each record's key before it sends it.)
  Outcome forward(const SpooledRequest& request) const;
  // reverified() with this pipeline's sources: what the spool forwarder decides.
  VerifiedRequest reverify(const SpooledRequest& request) const {
    return reverified(request, parts_.sources);
  }

 private:
  DeadLetterDecision dead_letter(const VerifiedRequest& request, OutcomeCode reason,
                                 std::string detail, EventIdentity id) const;
  // Claim → deliver → mark done (or release), for a decision that carries a dedup identity.
  Outcome publish_claimed(const Decision& decision, const DedupIdentity& dedup,
                          const VerifiedRequest& request, bool dead_letter_conflicts) const;
  // Writes the record of a publish or dead-letter decision and waits for the delivery report.
  Outcome deliver(const EventIdentity& id, const Record& record, OutcomeCode delivered_code,
                  std::string_view delivered_detail, std::string_view signature_scheme) const;
  // A PublishDecision that Kafka can never accept is dead-lettered as publish_rejected.
  Outcome deliver(const Decision& decision, const VerifiedRequest& request) const;
  // Writes a dead letter; one that Kafka can never accept either is quarantined.
  Outcome deliver_dead_letter(const DeadLetterDecision& dead, const VerifiedRequest& request) const;
  // Keeps a request whose dead letter Kafka refused for good (`refused` is that outcome).
  Outcome quarantine(const DeadLetterDecision& dead, const VerifiedRequest& request,
                     const Outcome& refused) const;
  // Keeps a verified request in the spool; accepted ("spooled") once it is fsync'd.
  Outcome spool(const VerifiedRequest& request, const EventIdentity& id) const;
  // handle() and decide() for another provider's request (source_pipeline.cc).
  Outcome handle_source(const WebhookRequest& request) const;
  // Publishes a verified request now, or spools it behind the backlog, or when Kafka is away.
  Outcome publish_or_spool(const VerifiedRequest& request) const;
  Decision decide_source(const VerifiedRequest& request) const;

  PipelineSettings settings_;
  PipelineParts parts_;
};

}  // namespace cmr_bridge
