#include "core/cloudevents.h"

#include <rapidjson/document.h>

#include <utility>
#include <vector>

#include "core/json_writer.h"
#include "core/timestamp.h"

namespace cmr_bridge {
namespace {

std::string string_field(const rapidjson::Value& data, const char* name) {
  const auto it = data.FindMember(name);
  if (it == data.MemberEnd() || !it->value.IsString())
    return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string first_field(const rapidjson::Value& data, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    std::string value = string_field(data, name);
    if (!value.empty())
      return value;
  }
  return {};
}

// Attribute name → value, in output order; empty values are left out.
std::vector<std::pair<std::string, std::string>> attributes(const NormalizationInput& input,
                                                            const CloudEventsSettings& settings) {
  const rapidjson::Value& data = input.envelope.data();
  std::vector<std::pair<std::string, std::string>> out = {
      {"specversion", "1.0"},
      {"id", input.envelope.event_id()},
      {"source", settings.source},
      {"type", input.envelope.event()},
      {"time", format_rfc3339(input.sent)},
      {"cmrxtimestamp", std::string(input.sent_timestamp)},
      {"subject", std::string(input.key)},
      {"lifecycle", input.route.lifecycle},
      {"outcome", std::string(event_outcome(input.envelope.event()))},
      {"userid", string_field(data, "userId")},
      {"orderid", string_field(data, "orderId")},
      {"subscriptionid", string_field(data, "subscriptionId")},
      {"mailboxid", string_field(data, "mailboxId")},
      {"domain", first_field(data, {"domainName", "domain"})},
      {"provider", first_field(data, {"workspaceType", "serviceProvider"})},
      {"receivedtime", format_rfc3339(input.received)},
      {"signaturescheme", std::string(input.signature_scheme)},
      {"traceparent", std::string(input.trace.traceparent)},
      {"tracestate", std::string(input.trace.tracestate)},
  };
  return out;
}

using Attributes = std::vector<std::pair<std::string, std::string>>;

// The record in either content mode; empty attributes are left out.
Record encode_record(std::string_view topic, std::string_view key, Attributes attrs,
                     std::string_view data, const TraceContext& trace, CloudEventsMode mode) {
  std::erase_if(attrs, [](const auto& attribute) { return attribute.second.empty(); });
  Record record;
  record.topic = std::string(topic);
  record.key = std::string(key);
  if (mode == CloudEventsMode::kStructured) {
    JsonObjectWriter value;
    for (const auto& [name, text] : attrs)
      value.field(name, text);
    value.field("datacontenttype", "application/json");
    value.raw_field("data", data);
    record.value = value.finish();
    record.headers = {{"content-type", "application/cloudevents+json; charset=utf-8"}};
  } else {
    record.value.assign(data);
    record.headers.reserve(attrs.size() + 3);
    record.headers.push_back({"content-type", "application/json"});
    for (const auto& [name, text] : attrs)
      record.headers.push_back({"ce_" + name, text});
  }
  append_trace_headers(trace, record.headers);
  return record;
}

}  // namespace

std::string_view event_outcome(std::string_view event) {
  const auto dot = event.rfind('.');
  return dot == std::string_view::npos ? event : event.substr(dot + 1);
}

Record make_cloudevent_record(const NormalizationInput& input,
                              const CloudEventsSettings& settings) {
  return encode_record(input.route.topic, input.key, attributes(input, settings), input.data,
                       input.trace, settings.mode);
}

Record make_source_record(const SourceEventInput& input, CloudEventsMode mode) {
  return encode_record(input.topic, input.key,
                       {
                           {"specversion", "1.0"},
                           {"id", std::string(input.id)},
                           {"source", std::string(input.source)},
                           {"type", std::string(input.type)},
                           {"time", format_rfc3339(input.sent)},
                           {"subject", std::string(input.key)},
                           {"receivedtime", format_rfc3339(input.received)},
                           {"signaturescheme", std::string(input.signature_scheme)},
                           {"traceparent", std::string(input.trace.traceparent)},
                           {"tracestate", std::string(input.trace.tracestate)},
                       },
                       input.data, input.trace, mode);
}

void append_trace_headers(const TraceContext& trace, std::vector<RecordHeader>& headers) {
  if (!trace.traceparent.empty())
    headers.push_back({"traceparent", std::string(trace.traceparent)});
  if (!trace.tracestate.empty())
    headers.push_back({"tracestate", std::string(trace.tracestate)});
}

}  // namespace cmr_bridge
