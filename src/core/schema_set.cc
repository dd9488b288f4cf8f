#include "core/schema_set.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

namespace cmr_bridge {
namespace {

// RapidJSON 1.1's regex engine keeps scratch state inside the compiled pattern, so two
// threads validating against one schema with "pattern" race (seen as an assertion failure
// and under TSan). Schemas are shared by every request thread, so the keyword is refused.
const char* find_unsafe_keyword(const rapidjson::Value& value) {
  if (value.IsObject()) {
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
      const std::string_view name(it->name.GetString(), it->name.GetStringLength());
      if (name == "pattern")
        return "pattern";
      if (name == "patternProperties")
        return "patternProperties";
      if (const char* found = find_unsafe_keyword(it->value))
        return found;
    }
  } else if (value.IsArray()) {
    for (const auto& item : value.GetArray()) {
      if (const char* found = find_unsafe_keyword(item))
        return found;
    }
  }
  return nullptr;
}

}  // namespace

struct SchemaSet::Entry {
  std::string name;
  rapidjson::Document source;  // kept alive for the compiled schema's lifetime
  std::unique_ptr<rapidjson::SchemaDocument> schema;
};

SchemaSet::SchemaSet() = default;
SchemaSet::~SchemaSet() = default;

Result<std::unique_ptr<SchemaSet>> SchemaSet::compile(const std::vector<SchemaSource>& sources) {
  std::unique_ptr<SchemaSet> set(new SchemaSet());
  for (const auto& source : sources) {
    auto entry = std::make_unique<Entry>();
    entry->name = source.name;
    entry->source.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
        source.text.data(), source.text.size());
    if (entry->source.HasParseError()) {
      return Error(source.origin + ": not valid JSON: " +
                   rapidjson::GetParseError_En(entry->source.GetParseError()) + " at byte " +
                   std::to_string(entry->source.GetErrorOffset()));
    }
    if (!entry->source.IsObject())
      return Error(source.origin + ": a schema must be a JSON object");
    if (const char* keyword = find_unsafe_keyword(entry->source)) {
      return Error(source.origin + ": \"" + keyword +
                   "\" is not supported (RapidJSON's regex is not safe to share between threads)");
    }
    entry->schema = std::make_unique<rapidjson::SchemaDocument>(entry->source);
    set->entries_.push_back(std::move(entry));
  }
  return set;
}

bool SchemaSet::contains(std::string_view name) const {
  for (const auto& entry : entries_) {
    if (entry->name == name)
      return true;
  }
  return false;
}

std::vector<std::string> SchemaSet::names() const {
  std::vector<std::string> out;
  for (const auto& entry : entries_)
    out.push_back(entry->name);
  return out;
}

std::optional<std::string> SchemaSet::validate(std::string_view name,
                                               const rapidjson::Value& data) const {
  for (const auto& entry : entries_) {
    if (entry->name != name)
      continue;
    rapidjson::SchemaValidator validator(*entry->schema);
    if (data.Accept(validator))
      return std::nullopt;
    rapidjson::StringBuffer where;
    validator.GetInvalidDocumentPointer().Stringify(where);
    const std::string pointer(where.GetString(), where.GetSize());
    return (pointer.empty() ? std::string("/") : pointer) + ": " +
           validator.GetInvalidSchemaKeyword();
  }
  return std::nullopt;
}

}  // namespace cmr_bridge
