// The pipeline's path for webhook providers beside CMR (docs/sources.md): the source's profile
// verifies, its settings say where the event id, type and time are, its routes and schemas
// decide, and the record carries the provider's own id and type. Publishing, dedup claims and
// dead letters are the ones CMR uses (pipeline.cc), with the dedup id namespaced by source.
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include "core/pipeline.h"
#include "core/timestamp.h"

namespace cmr_bridge {
namespace {

// A header-carried field: what the profile learnt (kProfile) or the named header's value.
// Empty for a field the body holds, or a header that is absent.
std::string_view header_field(const SourceField& field, std::optional<std::string_view> learnt,
                              const HeaderView& headers) {
  switch (field.from) {
    case SourceField::From::kProfile:
      return learnt.value_or("");
    case SourceField::From::kHeader:
      return headers.value(field.where).value_or("");
    case SourceField::From::kPointer:
      break;
  }
  return {};
}

// A string, or an integer written as decimal text, at `pointer`; empty when absent.
std::string text_at(const rapidjson::Value& body, const std::string& pointer) {
  const rapidjson::Value* value = rapidjson::Pointer(pointer.c_str()).Get(body);
  if (value == nullptr)
    return {};
  if (value->IsString())
    return std::string(value->GetString(), value->GetStringLength());
  if (value->IsInt64())
    return std::to_string(value->GetInt64());
  if (value->IsUint64())
    return std::to_string(value->GetUint64());
  return {};
}

std::string where(const SourceField& field) {
  return field.from == SourceField::From::kHeader ? "header " + field.where : field.where;
}

}  // namespace

Outcome IngestPipeline::handle_source(const WebhookRequest& request) const {
  const Source& source = *request.source;
  const auto received = parts_.clock.now();
  const std::string_view profile = to_string(source.profile);
  // The profile checks the signature (and its timestamp window) over the raw bytes before
  // anything reads the body.
  const ProfileCheck check = source.verifier->verify(*request.headers, request.body, received);
  if (!check.ok()) {
    Outcome outcome = outcome_with(check.code);
    outcome.message = std::string(check.message);
    outcome.signature_scheme = profile;
    return outcome;
  }
  parts_.observer.on_signature_verified(profile, source.name);
  const ProfileIdentity& learnt = check.identity;
  // The signed timestamp, else a configured time header: kept as the request's timestamp so a
  // dead letter (and its redrive) carries it.
  std::string_view timestamp = learnt.timestamp_header;
  if (source.time.from == SourceField::From::kHeader)
    timestamp = request.headers->value(source.time.where).value_or("");
  auto sent = received;
  if (learnt.sent && source.time.from == SourceField::From::kProfile) {
    sent = *learnt.sent;
  } else if (const auto parsed = parse_timestamp(timestamp)) {
    sent = to_time_point(*parsed);
  }
  const VerifiedRequest verified{
      .body = request.body,
      .timestamp = timestamp,
      .sent = sent,
      .received = received,
      .signature_scheme = profile,
      .trace = request.trace,
      .source = &source,
      .source_name = source.name,
      .delivery_id = header_field(source.id, learnt.delivery_id, *request.headers),
      .event_type = header_field(source.type, learnt.event_type, *request.headers),
  };
  return publish_or_spool(verified);
}

Decision IngestPipeline::decide_source(const VerifiedRequest& request) const {
  const Source& source = *request.source;
  EventIdentity id{std::string(request.event_type), std::string(request.delivery_id)};
  auto parsed = parse_json_object(request.body, settings_.envelope_limits);
  if (parsed.error != EnvelopeError::kNone) {
    return dead_letter(request, error_code(parsed.error), std::move(parsed.detail), std::move(id));
  }
  const Envelope& body = *parsed.envelope;
  if (source.id.from == SourceField::From::kPointer)
    id.event_id = text_at(body.data(), source.id.where);
  if (source.type.from == SourceField::From::kPointer)
    id.event = text_at(body.data(), source.type.where);
  // (Each detail is built before `id` is moved into the call: arguments have no order.)
  if (id.event_id.empty()) {
    std::string detail = "no event id (a non-empty string at " + where(source.id) + ")";
    return dead_letter(request, OutcomeCode::kInvalidEnvelope, std::move(detail), std::move(id));
  }
  if (id.event.empty()) {
    std::string detail = "no event type (a non-empty string at " + where(source.type) + ")";
    return dead_letter(request, OutcomeCode::kInvalidEnvelope, std::move(detail), std::move(id));
  }
  DedupIdentity dedup;
  if (parts_.dedup != nullptr) {
    dedup.key = event_key(dedup_id(source.name, id.event_id));
    dedup.body_fingerprint = body_fingerprint(request.body);
    if (parts_.dedup->lookup_done(*dedup.key, dedup.body_fingerprint) == DedupResult::kDuplicate)
      return KnownDuplicateDecision{std::move(id), dedup};
  }
  const Route* route = source.routes.find(id.event);
  if (route == nullptr) {
    std::string detail = "no route for event type \"" + id.event + "\" of source " + source.name;
    return dead_letter(request, OutcomeCode::kUnroutableEvent, std::move(detail), std::move(id));
  }
  if (source.schemas != nullptr && route->schema != "none") {
    const std::string& schema = route->schema.empty() ? id.event : route->schema;
    if (auto violation = source.schemas->validate(schema, body.data()))
      return dead_letter(request, OutcomeCode::kSchemaViolation, "body" + *violation,
                         std::move(id));
  }
  auto sent = request.sent;
  if (source.time.from == SourceField::From::kPointer) {
    if (const auto parsed_time = parse_timestamp(text_at(body.data(), source.time.where)))
      sent = to_time_point(*parsed_time);
  }
  const std::string key = body.first_string(route->key_pointers).value_or("");
  Record record =
      make_source_record({route->topic, key, id.event_id, source.cloudevents_source, id.event, sent,
                          request.received, request.signature_scheme, request.body, request.trace},
                         settings_.cloudevents.mode);
  return PublishDecision{std::move(id), dedup, std::move(record)};
}

}  // namespace cmr_bridge
