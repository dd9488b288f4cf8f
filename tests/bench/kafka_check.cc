#include "kafka_check.h"

#include <stdexcept>
#include <string_view>

#include "kafka/rdkafka_handles.h"

namespace cmr_bench {
namespace rdkafka = cmr_bridge::rdkafka;
namespace {

// The value of `result`, or std::runtime_error with its message.
template <typename T>
T value_or_throw(cmr_bridge::Result<T> result) {
  if (!result)
    throw std::runtime_error(result.error().message());
  return std::move(result).value();
}

rdkafka::ClientPtr make_client(const std::string& brokers, rd_kafka_type_t type) {
  rdkafka::Properties properties = {
      {"bootstrap.servers", brokers},
      {"log_level", "3"},
  };
  if (type == RD_KAFKA_CONSUMER) {
    properties.insert(properties.end(), {{"group.id", "cmr-bridge-bench"},
                                         {"enable.auto.commit", "false"},
                                         {"enable.partition.eof", "true"},
                                         {"fetch.max.bytes", "52428800"}});
  }
  return value_or_throw(rdkafka::new_client(type, value_or_throw(rdkafka::new_conf(properties))));
}

// Runs one admin operation and waits for its result event.
template <typename Run>
std::string admin_call(const std::string& brokers, std::chrono::milliseconds timeout,
                       rd_kafka_event_type_t expected, Run run) {
  const auto client = make_client(brokers, RD_KAFKA_PRODUCER);
  const rdkafka::QueuePtr queue(rd_kafka_queue_new(client.get()));
  const rdkafka::AdminOptionsPtr options(
      rd_kafka_AdminOptions_new(client.get(), RD_KAFKA_ADMIN_OP_ANY));
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()),
                                            errstr, sizeof errstr);
  run(client.get(), options.get(), queue.get());
  const rdkafka::EventPtr event(
      rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 1000));
  if (!event)
    return "no answer from the broker";
  if (rd_kafka_event_type(event.get()) != expected)
    return "unexpected admin event";
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return rd_kafka_event_error_string(event.get());
  const rd_kafka_topic_result_t** results = nullptr;
  size_t count = 0;
  if (expected == RD_KAFKA_EVENT_CREATETOPICS_RESULT) {
    results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()),
                                                  &count);
  } else {
    results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event.get()),
                                                  &count);
  }
  std::string error;
  for (size_t i = 0; i < count; ++i) {
    const auto err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS ||
        err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
      continue;
    error += std::string(error.empty() ? "" : "; ") + rd_kafka_topic_result_name(results[i]) +
             ": " + rd_kafka_err2str(err);
  }
  return error;
}

// The eventId of a bridge record, whatever the record format: the cmr-event-id header
// (plain records, dead letters), ce_id (binary CloudEvents), or the "id" attribute of a
// structured CloudEvent, which precedes "data" in the value.
std::string event_id_of(const rd_kafka_message_t* message) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (const char* name : {"cmr-event-id", "ce_id"}) {
      const void* value = nullptr;
      size_t size = 0;
      if (rd_kafka_header_get_last(headers, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          value != nullptr)
        return std::string(static_cast<const char*>(value), size);
    }
  }
  if (message->payload == nullptr)
    return {};
  const std::string_view text(static_cast<const char*>(message->payload), message->len);
  const auto data = text.find("\"data\":");
  const auto id = text.substr(0, data).find("\"id\":\"");
  if (!text.starts_with('{') || id == std::string_view::npos)
    return {};
  const auto begin = id + 6;
  const auto end = text.find('"', begin);
  return end == std::string_view::npos ? std::string()
                                       : std::string(text.substr(begin, end - begin));
}

}  // namespace

PartitionOffsets high_watermarks(const std::string& brokers, const std::vector<std::string>& topics,
                                 std::chrono::milliseconds timeout) {
  const auto rk = make_client(brokers, RD_KAFKA_CONSUMER);
  const int timeout_ms = static_cast<int>(timeout.count());
  PartitionOffsets offsets;
  for (const auto& topic : topics) {
    for (int32_t partition : value_or_throw(rdkafka::partition_ids(rk.get(), topic, timeout))) {
      int64_t low = 0;
      int64_t high = 0;
      const auto err = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), partition, &low,
                                                        &high, timeout_ms);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error("watermarks for " + topic + ": " + rd_kafka_err2str(err));
      offsets[{topic, partition}] = high;
    }
  }
  return offsets;
}

ConsumerCheck check_event_ids(const std::string& brokers, const PartitionOffsets& from,
                              const PartitionOffsets& to,
                              const std::unordered_set<std::string>& accepted,
                              std::chrono::milliseconds timeout) {
  ConsumerCheck check;
  check.expected = accepted.size();
  std::unordered_set<std::string> seen;
  seen.reserve(accepted.size() * 2 + 16);
  try {
    const auto rk = make_client(brokers, RD_KAFKA_CONSUMER);
    const rdkafka::TopicPartitionListPtr assignment(rd_kafka_topic_partition_list_new(16));
    std::map<std::pair<std::string, int32_t>, int64_t> end;  // partitions still to finish
    for (const auto& [tp, high] : to) {
      const auto it = from.find(tp);
      const int64_t start = it == from.end() ? 0 : it->second;
      if (high <= start)
        continue;
      rd_kafka_topic_partition_list_add(assignment.get(), tp.first.c_str(), tp.second)->offset =
          start;
      end[tp] = high;
    }
    if (!end.empty())
      rd_kafka_assign(rk.get(), assignment.get());

    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!end.empty() && std::chrono::steady_clock::now() < until) {
      const rdkafka::MessagePtr polled(rd_kafka_consumer_poll(rk.get(), 200));
      if (!polled)
        continue;
      const rd_kafka_message_t* message = polled.get();
      const std::pair<std::string, int32_t> tp{
          message->rkt ? rd_kafka_topic_name(message->rkt) : "", message->partition};
      const auto it = end.find(tp);
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (it != end.end() && message->offset >= it->second)
          end.erase(it);
      } else if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        check.error = rd_kafka_message_errstr(message);
      } else if (it != end.end() && message->offset < it->second) {
        ++check.records;
        std::string id = event_id_of(message);
        if (id.empty()) {
          ++check.without_id;
        } else {
          if (!accepted.contains(id))
            ++check.unexpected;
          seen.insert(std::move(id));
        }
        if (message->offset + 1 >= it->second)
          end.erase(it);
      }
    }
    if (!end.empty() && check.error.empty())
      check.error = "timed out reading " + std::to_string(end.size()) + " partition(s)";
  } catch (const std::exception& e) {
    check.error = e.what();
  }
  check.distinct_ids = seen.size();
  for (const auto& id : accepted) {
    if (!seen.contains(id)) {
      ++check.missing;
      if (check.sample.size() < 5)
        check.sample.push_back(id);
    }
  }
  return check;
}

std::string create_topics(const std::string& brokers, const std::vector<std::string>& topics,
                          int partitions, std::chrono::milliseconds timeout) {
  try {
    return admin_call(
        brokers, timeout, RD_KAFKA_EVENT_CREATETOPICS_RESULT,
        [&](rd_kafka_t* rk, rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
          std::vector<rdkafka::NewTopicPtr> owned;
          std::vector<rd_kafka_NewTopic_t*> list;
          char errstr[256];
          for (const auto& topic : topics) {
            owned.emplace_back(
                rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, errstr, sizeof errstr));
            list.push_back(owned.back().get());
          }
          rd_kafka_CreateTopics(rk, list.data(), list.size(), options, queue);
        });
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string delete_topics(const std::string& brokers, const std::vector<std::string>& topics,
                          const std::string& required_prefix, std::chrono::milliseconds timeout) {
  for (const auto& topic : topics) {
    if (required_prefix.empty() || !topic.starts_with(required_prefix))
      return "refusing to delete " + topic + " (not a benchmark topic)";
  }
  if (topics.empty())
    return "";
  try {
    return admin_call(
        brokers, timeout, RD_KAFKA_EVENT_DELETETOPICS_RESULT,
        [&](rd_kafka_t* rk, rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
          std::vector<rdkafka::DeleteTopicPtr> owned;
          std::vector<rd_kafka_DeleteTopic_t*> list;
          for (const auto& topic : topics) {
            owned.emplace_back(rd_kafka_DeleteTopic_new(topic.c_str()));
            list.push_back(owned.back().get());
          }
          rd_kafka_DeleteTopics(rk, list.data(), list.size(), options, queue);
        });
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::vector<std::string> list_topics(const std::string& brokers, const std::string& prefix,
                                     std::chrono::milliseconds timeout) {
  const auto rk = make_client(brokers, RD_KAFKA_PRODUCER);
  const rd_kafka_metadata_t* answer = nullptr;
  const auto err =
      rd_kafka_metadata(rk.get(), 1, nullptr, &answer, static_cast<int>(timeout.count()));
  const rdkafka::MetadataPtr metadata(answer);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(std::string("metadata: ") + rd_kafka_err2str(err));
  std::vector<std::string> names;
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const std::string name = metadata->topics[i].topic;
    if (name.starts_with(prefix))
      names.push_back(name);
  }
  return names;
}

}  // namespace cmr_bench
