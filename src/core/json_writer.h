// A small JSON object builder for responses and log lines (RapidJSON underneath, so strings
// are always escaped correctly, whatever bytes they hold).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cmr_bridge {

class JsonObjectWriter {
 public:
  JsonObjectWriter();
  ~JsonObjectWriter();
  JsonObjectWriter(const JsonObjectWriter&) = delete;
  JsonObjectWriter& operator=(const JsonObjectWriter&) = delete;

  JsonObjectWriter& field(std::string_view name, std::string_view value);
  JsonObjectWriter& field(std::string_view name, const char* value) {
    return field(name, std::string_view(value));
  }
  JsonObjectWriter& field(std::string_view name, int64_t value);
  JsonObjectWriter& field(std::string_view name, int value) {
    return field(name, static_cast<int64_t>(value));
  }
  JsonObjectWriter& field(std::string_view name, double value);
  JsonObjectWriter& field(std::string_view name, bool value);
  // Inserts `json` verbatim; the caller guarantees it is valid JSON.
  JsonObjectWriter& raw_field(std::string_view name, std::string_view json);
  // Closes the object; the writer must not be used afterwards.
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cmr_bridge
