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
  if (!whole_body_ && !document_->json.HasMember("data"))
    return std::nullopt;
  for (const auto& text : pointers) {
    const rapidjson::Pointer pointer(text.c_str(), text.size());
    if (!pointer.IsValid())
      continue;
    const rapidjson::Value* value = pointer.Get(data());
    if (value != nullptr && value->IsString() && value->GetStringLength() > 0) {
      return std::string(value->GetString(), value->GetStringLength());
    }
  }
  return std::nullopt;
}

const rapidjson::Value& Envelope::data() const {
  if (whole_body_)
    return document_->json;
  return document_->json.FindMember("data")->value;
}

OutcomeCode error_code(EnvelopeError error) {
  switch (error) {
    case EnvelopeError::kNone:
      return OutcomeCode::kNone;
    case EnvelopeError::kInvalidJson:
      return OutcomeCode::kInvalidJson;
    case EnvelopeError::kInvalidEnvelope:
      return OutcomeCode::kInvalidEnvelope;
  }
  return OutcomeCode::kInvalidJson;
}

namespace {

constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

// Forwards SAX events to the document while refusing nesting deeper than a limit, so that
// later recursive walks (writers, validators) can never exhaust the stack. Also notes where
// the top-level "data" object starts and ends in the input, so it can be forwarded verbatim.
// Relies on the iterative parser calling Start/EndObject while the stream is still on the
// '{' / '}' character.
template <typename Handler>
class DepthLimitingHandler {
 public:
  DepthLimitingHandler(Handler& inner, const rapidjson::MemoryStream& stream, std::size_t max_depth)
      : inner_(inner), stream_(stream), max_depth_(max_depth) {}
  bool exceeded() const { return exceeded_; }
  // A \\uDC00-\\uDFFF escape without its pair: RapidJSON 1.1 decodes it to bytes that are not
  // UTF-8 (ED B0..BF xx), which would put invalid text into records and keys.
  bool surrogate() const { return surrogate_; }
  // "event", "eventId" or "data" appeared twice at the top level: ambiguous, refused.
  bool duplicate_envelope_key() const { return duplicate_envelope_key_; }
  // [begin, end) byte offsets of the top-level "data" object, when it is one.
  std::size_t data_begin() const { return data_begin_; }
  std::size_t data_end() const { return data_end_; }

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
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return !lone_surrogate(s, n) && inner_.String(s, n, copy);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    if (lone_surrogate(s, n))
      return false;
    const std::string_view key(s, n);
    if (depth_ == 1) {
      last_top_level_key_is_data_ = key == "data";
      const unsigned bit = key == "event" ? 1u : key == "eventId" ? 2u : key == "data" ? 4u : 0u;
      if ((seen_envelope_keys_ & bit) != 0)
        duplicate_envelope_key_ = true;
      seen_envelope_keys_ |= bit;
    }
    return inner_.Key(s, n, copy);
  }
  bool StartObject() {
    if (!enter())
      return false;
    if (depth_ == 2 && last_top_level_key_is_data_)
      data_begin_ = stream_.Tell();
    return inner_.StartObject();
  }
  bool EndObject(rapidjson::SizeType n) {
    if (depth_ == 2 && last_top_level_key_is_data_)
      data_end_ = stream_.Tell() + 1;
    --depth_;
    return inner_.EndObject(n);
  }
  bool StartArray() { return enter() && inner_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return inner_.EndArray(n);
  }

 private:
  bool lone_surrogate(const char* s, rapidjson::SizeType n) {
    // The raw input is validated UTF-8, so such bytes can only come from an escape.
    for (rapidjson::SizeType i = 0; i + 1 < n; ++i) {
      if (static_cast<unsigned char>(s[i]) == 0xED &&
          static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
        surrogate_ = true;
        return true;
      }
    }
    return false;
  }
  bool enter() {
    if (++depth_ > max_depth_) {
      exceeded_ = true;
      return false;
    }
    return true;
  }
  Handler& inner_;
  const rapidjson::MemoryStream& stream_;
  std::size_t max_depth_;
  std::size_t depth_ = 0;
  bool exceeded_ = false;
  bool surrogate_ = false;
  bool last_top_level_key_is_data_ = false;
  unsigned seen_envelope_keys_ = 0;
  bool duplicate_envelope_key_ = false;
  std::size_t data_begin_ = 0;
  std::size_t data_end_ = 0;
};

std::string string_member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString())
    return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

struct EnvelopeParser {
  // `whole_body`: any JSON object (parse_json_object); otherwise the CMR envelope.
  static EnvelopeResult parse(std::string_view body, const EnvelopeLimits& limits,
                              bool whole_body) {
    EnvelopeResult result;
    Envelope envelope;
    auto& json = envelope.document_->json;

    rapidjson::ParseResult parse_result;
    bool too_deep = false;
    bool surrogate = false;
    std::size_t data_begin = 0;
    std::size_t data_end = 0;
    bool duplicate_key = false;
    auto generator = [&](rapidjson::Document& handler) {
      rapidjson::MemoryStream stream(body.data(), body.size());
      rapidjson::Reader reader;
      DepthLimitingHandler<rapidjson::Document> limited(handler, stream, limits.max_depth);
      parse_result = reader.Parse<kParseFlags>(stream, limited);
      too_deep = limited.exceeded();
      surrogate = limited.surrogate();
      data_begin = limited.data_begin();
      data_end = limited.data_end();
      duplicate_key = limited.duplicate_envelope_key();
      return static_cast<bool>(parse_result);
    };
    json.Populate(generator);
    if (!parse_result) {
      result.error = EnvelopeError::kInvalidJson;
      result.detail = too_deep    ? "JSON nesting deeper than " + std::to_string(limits.max_depth)
                      : surrogate ? std::string("lone UTF-16 surrogate escape (not valid Unicode)")
                                  : std::string(rapidjson::GetParseError_En(parse_result.Code())) +
                                        " at byte " + std::to_string(parse_result.Offset());
      return result;
    }
    if (!json.IsObject()) {
      result.error = EnvelopeError::kInvalidEnvelope;
      result.detail = "body is not a JSON object";
      return result;
    }
    if (whole_body) {
      envelope.whole_body_ = true;
      envelope.raw_data_ = body;
      result.envelope.emplace(std::move(envelope));
      return result;
    }
    if (duplicate_key) {
      result.error = EnvelopeError::kInvalidEnvelope;
      result.detail = "\"event\", \"eventId\" and \"data\" must each appear once";
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
    if (data_end <= data_begin || data_end > body.size()) {
      // Unreachable while the parser reports Start/EndObject on the brace; kept so a change
      // in RapidJSON can never forward the wrong bytes.
      result.error = EnvelopeError::kInvalidEnvelope;
      result.detail = "\"data\" could not be located in the body";
      return result;
    }
    envelope.event_ = result.event;
    envelope.event_id_ = result.event_id;
    envelope.raw_data_ = body.substr(data_begin, data_end - data_begin);
    result.envelope.emplace(std::move(envelope));
    return result;
  }
};

EnvelopeResult parse_envelope(std::string_view body, const EnvelopeLimits& limits) {
  return EnvelopeParser::parse(body, limits, false);
}

EnvelopeResult parse_json_object(std::string_view body, const EnvelopeLimits& limits) {
  return EnvelopeParser::parse(body, limits, true);
}

}  // namespace cmr_bridge
