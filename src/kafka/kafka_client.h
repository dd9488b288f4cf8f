// How every librdkafka client of the bridge is configured and created: one function builds the
// properties of a client for its role, and one creates the client from them, with the bridge's
// log routing installed. Internal to src/kafka (it exposes librdkafka types).
#pragma once

#include <string>

#include "cmr_bridge/config.h"
#include "cmr_bridge/result.h"
#include "kafka/rdkafka_handles.h"

namespace cmr_bridge {

// The librdkafka clients the bridge creates. Each has its own client.id suffix, so broker logs
// and quotas tell them apart.
enum class KafkaClientRole {
  kProducer,           // publishes events, dead letters and dedup markers (client.id as set)
  kDedupMarkerReader,  // consumer tailing the dedup marker topic ("-dedup")
  kTopicScanner,       // consumer reading a bounded range once, for redrive ("-scan")
  kAdmin,              // creates topics and describes their configs ("-admin")
};

// Whether the pass-through property `name` (CMR_BRIDGE_KAFKA_PROP_*) is given to a client of
// `role`. The one rule, taken from librdkafka's own property table (its C/P column): a property
// for producers and consumers alike ("*") goes to every client; a producer-only one ("P") only to
// the producer; a consumer-only one ("C") only to the two reading clients. A name librdkafka does
// not know goes to every client, so creating the first one fails naming it.
bool passes_through_to(const std::string& name, KafkaClientRole role);

// The properties of a client of `role`, in the order they are applied: bootstrap.servers and
// client.id; then `role_properties` (what the role needs, chosen by its owner); then every
// pass-through property that passes_through_to() the role, so an operator's setting wins.
rdkafka::Properties kafka_client_properties(const KafkaSettings& kafka, KafkaClientRole role,
                                            const rdkafka::Properties& role_properties);

// A configuration with kafka_client_properties() applied and librdkafka's log and error callbacks
// routed to the JSON logger. The error names the property librdkafka refused.
Result<rdkafka::ConfPtr> kafka_client_conf(const KafkaSettings& kafka, KafkaClientRole role,
                                           const rdkafka::Properties& role_properties);

// The error callback kafka_client_conf() installs: logs a fatal error (with librdkafka's original
// code and reason) at error level and transient ones at debug. For a client that installs its
// own error callback and still wants these lines.
void log_client_error(rd_kafka_t* client, int err, const char* reason);

// A client of `role` configured by kafka_client_conf(). The admin client is a producer that
// produces nothing (so it never joins a group); the readers are consumers.
Result<rdkafka::ClientPtr> new_kafka_client(const KafkaSettings& kafka, KafkaClientRole role,
                                            const rdkafka::Properties& role_properties);

}  // namespace cmr_bridge
