// Fuzzes parse_envelope → route → schema validation → make_cloudevent_record (both modes) on
// arbitrary bytes, as if they were a verified body.
//
// Invariants:
//   - parse_envelope accepts exactly when an independent strict parse says: valid UTF-8 JSON,
//     nesting ≤ 64, an object whose "event"/"eventId"/"data" each appear at most once,
//     event and eventId non-empty strings, data an object (and refuses otherwise, with the
//     right error code);
//   - on success raw_data() is a slice of the body that parses on its own as a JSON object
//     equal to data(), and event()/event_id() are the body's;
//   - schema validation of data() never crashes; a violation names a JSON pointer;
//   - the structured CloudEvents value is strict JSON (UTF-8 included) whose "data" equals
//     data() and whose id/type/specversion are right; the binary value is raw_data() byte for
//     byte and every ce_* header value is UTF-8.
#include <sanitizer/lsan_interface.h>

#include <memory>
#include <string>

#include "config/file_loaders.h"
#include "core/cloudevents.h"
#include "core/envelope.h"
#include "core/routing.h"
#include "core/schema_set.h"
#include "fuzz_common.h"

using namespace cmr_bridge;
using namespace cmr_bridge::fuzz;

namespace {

struct World {
  TopicNames topics;
  RouteTable routes = RouteTable::defaults(topics);
  std::unique_ptr<SchemaSet> schemas;
  Route fallback{"*", "other", "cmr.other.events", {"/orderId", "/userId"}, "none"};
};

const World& world() {
  static const World* w = [] {
    // Built once and kept for the process's life. RapidJSON (48-bit pointer optimisation)
    // keeps flags in the top bits of its string pointers, so LeakSanitizer cannot see that
    // the compiled schemas still reference their strings and would call them leaked at exit.
    __lsan::ScopedDisabler not_a_leak;
    auto* out = new World();
    std::string error;
    auto schemas = load_schemas(CMR_BRIDGE_SOURCE_SCHEMA_DIR, out->routes);
    if (schemas) {
      out->schemas = std::move(schemas.value());
    } else {
      error = schemas.error().message();
    }
    if (!out->schemas) {
      std::fprintf(stderr, "fuzz_envelope: cannot load schemas: %s\n", error.c_str());
      std::abort();
    }
    return out;
  }();
  return *w;
}

// What parse_envelope should answer, decided without it.
EnvelopeError expected_error(std::string_view body, const EnvelopeLimits& limits) {
  const JsonShape shape = json_shape(body);
  if (!shape.valid || shape.max_depth > limits.max_depth)
    return EnvelopeError::kInvalidJson;
  rapidjson::Document doc;
  FUZZ_CHECK(parse_strict(body, doc), "SAX and DOM oracles disagree");
  // Finding F1, fixed: an escape that decodes to a lone surrogate is not valid Unicode, so the
  // bridge treats the body as invalid JSON (dead letter) instead of forwarding broken text.
  if (!strings_are_utf8(doc))
    return EnvelopeError::kInvalidJson;
  if (!doc.IsObject())
    return EnvelopeError::kInvalidEnvelope;
  int event = 0, event_id = 0, data = 0;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    event += name == "event";
    event_id += name == "eventId";
    data += name == "data";
  }
  if (event > 1 || event_id > 1 || data > 1)
    return EnvelopeError::kInvalidEnvelope;
  if (string_member(doc, "event").empty() || string_member(doc, "eventId").empty())
    return EnvelopeError::kInvalidEnvelope;
  const auto d = doc.FindMember("data");
  if (d == doc.MemberEnd() || !d->value.IsObject())
    return EnvelopeError::kInvalidEnvelope;
  return EnvelopeError::kNone;
}

// Newer cores take the `data` bytes to publish in NormalizationInput::data (raw_data, or with
// credentials protected); older ones read Envelope::raw_data themselves. Works with both.
template <typename Input>
void set_published_data(Input& input, std::string_view data) {
  if constexpr (requires { input.data = data; })
    input.data = data;
}

void check_record(const Envelope& envelope, const Route& route, std::string_view key,
                  CloudEventsMode mode) {
  const auto sent = std::chrono::system_clock::time_point(std::chrono::seconds(1'709'942'399));
  const auto received = sent + std::chrono::milliseconds(1234);
  CloudEventsSettings settings;
  settings.mode = mode;
  NormalizationInput input{.envelope = envelope,
                           .route = route,
                           .key = key,
                           .sent = sent,
                           .received = received,
                           .signature_scheme = "body-hex"};
  set_published_data(input, envelope.raw_data());
  const Record record = make_cloudevent_record(input, settings);
  FUZZ_CHECK(record.topic == route.topic, "record topic must be the route's");
  FUZZ_CHECK(record.key == key, "record key must be the chosen key");
  const bool f1 = skip_f1(envelope.event(), envelope.event_id(), envelope.data());
  if (mode == CloudEventsMode::kStructured) {
    rapidjson::Document value;
    FUZZ_CHECK(f1 ? parse_lenient(record.value, value) : parse_strict(record.value, value),
               "structured value must be strict JSON");
    FUZZ_CHECK(value.IsObject(), "structured value must be an object");
    FUZZ_CHECK(string_member(value, "specversion") == "1.0", "specversion");
    FUZZ_CHECK(string_member(value, "id") == envelope.event_id(), "id must be eventId");
    FUZZ_CHECK(string_member(value, "type") == envelope.event(), "type must be event");
    FUZZ_CHECK(value.HasMember("data") && same_json(value["data"], envelope.data()),
               "structured data must equal the envelope's data");
  } else {
    FUZZ_CHECK(record.value == envelope.raw_data(), "binary value must be the raw data bytes");
    const std::string* id = header(record, "ce_id");
    const std::string* type = header(record, "ce_type");
    FUZZ_CHECK(id && *id == envelope.event_id(), "ce_id must be eventId");
    FUZZ_CHECK(type && *type == envelope.event(), "ce_type must be event");
    for (const auto& h : record.headers) {
      FUZZ_CHECK(f1 || is_valid_utf8(h.value), "CloudEvents header values must be UTF-8");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const World& w = world();
  const std::string_view body(reinterpret_cast<const char*>(bytes), size);
  const EnvelopeLimits limits;

  EnvelopeResult result = parse_envelope(body, limits);
  const EnvelopeError expected = expected_error(body, limits);
  FUZZ_CHECK(result.error == expected, "parse_envelope verdict differs from the strict oracle");
  if (result.error != EnvelopeError::kNone) {
    FUZZ_CHECK(!result.envelope.has_value(), "no envelope on error");
    FUZZ_CHECK(!result.detail.empty(), "an error has a detail");
    return 0;
  }
  FUZZ_CHECK(result.envelope.has_value(), "envelope on success");
  const Envelope& envelope = *result.envelope;
  FUZZ_CHECK(!envelope.event().empty() && !envelope.event_id().empty(), "non-empty identity");
  FUZZ_CHECK(envelope.event() == result.event && envelope.event_id() == result.event_id,
             "result identity equals envelope identity");

  // raw_data() is a slice of the body, braces included, equal to data() once parsed.
  const std::string_view raw = envelope.raw_data();
  FUZZ_CHECK(raw.data() >= body.data() && raw.data() + raw.size() <= body.data() + body.size(),
             "raw_data must point into the body");
  FUZZ_CHECK(raw.size() >= 2 && raw.front() == '{' && raw.back() == '}',
             "raw_data must be the braces of the data object");
  rapidjson::Document reparsed;
  FUZZ_CHECK(parse_strict(raw, reparsed), "raw_data must parse on its own");
  FUZZ_CHECK(reparsed.IsObject(), "raw_data must be an object");
  FUZZ_CHECK(same_json(reparsed, envelope.data()), "raw_data must equal data()");
  rapidjson::Document whole;
  FUZZ_CHECK(parse_strict(body, whole), "accepted body is strict JSON");
  FUZZ_CHECK(string_member(whole, "event") == envelope.event(), "event matches the body");
  FUZZ_CHECK(string_member(whole, "eventId") == envelope.event_id(), "eventId matches the body");

  const Route* found = w.routes.find(envelope.event());
  const Route& route = found ? *found : w.fallback;
  if (route.schema != "none") {
    const std::string& schema = route.schema.empty() ? envelope.event() : route.schema;
    if (const auto violation = w.schemas->validate(schema, envelope.data())) {
      FUZZ_CHECK(!violation->empty() && violation->front() == '/',
                 "a violation starts with a JSON pointer");
      FUZZ_CHECK(w.schemas->contains(schema), "only a known schema can be violated");
    }
  }
  const std::string key = envelope.first_string(route.key_pointers).value_or("");
  check_record(envelope, route, key, CloudEventsMode::kStructured);
  check_record(envelope, route, key, CloudEventsMode::kBinary);
  return 0;
}
