#include "support/kafka_reader.h"

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "kafka/kafka_admin.h"
#include "kafka/rdkafka_handles.h"
#include "kafka/topic_scan.h"

namespace cmr_bridge::test {
namespace {

// The value of `result`, or std::runtime_error with its message.
template <typename T>
T value_or_throw(Result<T> result) {
  if (!result)
    throw std::runtime_error(result.error().message());
  return std::move(result).value();
}

rdkafka::ClientPtr make_client(const std::string& brokers, rd_kafka_type_t type) {
  rdkafka::Properties properties = {{"bootstrap.servers", brokers}, {"log_level", "3"}};
  if (type == RD_KAFKA_CONSUMER) {
    properties.insert(properties.end(), {{"group.id", "cmr-bridge-tests"},
                                         {"enable.auto.commit", "false"},
                                         {"enable.partition.eof", "true"}});
  }
  return value_or_throw(rdkafka::new_client(type, value_or_throw(rdkafka::new_conf(properties))));
}

}  // namespace

void create_topic(const std::string& brokers, const std::string& topic, int partitions,
                  const std::map<std::string, std::string>& configs) {
  KafkaSettings kafka;
  kafka.brokers = brokers;
  kafka.client_id = "cmr-bridge-tests";
  const auto admin = value_or_throw(KafkaAdmin::create(kafka));
  const TopicSpec spec{topic, partitions, 1, {configs.begin(), configs.end()}};
  const Status created = admin->create_missing_topics({spec}, std::chrono::seconds(14));
  if (!created)
    throw std::runtime_error(created.error().message());
}

std::string test_brokers() {
  const char* env = std::getenv("CMR_BRIDGE_TEST_KAFKA_BROKERS");
  return env != nullptr && *env != '\0' ? env : "127.0.0.1:9092";
}

bool broker_reachable(const std::string& brokers, std::chrono::milliseconds timeout) {
  const auto client = make_client(brokers, RD_KAFKA_CONSUMER);
  const rd_kafka_metadata_t* answer = nullptr;
  const auto err =
      rd_kafka_metadata(client.get(), 0, nullptr, &answer, static_cast<int>(timeout.count()));
  const rdkafka::MetadataPtr metadata(answer);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR && metadata && metadata->broker_cnt > 0;
}

void add_partitions(const std::string& brokers, const std::string& topic, int total) {
  const auto client = make_client(brokers, RD_KAFKA_CONSUMER);
  char errstr[512];
  rdkafka::NewPartitionsPtr spec(rd_kafka_NewPartitions_new(
      topic.c_str(), static_cast<std::size_t>(total), errstr, sizeof errstr));
  if (!spec)
    throw std::runtime_error(errstr);
  const rdkafka::QueuePtr queue(rd_kafka_queue_new(client.get()));
  rd_kafka_NewPartitions_t* specs[] = {spec.get()};
  rd_kafka_CreatePartitions(client.get(), specs, 1, nullptr, queue.get());
  const rdkafka::EventPtr event(rd_kafka_queue_poll(queue.get(), 15000));
  if (!event)
    throw std::runtime_error("timed out adding partitions to " + topic);
  std::size_t count = 0;
  const auto* result = rd_kafka_event_CreatePartitions_result(event.get());
  const auto** topics = result ? rd_kafka_CreatePartitions_result_topics(result, &count) : nullptr;
  if (count != 1)
    throw std::runtime_error("no result adding partitions to " + topic);
  if (rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(rd_kafka_err2str(rd_kafka_topic_result_error(topics[0])));
}

void produce_to_partition(const std::string& brokers, const std::string& topic, int32_t partition,
                          const std::string& key, const std::string& value,
                          const std::map<std::string, std::string>& producer_properties) {
  // flush() returning NO_ERROR only means the queue is empty: the delivery report says whether
  // the record was written. A partition created a moment ago may be unknown to this client's
  // first metadata answer (the record then fails with UNKNOWN_PARTITION): try again, bounded.
  rdkafka::Properties properties = {{"bootstrap.servers", brokers}, {"log_level", "3"}};
  properties.insert(properties.end(), producer_properties.begin(), producer_properties.end());
  auto conf = value_or_throw(rdkafka::new_conf(properties));
  rd_kafka_resp_err_t delivery = RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
  rd_kafka_conf_set_opaque(conf.get(), &delivery);
  rd_kafka_conf_set_dr_msg_cb(conf.get(),
                              [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
                                *static_cast<rd_kafka_resp_err_t*>(opaque) = m->err;
                              });
  const auto client = value_or_throw(rdkafka::new_client(RD_KAFKA_PRODUCER, std::move(conf)));
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (attempt > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    // A metadata request for the topic refreshes the client's view of its partitions.
    const auto known = rdkafka::partition_ids(client.get(), topic, std::chrono::seconds(5));
    if (!known || known->size() <= static_cast<std::size_t>(partition))
      continue;
    delivery = RD_KAFKA_RESP_ERR_NO_ERROR;
    const auto err = rd_kafka_producev(
        client.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      delivery = err;
    } else if (rd_kafka_flush(client.get(), 15000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error("no delivery report producing to " + topic);
    }
    if (delivery == RD_KAFKA_RESP_ERR_NO_ERROR)
      return;
    if (delivery != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
      break;
  }
  throw std::runtime_error("producing to " + topic + " partition " + std::to_string(partition) +
                           ": " + rd_kafka_err2str(delivery));
}

void delete_topic(const std::string& brokers, const std::string& topic) {
  const auto client = make_client(brokers, RD_KAFKA_CONSUMER);
  rdkafka::DeleteTopicPtr spec(rd_kafka_DeleteTopic_new(topic.c_str()));
  const rdkafka::QueuePtr queue(rd_kafka_queue_new(client.get()));
  rd_kafka_DeleteTopic_t* specs[] = {spec.get()};
  rd_kafka_DeleteTopics(client.get(), specs, 1, nullptr, queue.get());
  const rdkafka::EventPtr event(rd_kafka_queue_poll(queue.get(), 15000));
  if (!event)
    throw std::runtime_error("timed out deleting " + topic);
  std::size_t count = 0;
  const auto* result = rd_kafka_event_DeleteTopics_result(event.get());
  const auto** topics = result ? rd_kafka_DeleteTopics_result_topics(result, &count) : nullptr;
  if (count != 1)
    throw std::runtime_error("no result deleting " + topic);
  if (rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(rd_kafka_err2str(rd_kafka_topic_result_error(topics[0])));
  // The answer means the controller committed the deletion; the broker applies it a moment
  // later and accepts produces to the topic until then. Return only once the broker's metadata
  // no longer has the topic, so a test's next produce is refused for certain.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (partition_count(brokers, topic) != -1) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the broker still lists " + topic + " 15 s after deleting it");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int partition_count(const std::string& brokers, const std::string& topic) {
  const auto client = make_client(brokers, RD_KAFKA_CONSUMER);
  const auto ids = rdkafka::partition_ids(client.get(), topic, std::chrono::seconds(10));
  return ids && !ids->empty() ? static_cast<int>(ids->size()) : -1;
}

std::vector<ConsumedRecord> read_topic(const std::string& brokers, const std::string& topic,
                                       std::chrono::milliseconds timeout) {
  KafkaSettings kafka;
  kafka.brokers = brokers;
  kafka.client_id = "cmr-bridge-tests";
  ScanRange range;
  range.missing_topic_is_empty = true;
  std::vector<ConsumedRecord> records;
  const Status scanned = scan_topic(
      kafka, topic, range,
      [&](const ScannedRecord& r) {
        records.push_back(
            {topic, r.partition, r.offset, r.key, r.value, r.headers, r.timestamp_ms});
      },
      timeout);
  if (!scanned)
    throw std::runtime_error(scanned.error().message());
  return records;
}

}  // namespace cmr_bridge::test
