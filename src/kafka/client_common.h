// What every librdkafka client of the bridge shares: properties and log routing.
#pragma once

#include <string>
#include <utility>
#include <vector>

struct rd_kafka_conf_s;

namespace cmr_bridge {

// Applies `properties` in order; on failure returns "Kafka property <name>: <reason>".
std::string apply_kafka_properties(
    rd_kafka_conf_s* conf, const std::vector<std::pair<std::string, std::string>>& properties);

// Routes librdkafka's log and error callbacks to the JSON logger.
void install_kafka_log_callbacks(rd_kafka_conf_s* conf);

}  // namespace cmr_bridge
