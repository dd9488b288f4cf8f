// Normalizes a verified, routed CMR event into a CloudEvents 1.0 Kafka record (Kafka protocol
// binding, structured or binary content mode).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cmr_bridge/publisher.h"
#include "core/envelope.h"
#include "core/routing.h"
#include "core/trace_context.h"

namespace cmr_bridge {

enum class CloudEventsMode {
  kStructured,  // value = application/cloudevents+json with every attribute and `data`
  kBinary,      // value = the sender's `data`; attributes in ce_* headers
};

struct CloudEventsSettings {
  CloudEventsMode mode = CloudEventsMode::kStructured;
  std::string source = "cmr";
};

struct NormalizationInput {
  const Envelope& envelope;
  const Route& route;
  std::string_view key;  // the partition key chosen by the route (may be empty)
  std::chrono::system_clock::time_point sent;      // from cmr-x-timestamp
  std::chrono::system_clock::time_point received;  // when the bridge received it
  std::string_view signature_scheme;
  std::string_view data;  // the `data` JSON to publish (raw_data, or with credentials protected)
  // The cmr-x-timestamp header exactly as received (Unix seconds or milliseconds): published as
  // the `cmrxtimestamp` extension attribute so consumers can order one key's events by the
  // sender's clock (replicas can publish them out of order while one replays its spool).
  std::string_view sent_timestamp = {};
  // The sender's W3C trace context: the CloudEvents distributed-tracing extension attributes
  // `traceparent` and `tracestate`, and the Kafka headers of the same names.
  TraceContext trace = {};
};

// The outcome attribute: the last dot-separated segment of the event name
// ("domain.order.success" → "success", "mailbox.created" → "created").
std::string_view event_outcome(std::string_view event);

// `data` goes out as the exact bytes the sender wrote (Envelope::raw_data), so no number,
// string or field is ever rewritten.
Record make_cloudevent_record(const NormalizationInput& input, const CloudEventsSettings& settings);

// Appends `traceparent` and `tracestate` headers (each when present) to `headers`: a record's
// and a dead letter's trace context, as W3C Trace Context names it for message headers.
void append_trace_headers(const TraceContext& trace, std::vector<RecordHeader>& headers);

// A verified event of another provider (docs/sources.md): `data` is its whole body, verbatim.
struct SourceEventInput {
  std::string_view topic;
  std::string_view key;     // the partition key chosen by the route (may be empty)
  std::string_view id;      // the provider's event id
  std::string_view source;  // the source's CloudEvents `source`
  std::string_view type;    // the provider's event type
  std::chrono::system_clock::time_point sent;  // the provider's time, else when received
  std::chrono::system_clock::time_point received;
  std::string_view signature_scheme;  // the verification profile
  std::string_view data;
  TraceContext trace = {};  // as NormalizationInput::trace
};

Record make_source_record(const SourceEventInput& input, CloudEventsMode mode);

}  // namespace cmr_bridge
