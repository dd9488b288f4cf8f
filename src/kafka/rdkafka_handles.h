// The one way to hold a librdkafka object: a unique_ptr whose deleter calls the matching
// rd_kafka_*_destroy, so no code of ours frees one by hand. Used by src/kafka, the test support
// and the benchmark alike. Header-only (it needs librdkafka, nothing of ours but Result), and
// internal: no public header of the bridge includes it, so rdkafka.h stays behind the edges.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cmr_bridge/result.h"

namespace cmr_bridge::rdkafka {

template <auto Destroy>
struct Destroyer {
  template <typename T>
  void operator()(T* object) const {
    Destroy(object);
  }
};

// A client (producer or consumer). A consumer leaves its group and stops fetching before it is
// destroyed; the handle must outlive every object created from it (topics, queues).
struct ClientDestroyer {
  void operator()(rd_kafka_t* client) const {
    if (rd_kafka_type(client) == RD_KAFKA_CONSUMER)
      rd_kafka_consumer_close(client);
    rd_kafka_destroy(client);
  }
};
using ClientPtr = std::unique_ptr<rd_kafka_t, ClientDestroyer>;

// A configuration not (yet) handed to rd_kafka_new; only new_client() takes it from here.
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, Destroyer<&rd_kafka_conf_destroy>>;
using TopicPartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                              Destroyer<&rd_kafka_topic_partition_list_destroy>>;
// Headers not (yet) handed to rd_kafka_producev; release() them once it accepted the record.
using HeadersPtr = std::unique_ptr<rd_kafka_headers_t, Destroyer<&rd_kafka_headers_destroy>>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, Destroyer<&rd_kafka_queue_destroy>>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, Destroyer<&rd_kafka_event_destroy>>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, Destroyer<&rd_kafka_topic_destroy>>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, Destroyer<&rd_kafka_message_destroy>>;
using MetadataPtr =
    std::unique_ptr<const rd_kafka_metadata_t, Destroyer<&rd_kafka_metadata_destroy>>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, Destroyer<&rd_kafka_error_destroy>>;
using AdminOptionsPtr =
    std::unique_ptr<rd_kafka_AdminOptions_t, Destroyer<&rd_kafka_AdminOptions_destroy>>;
using NewTopicPtr = std::unique_ptr<rd_kafka_NewTopic_t, Destroyer<&rd_kafka_NewTopic_destroy>>;
using NewPartitionsPtr =
    std::unique_ptr<rd_kafka_NewPartitions_t, Destroyer<&rd_kafka_NewPartitions_destroy>>;
using DeleteTopicPtr =
    std::unique_ptr<rd_kafka_DeleteTopic_t, Destroyer<&rd_kafka_DeleteTopic_destroy>>;
using ConfigResourcePtr =
    std::unique_ptr<rd_kafka_ConfigResource_t, Destroyer<&rd_kafka_ConfigResource_destroy>>;

using Properties = std::vector<std::pair<std::string, std::string>>;

// A configuration with `properties` applied in order. The error names the property librdkafka
// refused: "Kafka property <name>: <reason>".
inline Result<ConfPtr> new_conf(const Properties& properties) {
  ConfPtr conf(rd_kafka_conf_new());
  char reason[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), reason, sizeof reason) !=
        RD_KAFKA_CONF_OK) {
      return Error("Kafka property " + name + ": " + reason);
    }
  }
  return conf;
}

// rd_kafka_new takes ownership of the configuration on success only; on failure `conf` is still
// ours and freed here.
inline Result<ClientPtr> new_client(rd_kafka_type_t type, ConfPtr conf) {
  char reason[512];
  ClientPtr client(rd_kafka_new(type, conf.get(), reason, sizeof reason));
  if (!client) {
    return Error(std::string("creating the Kafka ") +
                 (type == RD_KAFKA_PRODUCER ? "producer" : "consumer") + ": " + reason);
  }
  static_cast<void>(conf.release());
  return client;
}

// The partition ids of `topic`, from one metadata request; empty when the topic does not exist.
// An error when the broker did not answer within `timeout`.
inline Result<std::vector<int32_t>> partition_ids(rd_kafka_t* client, const std::string& topic,
                                                  std::chrono::milliseconds timeout) {
  const TopicPtr handle(rd_kafka_topic_new(client, topic.c_str(), nullptr));
  const rd_kafka_metadata_t* answer = nullptr;
  const auto err =
      rd_kafka_metadata(client, 0, handle.get(), &answer, static_cast<int>(timeout.count()));
  const MetadataPtr metadata(answer);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Error("metadata for " + topic + ": " + rd_kafka_err2str(err));
  std::vector<int32_t> ids;
  if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i)
      ids.push_back(metadata->topics[0].partitions[i].id);
  }
  return ids;
}

}  // namespace cmr_bridge::rdkafka
