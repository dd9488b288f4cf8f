#include "support/kafka_reader.h"

#include <librdkafka/rdkafka.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "kafka/topic_scan.h"

namespace cmr_bridge::test {
namespace {
struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

Handle make_consumer(const std::string& brokers) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  const std::pair<const char*, std::string> settings[] = {
      {"bootstrap.servers", brokers},
      {"group.id", "cmr-bridge-tests"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      {"log_level", "3"},
  };
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(errstr);
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr);
  }
  return Handle(rk);
}
}  // namespace

void create_topic(const std::string& brokers, const std::string& topic, int partitions,
                  const std::map<std::string, std::string>& configs) {
  Handle rk = make_consumer(brokers);
  char errstr[512];
  rd_kafka_NewTopic_t* spec =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, errstr, sizeof errstr);
  if (spec == nullptr)
    throw std::runtime_error(errstr);
  for (const auto& [name, value] : configs)
    rd_kafka_NewTopic_set_config(spec, name.c_str(), value.c_str());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_CreateTopics(rk.get(), &spec, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 15000);
  std::string failure;
  if (event == nullptr) {
    failure = "timed out creating " + topic;
  } else {
    std::size_t count = 0;
    const auto* result = rd_kafka_event_CreateTopics_result(event);
    const auto** topics = result ? rd_kafka_CreateTopics_result_topics(result, &count) : nullptr;
    if (count == 1) {
      const auto err = rd_kafka_topic_result_error(topics[0]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        failure = rd_kafka_err2str(err);
      }
    } else {
      failure = "no result creating " + topic;
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(spec);
  if (!failure.empty())
    throw std::runtime_error(failure);
}

std::string test_brokers() {
  const char* env = std::getenv("CMR_BRIDGE_TEST_KAFKA_BROKERS");
  return env != nullptr && *env != '\0' ? env : "127.0.0.1:9092";
}

bool broker_reachable(const std::string& brokers, std::chrono::milliseconds timeout) {
  Handle rk = make_consumer(brokers);
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err =
      rd_kafka_metadata(rk.get(), 0, nullptr, &metadata, static_cast<int>(timeout.count()));
  const bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR && metadata && metadata->broker_cnt > 0;
  if (metadata)
    rd_kafka_metadata_destroy(metadata);
  return ok;
}

void add_partitions(const std::string& brokers, const std::string& topic, int total) {
  Handle rk = make_consumer(brokers);
  char errstr[512];
  rd_kafka_NewPartitions_t* spec = rd_kafka_NewPartitions_new(
      topic.c_str(), static_cast<std::size_t>(total), errstr, sizeof errstr);
  if (spec == nullptr)
    throw std::runtime_error(errstr);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_CreatePartitions(rk.get(), &spec, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 15000);
  std::string failure = event == nullptr ? "timed out adding partitions to " + topic : "";
  if (event != nullptr) {
    std::size_t count = 0;
    const auto* result = rd_kafka_event_CreatePartitions_result(event);
    const auto** topics =
        result ? rd_kafka_CreatePartitions_result_topics(result, &count) : nullptr;
    if (count != 1)
      failure = "no result adding partitions to " + topic;
    else if (rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR)
      failure = rd_kafka_err2str(rd_kafka_topic_result_error(topics[0]));
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewPartitions_destroy(spec);
  if (!failure.empty())
    throw std::runtime_error(failure);
}

void produce_to_partition(const std::string& brokers, const std::string& topic, int32_t partition,
                          const std::string& key, const std::string& value) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr);
  }
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr), &rd_kafka_destroy);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr);
  }
  const auto err = rd_kafka_producev(
      rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(rd_kafka_err2str(err));
  if (rd_kafka_flush(rk.get(), 15000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("no ack producing to " + topic);
}

int partition_count(const std::string& brokers, const std::string& topic) {
  Handle rk = make_consumer(brokers);
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  int count = -1;
  if (rd_kafka_metadata(rk.get(), 0, handle, &metadata, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    count = metadata->topics[0].partition_cnt;
  }
  if (metadata)
    rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(handle);
  return count;
}

std::vector<ConsumedRecord> read_topic(const std::string& brokers, const std::string& topic,
                                       std::chrono::milliseconds timeout) {
  KafkaSettings kafka;
  kafka.brokers = brokers;
  kafka.client_id = "cmr-bridge-tests";
  ScanRange range;
  range.missing_topic_is_empty = true;
  std::vector<ConsumedRecord> records;
  const std::string error = scan_topic(
      kafka, topic, range,
      [&](const ScannedRecord& r) {
        records.push_back({topic, r.partition, r.offset, r.key, r.value, r.headers});
      },
      timeout);
  if (!error.empty())
    throw std::runtime_error(error);
  return records;
}

}  // namespace cmr_bridge::test
