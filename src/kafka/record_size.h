// The start-up rules that keep the largest accepted body publishable: a record the bridge writes
// for a body of CMR_BRIDGE_MAX_BODY_BYTES must fit the producer's message.max.bytes (raised to
// fit, or an operator's too-small value refused), and should fit every event and dead-letter
// topic's max.message.bytes (warned about when not). Pure functions; no Kafka calls.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "cmr_bridge/config.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

// Bytes a record may carry beyond its body: the CloudEvents attributes (or ce_* headers), the
// key, and the dead-letter headers (reason, detail, times). Attributes copied from data fields
// count too; an event whose copies exceed this is refused by Kafka and dead-lettered
// (publish_rejected), which the same rule keeps publishable.
inline constexpr std::size_t kRecordOverheadBytes = 16 * 1024;

// librdkafka's default message.max.bytes.
inline constexpr std::size_t kLibrdkafkaMessageMaxBytes = 1000000;

// CMR_BRIDGE_MAX_BODY_BYTES + kRecordOverheadBytes.
std::size_t largest_record_bytes(std::size_t max_body_bytes);

// The producer's message.max.bytes: nullopt to keep librdkafka's default (it fits), the raised
// value otherwise. An operator's CMR_BRIDGE_KAFKA_PROP_message.max.bytes below the largest record
// is an error naming both settings; one at or above it is kept (nullopt).
Result<std::optional<std::string>> producer_message_max_bytes(const KafkaSettings& kafka,
                                                              std::size_t max_body_bytes);

// A topic's max.message.bytes (as DescribeConfigs reports it) against the largest record: an
// error naming the topic, both settings, what happens to a record that does not fit and the fix
// when it is smaller or not a number. The bridge warns with it and still starts.
Status check_topic_fits_records(const std::string& topic, const std::string& max_message_bytes,
                                std::size_t max_body_bytes);

}  // namespace cmr_bridge
