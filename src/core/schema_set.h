// JSON Schema (draft-04, RapidJSON's validator) for each event's `data`, compiled once at
// start. Immutable afterwards: validate() is safe from many threads (one validator per call).
#pragma once

#include <rapidjson/fwd.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmr_bridge/result.h"

namespace cmr_bridge {

struct SchemaSource {
  std::string name;    // the event name it validates, e.g. "domain.order.success"
  std::string origin;  // where it came from (a file path), for error messages
  std::string text;    // the schema JSON
};

class SchemaSet {
 public:
  // Fails, naming the source's origin, when a source is not a JSON object schema or uses a
  // keyword RapidJSON cannot validate safely from many threads.
  static Result<std::unique_ptr<SchemaSet>> compile(const std::vector<SchemaSource>& sources);
  ~SchemaSet();
  SchemaSet(const SchemaSet&) = delete;
  SchemaSet& operator=(const SchemaSet&) = delete;

  bool contains(std::string_view name) const;
  std::vector<std::string> names() const;
  // nullopt when `data` satisfies schema `name` (or no such schema); otherwise the first
  // violation as "<JSON pointer in data>: <keyword>", e.g. "/price: type".
  std::optional<std::string> validate(std::string_view name, const rapidjson::Value& data) const;

 private:
  struct Entry;
  SchemaSet();
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace cmr_bridge
