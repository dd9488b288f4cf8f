#include "core/json_writer.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace cmr_bridge {

struct JsonObjectWriter::Impl {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};
};

JsonObjectWriter::JsonObjectWriter() : impl_(std::make_unique<Impl>()) {
  impl_->writer.StartObject();
}
JsonObjectWriter::~JsonObjectWriter() = default;

JsonObjectWriter& JsonObjectWriter::field(std::string_view name, std::string_view value) {
  impl_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  impl_->writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  return *this;
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view name, int64_t value) {
  impl_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  impl_->writer.Int64(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view name, double value) {
  impl_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  impl_->writer.Double(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view name, bool value) {
  impl_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  impl_->writer.Bool(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::raw_field(std::string_view name, std::string_view json) {
  impl_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  impl_->writer.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}

std::string JsonObjectWriter::finish() {
  impl_->writer.EndObject();
  return std::string(impl_->buffer.GetString(), impl_->buffer.GetSize());
}

}  // namespace cmr_bridge
