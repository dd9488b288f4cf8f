// A webhook provider beside CMR, as the pipeline uses it: its verifier, where its event id,
// type and time come from, its routes and schemas (docs/sources.md). Built once at start
// (src/app) and immutable afterwards, so any thread may read it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cmr_bridge/config.h"
#include "core/routing.h"
#include "core/schema_set.h"
#include "core/source_profile.h"

namespace cmr_bridge {

// The built-in source's name: CMR at /webhooks and /webhooks/cmr.
inline constexpr std::string_view kCmrSourceName = "cmr";
inline constexpr std::size_t kMaxSourceNameLength = 32;

// A source's name: [a-z0-9-]{1,32} (it is a path segment, a metric label and a dedup namespace,
// so it never holds ':').
inline bool valid_source_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxSourceNameLength)
    return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
  }
  return true;
}

struct Source {
  std::string name;
  std::string cloudevents_source;
  VerificationProfile profile = VerificationProfile::kStandardWebhooks;
  std::unique_ptr<ProfileVerifier> verifier;
  SourceField id;
  SourceField type;
  SourceField time;
  RouteTable routes{{}};
  std::unique_ptr<SchemaSet> schemas;  // null: no schema folder
};

class SourceTable {
 public:
  SourceTable() = default;
  explicit SourceTable(std::vector<std::unique_ptr<Source>> sources)
      : sources_(std::move(sources)) {}
  // nullptr when no source has this name (CMR is not in the table).
  const Source* find(std::string_view name) const {
    for (const auto& source : sources_) {
      if (source->name == name)
        return source.get();
    }
    return nullptr;
  }
  const std::vector<std::unique_ptr<Source>>& sources() const { return sources_; }

 private:
  std::vector<std::unique_ptr<Source>> sources_;
};

// The id an event is deduplicated under, in memory and on the marker topic: CMR's eventId as
// it is (so markers written before sources existed still count), "<source>:<id>" for every
// other source, so two providers' ids never collide.
inline std::string dedup_id(std::string_view source, std::string_view event_id) {
  if (source.empty() || source == kCmrSourceName)
    return std::string(event_id);
  std::string id;
  id.reserve(source.size() + 1 + event_id.size());
  id.append(source).append(":").append(event_id);
  return id;
}

}  // namespace cmr_bridge
