#include "core/envelope.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/pointer.h>
#include <rapidjson/reader.h>

namespace cmr_bridge {

struct Envelope::Document {
  rapidjson::Document json;
};

Envelope::Envelope() : document_(std::make_unique<Document>()) {}
Envelope::~Envelope() = default;
Envelope::Envelope(Envelope&&) noexcept = default;
Envelope& Envelope::operator=(Envelope&&) noexcept = default;

std::optional<std::string> Envelope::first_string(const std::vector<std::string>& pointers) const {
  const auto data = document_->json.FindMember("data");
  if (data == document_->json.MemberEnd())
    return std::nullopt;
  for (const auto& text : pointers) {
    const rapidjson::Pointer pointer(text.c_str(), text.size());
    if (!pointer.IsValid())
      continue;
    const rapidjson::Value* value = pointer.Get(data->value);
    if (value != nullptr && value->IsString() && value->GetStringLength() > 0) {
      return std::string(value->GetString(), value->GetStringLength());
    }
  }
  return std::nullopt;
}

std::string_view error_code(EnvelopeError error) {
  switch (error) {
    case EnvelopeError::kNone:
      return "";
    case EnvelopeError::kInvalidJson:
      return "invalid_json";
    case EnvelopeError::kInvalidEnvelope:
      return "invalid_envelope";
  }
  return "invalid_json";
}

namespace {

constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

// Forwards SAX events to the document while refusing nesting deeper than a limit, so that
// later recursive walks (writers, validators) can never exhaust the stack.
template <typename Handler>
class DepthLimitingHandler {
 public:
  DepthLimitingHandler(Handler& inner, std::size_t max_depth)
      : inner_(inner), max_depth_(max_depth) {}
  bool exceeded() const { return exceeded_; }

  bool Null() { return inner_.Null(); }
  bool Bool(bool b) { return inner_.Bool(b); }
  bool Int(int i) { return inner_.Int(i); }
  bool Uint(unsigned u) { return inner_.Uint(u); }
  bool Int64(int64_t i) { return inner_.Int64(i); }
  bool Uint64(uint64_t u) { return inner_.Uint64(u); }
  bool Double(double d) { return inner_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return inner_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return inner_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return inner_.Key(s, n, copy); }
  bool StartObject() { return enter() && inner_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return inner_.EndObject(n);
  }
  bool StartArray() { return enter() && inner_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return inner_.EndArray(n);
  }

 private:
  bool enter() {
    if (++depth_ > max_depth_) {
      exceeded_ = true;
      return false;
    }
    return true;
  }
  Handler& inner_;
  std::size_t max_depth_;
  std::size_t depth_ = 0;
  bool exceeded_ = false;
};

std::string string_member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString())
    return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

struct EnvelopeParser {
  static EnvelopeResult parse(std::string_view body, const EnvelopeLimits& limits) {
    EnvelopeResult result;
    Envelope envelope;
    auto& json = envelope.document_->json;

    rapidjson::ParseResult parse_result;
    bool too_deep = false;
    auto generator = [&](rapidjson::Document& handler) {
      rapidjson::MemoryStream stream(body.data(), body.size());
      rapidjson::Reader reader;
      DepthLimitingHandler<rapidjson::Document> limited(handler, limits.max_depth);
      parse_result = reader.Parse<kParseFlags>(stream, limited);
      too_deep = limited.exceeded();
      return static_cast<bool>(parse_result);
    };
    json.Populate(generator);
    if (!parse_result) {
      result.error = EnvelopeError::kInvalidJson;
      result.detail = too_deep ? "JSON nesting deeper than " + std::to_string(limits.max_depth)
                               : std::string(rapidjson::GetParseError_En(parse_result.Code())) +
                                     " at byte " + std::to_string(parse_result.Offset());
      return result;
    }
    if (!json.IsObject()) {
      result.error = EnvelopeError::kInvalidEnvelope;
      result.detail = "body is not a JSON object";
      return result;
    }
    result.event = string_member(json, "event");
    result.event_id = string_member(json, "eventId");
    if (result.event.empty()) {
      result.error = EnvelopeError::kInvalidEnvelope;
      result.detail = "\"event\" must be a non-empty string";
      return result;
    }
    if (result.event_id.empty()) {
      result.error = EnvelopeError::kInvalidEnvelope;
      result.detail = "\"eventId\" must be a non-empty string";
      return result;
    }
    const auto data = json.FindMember("data");
    if (data == json.MemberEnd() || !data->value.IsObject()) {
      result.error = EnvelopeError::kInvalidEnvelope;
      result.detail = "\"data\" must be an object";
      return result;
    }
    envelope.event_ = result.event;
    envelope.event_id_ = result.event_id;
    result.envelope.emplace(std::move(envelope));
    return result;
  }
};

EnvelopeResult parse_envelope(std::string_view body, const EnvelopeLimits& limits) {
  return EnvelopeParser::parse(body, limits);
}

}  // namespace cmr_bridge
