#include "kafka/topic_scan.h"

#include <algorithm>
#include <thread>

#include "kafka/kafka_client.h"
#include "kafka/rdkafka_handles.h"

namespace cmr_bridge {
namespace {

constexpr auto kSettleRetry = std::chrono::milliseconds(100);

// Errors a partition reports while its leadership settles (a topic created moments ago, a
// leader moving): the query is repeated until `deadline`. Anything else is final.
bool leadership_settling(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
      return true;
    default:
      return false;
  }
}

rd_kafka_resp_err_t query_watermarks(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                                     int64_t& low, int64_t& high,
                                     std::chrono::steady_clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int left_ms = static_cast<int>(std::max<int64_t>(left.count(), 1));
    const auto err =
        rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high, left_ms);
    if (!leadership_settling(err) || std::chrono::steady_clock::now() + kSettleRetry >= deadline)
      return err;
    std::this_thread::sleep_for(kSettleRetry);
  }
}

}  // namespace

Status scan_topic(const KafkaSettings& kafka, const std::string& topic, const ScanRange& range,
                  const std::function<void(const ScannedRecord&)>& visit,
                  std::chrono::milliseconds timeout) {
  auto client = new_kafka_client(kafka, KafkaClientRole::kTopicScanner,
                                 {
                                     {"group.id", kafka.client_id + "-scan"},
                                     {"enable.auto.commit", "false"},
                                     {"enable.partition.eof", "true"},
                                 });
  if (!client)
    return client.error();
  rd_kafka_t* rk = client->get();
  const int timeout_ms = static_cast<int>(timeout.count());
  // The watermark queries share one bound; reading up to them has its own (below).
  const auto watermarks_deadline = std::chrono::steady_clock::now() + timeout;

  const auto partitions = rdkafka::partition_ids(rk, topic, timeout);
  if (!partitions)
    return partitions.error();
  if (partitions->empty()) {
    if (range.missing_topic_is_empty)
      return ok_status();
    return Error("topic " + topic + " does not exist");
  }

  const rdkafka::TopicPartitionListPtr assignment(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions->size())));
  std::map<int32_t, int64_t> end;  // exclusive end offset per partition
  for (int32_t partition : partitions.value()) {
    int64_t low = 0;
    int64_t high = 0;
    const auto werr = query_watermarks(rk, topic, partition, low, high, watermarks_deadline);
    if (werr != RD_KAFKA_RESP_ERR_NO_ERROR)
      return Error(std::string("watermarks: ") + rd_kafka_err2str(werr));
    int64_t start = std::max(low, range.from_offset.value_or(low));
    if (range.since) {
      // offsetsForTimes: the first offset whose timestamp is >= since.
      const rdkafka::TopicPartitionListPtr query(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(query.get(), topic.c_str(), partition)->offset =
          std::chrono::duration_cast<std::chrono::milliseconds>(range.since->time_since_epoch())
              .count();
      if (rd_kafka_offsets_for_times(rk, query.get(), timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const int64_t found = query->elems[0].offset;
        start = found < 0 ? high : std::max(start, found);
      }
    }
    if (start < high) {
      rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), partition)->offset = start;
      end[partition] = high;
    }
  }
  if (end.empty())
    return ok_status();
  rd_kafka_assign(rk, assignment.get());

  const int64_t until_ms =
      range.until
          ? std::chrono::duration_cast<std::chrono::milliseconds>(range.until->time_since_epoch())
                .count()
          : INT64_MAX;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!end.empty() && std::chrono::steady_clock::now() < deadline) {
    const rdkafka::MessagePtr polled(rd_kafka_consumer_poll(rk, 200));
    if (!polled)
      continue;
    const rd_kafka_message_t* message = polled.get();
    const auto it = end.find(message->partition);
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (it != end.end())
        end.erase(it);
    } else if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && it != end.end()) {
      if (message->offset < it->second) {
        ScannedRecord record;
        record.partition = message->partition;
        record.offset = message->offset;
        record.timestamp_ms = rd_kafka_message_timestamp(message, nullptr);
        if (message->key)
          record.key.assign(static_cast<const char*>(message->key), message->key_len);
        if (message->payload) {
          record.value.assign(static_cast<const char*>(message->payload), message->len);
        }
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* name = nullptr;
          const void* value = nullptr;
          size_t size = 0;
          for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                             RD_KAFKA_RESP_ERR_NO_ERROR;
               ++i) {
            record.headers[name] = value ? std::string(static_cast<const char*>(value), size) : "";
          }
        }
        if (record.timestamp_ms < until_ms)
          visit(record);
      }
      if (message->offset + 1 >= it->second)
        end.erase(it);
    }
  }
  if (!end.empty())
    return Error("timed out reading " + topic);
  return ok_status();
}

}  // namespace cmr_bridge
