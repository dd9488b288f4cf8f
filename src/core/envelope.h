// Parsing the CMR envelope {"event", "eventId", "data"} from the verified raw body.
#pragma once

#include <rapidjson/fwd.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmr_bridge/codes.h"

namespace cmr_bridge {

enum class EnvelopeError {
  kNone,
  kInvalidJson,      // not JSON, invalid UTF-8, too deep, trailing garbage
  kInvalidEnvelope,  // JSON, but not an object with non-empty string event/eventId and object data
};
OutcomeCode error_code(EnvelopeError error);  // kInvalidJson, kInvalidEnvelope; kNone for kNone

struct EnvelopeLimits {
  std::size_t max_depth = 64;
};

class Envelope {
 public:
  ~Envelope();
  Envelope(Envelope&&) noexcept;
  Envelope& operator=(Envelope&&) noexcept;

  const std::string& event() const { return event_; }
  const std::string& event_id() const { return event_id_; }
  // First non-empty string found at one of `pointers` (JSON pointers relative to `data`).
  // (`data` is the whole body for parse_json_object.)
  std::optional<std::string> first_string(const std::vector<std::string>& pointers) const;
  // The `data` object, parsed.
  const rapidjson::Value& data() const;
  // The `data` object's bytes exactly as the sender wrote them: a view into the body given to
  // parse_envelope(), which must outlive this Envelope.
  std::string_view raw_data() const { return raw_data_; }

 private:
  friend struct EnvelopeParser;
  struct Document;
  Envelope();
  std::unique_ptr<Document> document_;
  std::string event_;
  std::string event_id_;
  std::string_view raw_data_;
  bool whole_body_ = false;  // parse_json_object: data() is the whole body
};

struct EnvelopeResult {
  EnvelopeError error = EnvelopeError::kNone;
  std::string detail;  // which rule failed; never quotes the body
  std::optional<Envelope> envelope;
  // Best-effort identity for dead-letter headers when the envelope is invalid.
  std::string event;
  std::string event_id;
};

// Parses iteratively (no recursion, so depth cannot exhaust the stack) with UTF-8 validation.
EnvelopeResult parse_envelope(std::string_view body, const EnvelopeLimits& limits = {});

// The body of another provider (docs/sources.md): any JSON object, parsed by the same rules
// (depth limit, UTF-8, no lone surrogates). event() and event_id() stay empty; data() is the
// whole object and raw_data() the whole body.
EnvelopeResult parse_json_object(std::string_view body, const EnvelopeLimits& limits = {});

}  // namespace cmr_bridge
