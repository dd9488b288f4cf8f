#include "config/sources_config.h"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <set>

#include "core/source.h"
#include "core/source_profile.h"

namespace cmr_bridge {
namespace {

constexpr int64_t kMaxToleranceSeconds = 86400;
constexpr std::chrono::seconds kGithubMinimumDedupTtl{24 * 3600};

// Collects the problems of one source, each prefixed with the file and the source.
class Problems {
 public:
  Problems(const std::string& origin, std::vector<std::string>& errors)
      : origin_(origin), errors_(errors) {}
  void set_source(std::size_t index, const std::string& name) {
    prefix_ = origin_ + ": " + describe_source(index, name) + ": ";
  }
  void add(const std::string& field, const std::string& problem) {
    errors_.push_back(prefix_ + field + ": " + problem);
  }

 private:
  const std::string& origin_;
  std::vector<std::string>& errors_;
  std::string prefix_;
};

std::string text_of(const rapidjson::Value& value) {
  return std::string(value.GetString(), value.GetStringLength());
}

// Kafka's own rule for topic names.
bool valid_topic_name(const std::string& topic) {
  return !topic.empty() && topic.size() <= 249 && topic != "." && topic != ".." &&
         std::all_of(topic.begin(), topic.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
         });
}

bool valid_pointer(const std::string& pointer) {
  return !pointer.empty() && pointer.front() == '/' &&
         rapidjson::Pointer(pointer.c_str()).IsValid();
}

// A string member; absent → `fallback`. Wrong type → a problem, and nullopt.
std::optional<std::string> optional_string(const rapidjson::Value& object, const char* field,
                                           Problems& problems) {
  const auto it = object.FindMember(field);
  if (it == object.MemberEnd())
    return std::string();
  if (!it->value.IsString()) {
    problems.add(field, "must be a string");
    return std::nullopt;
  }
  return text_of(it->value);
}

// "header:<Name>" or a JSON pointer "/a/b".
std::optional<SourceField> parse_field_spec(const rapidjson::Value& object, const char* field,
                                            Problems& problems) {
  const auto text = optional_string(object, field, problems);
  if (!text || text->empty())
    return std::nullopt;
  constexpr std::string_view kHeader = "header:";
  if (text->rfind(kHeader, 0) == 0) {
    std::string name = text->substr(kHeader.size());
    const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    if (!token) {
      problems.add(field, "\"header:\" must be followed by a header name");
      return std::nullopt;
    }
    return SourceField{SourceField::From::kHeader, std::move(name)};
  }
  if (!valid_pointer(*text)) {
    problems.add(field,
                 "must be \"header:<Name>\" or a JSON pointer like \"/id\", got \"" + *text + "\"");
    return std::nullopt;
  }
  return SourceField{SourceField::From::kPointer, *text};
}

// A string or an array of strings: JSON pointers.
std::vector<std::string> parse_key_pointers(const rapidjson::Value& value, const std::string& field,
                                            Problems& problems) {
  std::vector<std::string> pointers;
  const auto add = [&](const rapidjson::Value& item) {
    if (!item.IsString() || !valid_pointer(text_of(item))) {
      problems.add(field, "must be a JSON pointer like \"/customer\" (or a list of them)");
      return;
    }
    pointers.push_back(text_of(item));
  };
  if (value.IsArray()) {
    for (const auto& item : value.GetArray())
      add(item);
  } else {
    add(value);
  }
  return pointers;
}

std::vector<SourceRoute> parse_source_routes(const rapidjson::Value& object, Problems& problems) {
  std::vector<SourceRoute> routes;
  const auto it = object.FindMember("routes");
  if (it == object.MemberEnd() || !it->value.IsArray() || it->value.Empty()) {
    problems.add("routes", "is required: a list of {\"match\": \"<event type>\", \"topic\": ...}");
    return routes;
  }
  std::size_t index = 0;
  for (const auto& item : it->value.GetArray()) {
    const std::string field = "routes[" + std::to_string(index++) + "]";
    if (!item.IsObject()) {
      problems.add(field, "must be an object");
      continue;
    }
    SourceRoute route;
    for (auto m = item.MemberBegin(); m != item.MemberEnd(); ++m) {
      const std::string name = text_of(m->name);
      const rapidjson::Value& value = m->value;
      if (name == "key") {
        route.key = parse_key_pointers(value, field + ".key", problems);
      } else if (name != "match" && name != "topic" && name != "schema") {
        problems.add(field, "unknown field \"" + name + "\" (match, topic, key, schema)");
      } else if (!value.IsString()) {
        problems.add(field + "." + name, "must be a string");
      } else {
        (name == "match"   ? route.match
         : name == "topic" ? route.topic
                           : route.schema) = text_of(value);
      }
    }
    if (route.match.empty())
      problems.add(field + ".match", "is required: an event type or a glob like \"invoice.*\"");
    if (!valid_topic_name(route.topic))
      problems.add(field + ".topic",
                   "is required: a Kafka topic name (letters, digits, '.', '_', '-'; up to 249)");
    routes.push_back(std::move(route));
  }
  return routes;
}

// Where each profile finds the event id, type and time unless the source says otherwise.
void apply_profile_defaults(VerificationProfile profile, SourceConfig& source) {
  const auto pointer = [](std::string where) {
    return SourceField{SourceField::From::kPointer, std::move(where)};
  };
  switch (profile) {
    case VerificationProfile::kStandardWebhooks:  // id and time: webhook-id, webhook-timestamp
      if (source.type.from == SourceField::From::kProfile)
        source.type = pointer("/type");
      break;
    case VerificationProfile::kStripe:  // time: the signature's t=
      if (source.id.from == SourceField::From::kProfile)
        source.id = pointer("/id");
      if (source.type.from == SourceField::From::kProfile)
        source.type = pointer("/type");
      break;
    case VerificationProfile::kGithub:  // X-GitHub-Delivery, X-GitHub-Event; no time
    case VerificationProfile::kCmr:
      break;
  }
}

SourceConfig parse_source(const rapidjson::Value& object, Problems& problems) {
  static const std::set<std::string> known = {
      "name", "profile", "keys_env", "keys_file", "cloudevents_source", "tolerance_s",
      "id",   "type",    "time",     "routes",    "schema_dir"};
  SourceConfig source;
  for (auto m = object.MemberBegin(); m != object.MemberEnd(); ++m) {
    const std::string name = text_of(m->name);
    if (!known.count(name))
      problems.add(name,
                   "unknown field (name, profile, keys_env, keys_file, cloudevents_source, "
                   "tolerance_s, id, type, time, routes, schema_dir)");
  }
  source.keys_env = optional_string(object, "keys_env", problems).value_or("");
  source.keys_file = optional_string(object, "keys_file", problems).value_or("");
  if (source.keys_env.empty() == source.keys_file.empty())
    problems.add("keys_env",
                 "exactly one of keys_env (a variable of comma-separated keys) and "
                 "keys_file (a file of them) is required");
  source.cloudevents_source = optional_string(object, "cloudevents_source", problems).value_or("");
  source.schema_dir = optional_string(object, "schema_dir", problems).value_or("");
  if (auto id = parse_field_spec(object, "id", problems))
    source.id = *id;
  if (auto type = parse_field_spec(object, "type", problems))
    source.type = *type;
  if (auto time = parse_field_spec(object, "time", problems))
    source.time = *time;
  source.routes = parse_source_routes(object, problems);

  const std::string profile_name = optional_string(object, "profile", problems).value_or("");
  const auto profile = parse_verification_profile(profile_name);
  if (!profile || *profile == VerificationProfile::kCmr) {
    problems.add("profile", profile ? "\"cmr\" is the built-in source at /webhooks/cmr; a "
                                      "declared source uses standard-webhooks, github or stripe"
                                    : "must be standard-webhooks, github or stripe, got \"" +
                                          profile_name + "\"");
    return source;
  }
  source.profile = profile_name;
  if (const auto it = object.FindMember("tolerance_s"); it != object.MemberEnd()) {
    if (*profile == VerificationProfile::kGithub) {
      problems.add("tolerance_s", "github requests carry no timestamp; leave it out");
    } else if (!it->value.IsInt64() || it->value.GetInt64() < 1 ||
               it->value.GetInt64() > kMaxToleranceSeconds) {
      problems.add("tolerance_s", "must be an integer from 1 to 86400 (seconds)");
    } else {
      source.tolerance = std::chrono::seconds(it->value.GetInt64());
    }
  }
  apply_profile_defaults(*profile, source);
  return source;
}

}  // namespace

std::string describe_source(std::size_t index, const std::string& name) {
  return "sources[" + std::to_string(index) + "]" + (name.empty() ? "" : " (" + name + ")");
}

void parse_sources(const rapidjson::Value& value, const std::string& origin,
                   std::vector<SourceConfig>& sources, std::vector<std::string>& errors) {
  if (!value.IsArray()) {
    errors.push_back(origin + ": sources: must be a list of sources (see docs/sources.md)");
    return;
  }
  Problems problems(origin, errors);
  std::set<std::string> names;
  std::size_t index = 0;
  for (const auto& item : value.GetArray()) {
    problems.set_source(index, "");
    if (!item.IsObject()) {
      problems.add("source", "must be an object");
      ++index;
      continue;
    }
    const auto name = item.FindMember("name");
    std::string source_name =
        name != item.MemberEnd() && name->value.IsString() ? text_of(name->value) : "";
    problems.set_source(index, source_name);
    if (!valid_source_name(source_name)) {
      problems.add("name",
                   "is required: 1 to 32 of a-z, 0-9 and '-' (served at "
                   "/webhooks/<name>)");
    } else if (source_name == "cmr") {
      problems.add("name", "\"cmr\" is the built-in CMR source");
    } else if (!names.insert(source_name).second) {
      problems.add("name", "is used by an earlier source");
    }
    SourceConfig source = parse_source(item, problems);
    source.name = std::move(source_name);
    if (source.cloudevents_source.empty())
      source.cloudevents_source = source.name;
    sources.push_back(std::move(source));
    ++index;
  }
}

void check_sources_against_settings(const Config& config, std::vector<std::string>& errors) {
  for (std::size_t i = 0; i < config.sources.size(); ++i) {
    const SourceConfig& source = config.sources[i];
    if (source.profile != to_string(VerificationProfile::kGithub))
      continue;
    const std::string where = describe_source(i, source.name) +
                              ": profile github (no timestamp: dedup is its only replay "
                              "defence) needs ";
    if (!config.dedup.enabled) {
      errors.push_back("CMR_BRIDGE_DEDUP: " + where + "dedup on");
    } else if (config.dedup.ttl < kGithubMinimumDedupTtl) {
      errors.push_back("CMR_BRIDGE_DEDUP_TTL_S: " + where + "at least 86400 (a day), got " +
                       std::to_string(config.dedup.ttl.count()));
    }
  }
}

}  // namespace cmr_bridge
