#include "kafka/topic_scan.h"

#include <librdkafka/rdkafka.h>

#include <memory>

#include "kafka/client_common.h"

namespace cmr_bridge {
namespace {
struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};
struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;
}  // namespace

std::string scan_topic(const KafkaSettings& kafka, const std::string& topic, const ScanRange& range,
                       const std::function<void(const ScannedRecord&)>& visit,
                       std::chrono::milliseconds timeout) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> properties = {
      {"bootstrap.servers", kafka.brokers},    {"client.id", kafka.client_id + "-scan"},
      {"group.id", kafka.client_id + "-scan"}, {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
  };
  for (const auto& extra : kafka.extra_properties) {
    if (extra.first.rfind("ssl.", 0) == 0 || extra.first.rfind("sasl.", 0) == 0 ||
        extra.first == "security.protocol") {
      properties.push_back(extra);
    }
  }
  if (std::string failed = apply_kafka_properties(conf, properties); !failed.empty()) {
    rd_kafka_conf_destroy(conf);
    return failed;
  }
  install_kafka_log_callbacks(conf);
  char errstr[512];
  std::unique_ptr<rd_kafka_t, HandleDeleter> rk(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return errstr;
  }
  const int timeout_ms = static_cast<int>(timeout.count());

  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err = rd_kafka_metadata(rk.get(), 0, handle, &metadata, timeout_ms);
  rd_kafka_topic_destroy(handle);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return "metadata for " + topic + ": " + rd_kafka_err2str(err);
  std::vector<int32_t> partitions;
  const bool exists =
      metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (exists) {
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
      partitions.push_back(metadata->topics[0].partitions[i].id);
    }
  }
  rd_kafka_metadata_destroy(metadata);
  if (!exists)
    return "topic " + topic + " does not exist";

  ListPtr assignment(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  std::map<int32_t, int64_t> end;  // exclusive end offset per partition
  for (int32_t partition : partitions) {
    int64_t low = 0;
    int64_t high = 0;
    const auto werr = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), partition, &low,
                                                       &high, timeout_ms);
    if (werr != RD_KAFKA_RESP_ERR_NO_ERROR)
      return std::string("watermarks: ") + rd_kafka_err2str(werr);
    int64_t start = std::max(low, range.from_offset.value_or(low));
    if (range.since) {
      // offsetsForTimes: the first offset whose timestamp is >= since.
      ListPtr query(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(query.get(), topic.c_str(), partition)->offset =
          std::chrono::duration_cast<std::chrono::milliseconds>(range.since->time_since_epoch())
              .count();
      if (rd_kafka_offsets_for_times(rk.get(), query.get(), timeout_ms) ==
          RD_KAFKA_RESP_ERR_NO_ERROR) {
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
    return {};
  rd_kafka_assign(rk.get(), assignment.get());

  const int64_t until_ms =
      range.until
          ? std::chrono::duration_cast<std::chrono::milliseconds>(range.until->time_since_epoch())
                .count()
          : INT64_MAX;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!end.empty() && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(rk.get(), 200);
    if (message == nullptr)
      continue;
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
    rd_kafka_message_destroy(message);
  }
  return end.empty() ? std::string() : "timed out reading " + topic;
}

}  // namespace cmr_bridge
