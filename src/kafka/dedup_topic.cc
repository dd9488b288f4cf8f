#include "kafka/dedup_topic.h"

#include <rapidjson/document.h>

#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/json_writer.h"
#include "core/timestamp.h"
#include "kafka/kafka_client.h"
#include "kafka/rdkafka_handles.h"
#include "log/logger.h"
#include "log/thread_name.h"

namespace cmr_bridge {

std::string encode_dedup_marker(const DedupMarker& marker) {
  return JsonObjectWriter()
      .field("firstSeen", format_rfc3339(marker.first_seen))
      .field("bodyHash", fingerprint_to_hex(marker.body_fingerprint))
      .field("topic", marker.topic)
      .field("partition", static_cast<int64_t>(marker.partition))
      .field("offset", marker.offset)
      .finish();
}

std::optional<DecodedMarker> decode_dedup_marker(std::string_view value) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(value.data(), value.size());
  if (doc.HasParseError() || !doc.IsObject())
    return std::nullopt;
  const auto first_seen = doc.FindMember("firstSeen");
  const auto body_hash = doc.FindMember("bodyHash");
  if (first_seen == doc.MemberEnd() || !first_seen->value.IsString() ||
      body_hash == doc.MemberEnd() || !body_hash->value.IsString()) {
    return std::nullopt;
  }
  const auto seen = parse_rfc3339(first_seen->value.GetString());
  const auto fingerprint = fingerprint_from_hex(body_hash->value.GetString());
  if (!seen || !fingerprint)
    return std::nullopt;
  return DecodedMarker{*fingerprint, *seen};
}

std::string new_dedup_writer_id() {
  std::random_device entropy;
  std::string id;
  for (int i = 0; i < 4; ++i) {
    char word[9];
    std::snprintf(word, sizeof word, "%08x", static_cast<unsigned>(entropy()));
    id += word;
  }
  return id;
}

void DedupMarkerWriter::record(const DedupMarker& marker) {
  Record record;
  record.topic = topic_;
  record.key = marker.event_id;
  record.value = encode_dedup_marker(marker);
  record.headers = {{"content-type", "application/json"}, {kDedupWriterHeader, writer_id_}};
  publisher_.publish_detached(record);
}

namespace {

// How often the tailing reader looks for partitions added to the marker topic.
constexpr auto kPartitionRecheck = std::chrono::seconds(5);

// The topic's partition ids; empty when it does not exist (yet) or the broker did not answer.
std::vector<int32_t> topic_partitions(rd_kafka_t* rk, const std::string& topic) {
  auto ids = rdkafka::partition_ids(rk, topic, std::chrono::seconds(2));
  return ids ? std::move(ids).value() : std::vector<int32_t>();
}

// `partitions` of `topic`, each to be read from its beginning.
rdkafka::TopicPartitionListPtr from_beginning(const std::string& topic,
                                              const std::vector<int32_t>& partitions) {
  rdkafka::TopicPartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (int32_t partition : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  return list;
}

// Adds partitions that appeared since the last look to the assignment, read from the start.
void assign_new_partitions(rd_kafka_t* rk, const std::string& topic, std::set<int32_t>& assigned) {
  std::vector<int32_t> added;
  for (int32_t partition : topic_partitions(rk, topic)) {
    if (assigned.count(partition) == 0)
      added.push_back(partition);
  }
  if (added.empty())
    return;
  const auto list = from_beginning(topic, added);
  const rdkafka::ErrorPtr error(rd_kafka_incremental_assign(rk, list.get()));
  if (error) {
    log_warn("dedup topic: new partitions not assigned; retrying",
             {{"topic", topic}, {"detail", rd_kafka_error_string(error.get())}});
    return;
  }
  assigned.insert(added.begin(), added.end());
  log_info("dedup topic partitions added", {{"topic", topic},
                                            {"added", static_cast<int64_t>(added.size())},
                                            {"partitions", static_cast<int64_t>(assigned.size())}});
}

}  // namespace

struct DedupTopicReader::Impl {
  std::string topic;
  std::string own_writer_id;
  DedupCache& cache;
  rdkafka::ClientPtr consumer;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable stop_cv;

  Impl(std::string t, std::string own, DedupCache& c)
      : topic(std::move(t)), own_writer_id(std::move(own)), cache(c) {}

  bool written_by_this_process(const rd_kafka_message_t* message) const {
    if (own_writer_id.empty())
      return false;
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return false;
    const void* value = nullptr;
    size_t size = 0;
    if (rd_kafka_header_get_last(headers, kDedupWriterHeader, &value, &size) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return false;
    }
    return std::string_view(static_cast<const char*>(value), size) == own_writer_id;
  }

  // Sleeps up to `d` unless stop is requested; false when stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    return !stop_cv.wait_for(lock, d, [this] { return stopping.load(); });
  }
};

DedupTopicReader::DedupTopicReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<DedupTopicReader>> DedupTopicReader::create(const KafkaSettings& kafka,
                                                                   std::string topic,
                                                                   std::string own_writer_id,
                                                                   DedupCache& cache) {
  auto consumer = new_kafka_client(
      kafka, KafkaClientRole::kDedupMarkerReader,
      {
          // No group: every replica reads every partition. group.id is only a required name.
          {"group.id", kafka.client_id + "-dedup-reader"},
          {"enable.auto.commit", "false"},
          {"enable.auto.offset.store", "false"},
          {"enable.partition.eof", "true"},
          {"auto.offset.reset", "earliest"},
          // Tailing a busy topic one small fetch at a time cost the broker more CPU than the
          // markers themselves; batches of up to 64 KiB, at most 100 ms late, cost a fraction.
          {"fetch.min.bytes", "65536"},
          {"fetch.wait.max.ms", "100"},
      });
  if (!consumer)
    return Error("dedup marker reader: " + consumer.error().message());
  auto impl = std::make_unique<Impl>(std::move(topic), std::move(own_writer_id), cache);
  impl->consumer = std::move(consumer).value();
  std::unique_ptr<DedupTopicReader> reader(new DedupTopicReader(std::move(impl)));
  reader->impl_->thread = std::thread([r = reader.get()] {
    name_this_thread("dedup-reader");
    r->run();
  });
  return reader;
}

DedupTopicReader::~DedupTopicReader() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping.store(true);
  }
  impl_->stop_cv.notify_all();
  impl_->thread.join();
}

void DedupTopicReader::run() {
  Impl& s = *impl_;
  rd_kafka_t* rk = s.consumer.get();
  const auto started = std::chrono::steady_clock::now();

  // 1. The topic may not exist yet (the provisioner creates it): wait for its partitions.
  std::vector<int32_t> partitions;
  while (partitions.empty() && !s.stopping.load()) {
    partitions = topic_partitions(rk, s.topic);
    if (partitions.empty() && !s.pause(std::chrono::milliseconds(500)))
      return;
  }
  std::set<int32_t> assigned(partitions.begin(), partitions.end());

  // 2. What "read to the end" means: the high watermarks as they are now.
  std::map<int32_t, int64_t> pending;
  for (int32_t partition : partitions) {
    int64_t low = 0;
    int64_t high = 0;
    while (rd_kafka_query_watermark_offsets(rk, s.topic.c_str(), partition, &low, &high, 5000) !=
           RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (!s.pause(std::chrono::milliseconds(500)))
        return;
    }
    if (high > low)
      pending[partition] = high;
  }
  rd_kafka_assign(rk, from_beginning(s.topic, partitions).get());

  const auto mark_warm = [&] {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    warmup_seconds_.store(seconds);
    // Logged before the flag is set, so every line about publishing follows this one.
    log_info("dedup topic loaded", {{"topic", s.topic},
                                    {"markers", static_cast<int64_t>(markers_loaded_.load())},
                                    {"entries", static_cast<int64_t>(s.cache.size())},
                                    {"seconds", seconds}});
    warmed_.store(true, std::memory_order_release);
  };
  if (pending.empty())
    mark_warm();

  // 3. Load, then keep tailing: markers from other replicas arrive here within ~100 ms.
  // Partitions added to the topic later are picked up within kPartitionRecheck: writers hash
  // eventIds over the new count at once, so a reader that kept the old set would miss them.
  uint64_t malformed = 0;
  auto next_partition_check = std::chrono::steady_clock::now() + kPartitionRecheck;
  while (!s.stopping.load()) {
    if (std::chrono::steady_clock::now() >= next_partition_check) {
      next_partition_check = std::chrono::steady_clock::now() + kPartitionRecheck;
      assign_new_partitions(rk, s.topic, assigned);
    }
    const rdkafka::MessagePtr polled(rd_kafka_consumer_poll(rk, 200));
    if (!polled)
      continue;
    const rd_kafka_message_t* message = polled.get();
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      const auto it = pending.find(message->partition);
      if (it != pending.end() && message->offset >= it->second)
        pending.erase(it);
    } else if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (s.written_by_this_process(message)) {
        markers_skipped_.fetch_add(1, std::memory_order_relaxed);
      } else if (message->key != nullptr && message->payload != nullptr) {
        const std::string_view key(static_cast<const char*>(message->key), message->key_len);
        const auto marker = decode_dedup_marker(
            std::string_view(static_cast<const char*>(message->payload), message->len));
        if (marker) {
          s.cache.insert_done(event_key(key), marker->body_fingerprint, marker->first_seen);
          markers_loaded_.fetch_add(1, std::memory_order_relaxed);
        } else if (malformed++ == 0) {
          log_warn("malformed dedup marker skipped",
                   {{"topic", s.topic},
                    {"partition", static_cast<int64_t>(message->partition)},
                    {"offset", message->offset}});
        }
      }
      const auto it = pending.find(message->partition);
      if (it != pending.end() && message->offset + 1 >= it->second)
        pending.erase(it);
    } else {
      log_debug("dedup consumer error", {{"code", rd_kafka_err2name(message->err)}});
    }
    if (!warmed() && pending.empty())
      mark_warm();
  }
}

void DedupTopicReader::report_gauges(GaugeSink& sink) const {
  sink.set(Gauge::kDedupWarmed, warmed() ? 1 : 0);
  sink.set(Gauge::kDedupWarmupSeconds, warmup_seconds());
  sink.set(Gauge::kDedupMarkersLoaded, static_cast<double>(markers_loaded()));
  sink.set(Gauge::kDedupOwnMarkersSkipped, static_cast<double>(markers_skipped()));
}

}  // namespace cmr_bridge
