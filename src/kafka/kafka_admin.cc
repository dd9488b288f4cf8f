#include "kafka/kafka_admin.h"

#include "kafka/kafka_client.h"
#include "kafka/rdkafka_handles.h"

namespace cmr_bridge {

struct KafkaAdmin::Impl {
  rdkafka::ClientPtr client;
};

namespace {

rdkafka::AdminOptionsPtr make_options(rd_kafka_t* client, rd_kafka_admin_op_t op,
                                      std::chrono::milliseconds timeout) {
  char errstr[512];
  rdkafka::AdminOptionsPtr options(rd_kafka_AdminOptions_new(client, op));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()),
                                            errstr, sizeof errstr);
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) {
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), static_cast<int>(timeout.count()),
                                                errstr, sizeof errstr);
  }
  return options;
}

// The admin result event on `queue`, waited for a second longer than the request timeout.
rdkafka::EventPtr await_result(rd_kafka_queue_t* queue, std::chrono::milliseconds timeout) {
  return rdkafka::EventPtr(rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 1000));
}

}  // namespace

KafkaAdmin::KafkaAdmin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaAdmin::~KafkaAdmin() = default;

Result<std::unique_ptr<KafkaAdmin>> KafkaAdmin::create(const KafkaSettings& kafka) {
  auto client = new_kafka_client(kafka, KafkaClientRole::kAdmin, {});
  if (!client)
    return client.error();
  auto impl = std::make_unique<Impl>();
  impl->client = std::move(client).value();
  return std::unique_ptr<KafkaAdmin>(new KafkaAdmin(std::move(impl)));
}

Status KafkaAdmin::create_missing_topics(const std::vector<TopicSpec>& topics,
                                         std::chrono::milliseconds timeout) {
  if (topics.empty())
    return ok_status();
  rd_kafka_t* client = impl_->client.get();
  char errstr[512];
  std::vector<rdkafka::NewTopicPtr> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const auto& spec : topics) {
    rdkafka::NewTopicPtr topic(rd_kafka_NewTopic_new(
        spec.name.c_str(), spec.partitions, spec.replication_factor, errstr, sizeof errstr));
    if (!topic)
      return Error("topic " + spec.name + ": " + errstr);
    for (const auto& [name, value] : spec.configs) {
      if (rd_kafka_NewTopic_set_config(topic.get(), name.c_str(), value.c_str()) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Error("topic " + spec.name + ": cannot set " + name);
      }
    }
    raw.push_back(topic.get());
    owned.push_back(std::move(topic));
  }
  const auto options = make_options(client, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
  const rdkafka::QueuePtr queue(rd_kafka_queue_new(client));
  rd_kafka_CreateTopics(client, raw.data(), raw.size(), options.get(), queue.get());

  const auto event = await_result(queue.get(), timeout);
  if (!event)
    return Error("timed out creating topics");
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error(std::string("creating topics: ") + rd_kafka_event_error_string(event.get()));
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  if (result == nullptr)
    return Error("unexpected admin result");
  std::size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      continue;
    }
    const char* message = rd_kafka_topic_result_error_string(results[i]);
    return Error(std::string("topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
                 (message ? message : rd_kafka_err2str(err)));
  }
  return ok_status();
}

Result<std::string> KafkaAdmin::topic_config(const std::string& topic, const std::string& name,
                                             std::chrono::milliseconds timeout) {
  rd_kafka_t* client = impl_->client.get();
  const rdkafka::ConfigResourcePtr resource(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  rd_kafka_ConfigResource_t* resources[] = {resource.get()};
  const auto options = make_options(client, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  const rdkafka::QueuePtr queue(rd_kafka_queue_new(client));
  rd_kafka_DescribeConfigs(client, resources, 1, options.get(), queue.get());
  const auto event = await_result(queue.get(), timeout);
  if (!event)
    return Error("timed out describing topic " + topic);
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Error("describing topic " + topic + ": " + rd_kafka_event_error_string(event.get()));
  const auto* result = rd_kafka_event_DescribeConfigs_result(event.get());
  std::size_t count = 0;
  const rd_kafka_ConfigResource_t** described =
      result ? rd_kafka_DescribeConfigs_result_resources(result, &count) : nullptr;
  if (count != 1 || rd_kafka_ConfigResource_error(described[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error("describing topic " + topic + ": " +
                 (count == 1 ? rd_kafka_ConfigResource_error_string(described[0]) : "no result"));
  }
  std::size_t entries = 0;
  const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(described[0], &entries);
  for (std::size_t i = 0; i < entries; ++i) {
    if (name == rd_kafka_ConfigEntry_name(configs[i])) {
      const char* value = rd_kafka_ConfigEntry_value(configs[i]);
      return std::string(value ? value : "");
    }
  }
  return Error("topic " + topic + " has no config " + name);
}

}  // namespace cmr_bridge
