// Reads whole topics from the real broker for assertions (librdkafka consumer, no group).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cmr_bridge::test {

struct ConsumedRecord {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
  int64_t timestamp_ms = -1;  // the record's timestamp (CreateTime: the producer's clock)
};

// Every record currently in `topic` (all partitions, beginning to high watermark). An
// absent topic yields nothing. Throws std::runtime_error when the broker cannot be reached.
std::vector<ConsumedRecord> read_topic(
    const std::string& brokers, const std::string& topic,
    std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Creates a topic (test setup). Throws std::runtime_error on failure other than "exists".
void create_topic(const std::string& brokers, const std::string& topic, int partitions,
                  const std::map<std::string, std::string>& configs = {});

// Grows `topic` to `total` partitions (test setup). Throws std::runtime_error on failure.
void add_partitions(const std::string& brokers, const std::string& topic, int total);
// Deletes `topic` and waits for the broker's answer.
void delete_topic(const std::string& brokers, const std::string& topic);

// Writes one record to the given partition and waits for its ack. Throws on failure.
// `producer_properties` go to the producer after bootstrap.servers (librdkafka's defaults else).
void produce_to_partition(const std::string& brokers, const std::string& topic, int32_t partition,
                          const std::string& key, const std::string& value,
                          const std::map<std::string, std::string>& producer_properties = {});

// The number of partitions of `topic`; -1 when it does not exist or the broker does not answer.
int partition_count(const std::string& brokers, const std::string& topic);

// The broker the Kafka tier runs against: $CMR_BRIDGE_TEST_KAFKA_BROKERS or 127.0.0.1:9092.
std::string test_brokers();
// True when a metadata request to `brokers` succeeds within `timeout`.
bool broker_reachable(const std::string& brokers, std::chrono::milliseconds timeout);

}  // namespace cmr_bridge::test
