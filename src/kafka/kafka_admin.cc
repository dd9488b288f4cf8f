#include "kafka/kafka_admin.h"

#include <librdkafka/rdkafka.h>

#include <memory>

namespace cmr_bridge {
namespace {
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* t) const { rd_kafka_NewTopic_destroy(t); }
};
struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct ConfigResourceDeleter {
  void operator()(rd_kafka_ConfigResource_t* r) const { rd_kafka_ConfigResource_destroy(r); }
};
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using OptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;

OptionsPtr make_options(rd_kafka_t* handle, rd_kafka_admin_op_t op,
                        std::chrono::milliseconds timeout) {
  char errstr[512];
  OptionsPtr options(rd_kafka_AdminOptions_new(handle, op));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()),
                                            errstr, sizeof errstr);
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) {
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), static_cast<int>(timeout.count()),
                                                errstr, sizeof errstr);
  }
  return options;
}
}  // namespace

std::string create_missing_topics(rd_kafka_s* handle, const std::vector<TopicSpec>& topics,
                                  std::chrono::milliseconds timeout) {
  if (topics.empty())
    return {};
  char errstr[512];
  std::vector<std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter>> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const auto& spec : topics) {
    std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter> topic(rd_kafka_NewTopic_new(
        spec.name.c_str(), spec.partitions, spec.replication_factor, errstr, sizeof errstr));
    if (!topic)
      return "topic " + spec.name + ": " + errstr;
    for (const auto& [name, value] : spec.configs) {
      if (rd_kafka_NewTopic_set_config(topic.get(), name.c_str(), value.c_str()) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        return "topic " + spec.name + ": cannot set " + name;
      }
    }
    raw.push_back(topic.get());
    owned.push_back(std::move(topic));
  }
  const auto options = make_options(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
  QueuePtr queue(rd_kafka_queue_new(handle));
  rd_kafka_CreateTopics(handle, raw.data(), raw.size(), options.get(), queue.get());

  EventPtr event(rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 1000));
  if (!event)
    return "timed out creating topics";
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::string("creating topics: ") + rd_kafka_event_error_string(event.get());
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  if (result == nullptr)
    return "unexpected admin result";
  std::size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      continue;
    }
    const char* message = rd_kafka_topic_result_error_string(results[i]);
    return std::string("topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
           (message ? message : rd_kafka_err2str(err));
  }
  return {};
}

std::optional<std::string> describe_topic_config(rd_kafka_s* handle, const std::string& topic,
                                                 const std::string& name,
                                                 std::chrono::milliseconds timeout,
                                                 std::string* error) {
  std::unique_ptr<rd_kafka_ConfigResource_t, ConfigResourceDeleter> resource(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  rd_kafka_ConfigResource_t* resources[] = {resource.get()};
  const auto options = make_options(handle, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  QueuePtr queue(rd_kafka_queue_new(handle));
  rd_kafka_DescribeConfigs(handle, resources, 1, options.get(), queue.get());
  EventPtr event(rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 1000));
  if (!event) {
    *error = "timed out describing topic " + topic;
    return std::nullopt;
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *error = "describing topic " + topic + ": " + rd_kafka_event_error_string(event.get());
    return std::nullopt;
  }
  const auto* result = rd_kafka_event_DescribeConfigs_result(event.get());
  std::size_t count = 0;
  const rd_kafka_ConfigResource_t** described =
      result ? rd_kafka_DescribeConfigs_result_resources(result, &count) : nullptr;
  if (count != 1 || rd_kafka_ConfigResource_error(described[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *error = "describing topic " + topic + ": " +
             (count == 1 ? rd_kafka_ConfigResource_error_string(described[0]) : "no result");
    return std::nullopt;
  }
  std::size_t entries = 0;
  const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(described[0], &entries);
  for (std::size_t i = 0; i < entries; ++i) {
    if (name == rd_kafka_ConfigEntry_name(configs[i])) {
      const char* value = rd_kafka_ConfigEntry_value(configs[i]);
      return std::string(value ? value : "");
    }
  }
  *error = "topic " + topic + " has no config " + name;
  return std::nullopt;
}

}  // namespace cmr_bridge
