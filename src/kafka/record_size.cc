#include "kafka/record_size.h"

#include <charconv>

namespace cmr_bridge {
namespace {

std::optional<std::size_t> parse_size(const std::string& text) {
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  return value;
}

std::string largest_record_text(std::size_t max_body_bytes) {
  return "CMR_BRIDGE_MAX_BODY_BYTES (" + std::to_string(max_body_bytes) + ") + " +
         std::to_string(kRecordOverheadBytes) +
         " bytes of record overhead = " + std::to_string(largest_record_bytes(max_body_bytes));
}

}  // namespace

std::size_t largest_record_bytes(std::size_t max_body_bytes) {
  return max_body_bytes + kRecordOverheadBytes;
}

Result<std::optional<std::string>> producer_message_max_bytes(const KafkaSettings& kafka,
                                                              std::size_t max_body_bytes) {
  const std::size_t largest = largest_record_bytes(max_body_bytes);
  for (const auto& [name, value] : kafka.extra_properties) {
    if (name != "message.max.bytes")
      continue;
    const auto set = parse_size(value);
    if (set && *set >= largest)
      return std::optional<std::string>();
    return Error("CMR_BRIDGE_KAFKA_PROP_message.max.bytes (" + value + ") is below " +
                 largest_record_text(max_body_bytes) +
                 ": raise it, leave it unset (the bridge then sets it), or lower "
                 "CMR_BRIDGE_MAX_BODY_BYTES");
  }
  if (largest <= kLibrdkafkaMessageMaxBytes)
    return std::optional<std::string>();
  return std::optional<std::string>(std::to_string(largest));
}

Status check_topic_fits_records(const std::string& topic, const std::string& max_message_bytes,
                                std::size_t max_body_bytes) {
  const auto limit = parse_size(max_message_bytes);
  if (limit && *limit >= largest_record_bytes(max_body_bytes))
    return ok_status();
  return Error("topic " + topic + " has max.message.bytes=" + max_message_bytes + ", below " +
               largest_record_text(max_body_bytes) +
               ": a record larger than the topic's limit is refused by the broker and "
               "dead-lettered or quarantined; raise the topic's max.message.bytes (the bridge "
               "sets it on the topics it creates) or lower CMR_BRIDGE_MAX_BODY_BYTES");
}

}  // namespace cmr_bridge
