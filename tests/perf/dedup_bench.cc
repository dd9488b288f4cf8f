// Dedup cache benchmark (prints figures; not a test): insert+lookup rate, resident bytes per
// entry at 1M and 10M entries, and warm-up time from a dedup topic holding 1M markers.
//   dedup_bench [--entries 1000000,10000000] [--brokers HOST:PORT] [--markers 1000000]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cmr_bridge/clock.h"
#include "core/dedup_cache.h"
#include "kafka/dedup_topic.h"
#include "kafka/kafka_admin.h"
#include "kafka/kafka_publisher.h"
#include "log/logger.h"

using namespace cmr_bridge;
using Steady = std::chrono::steady_clock;

namespace {

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

double seconds_since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

void cache_figures(std::size_t entries) {
  SystemClock clock;
  const std::size_t before = resident_bytes();
  DedupCache cache({entries, std::chrono::hours(24 * 7)}, clock);
  std::vector<EventKey> keys;
  keys.reserve(entries);
  for (std::size_t i = 0; i < entries; ++i)
    keys.push_back(event_key("EVT" + std::to_string(i)));
  const std::size_t keys_bytes = resident_bytes();

  const auto far = Steady::now() + std::chrono::seconds(1);
  auto start = Steady::now();
  for (std::size_t i = 0; i < entries; ++i) {
    cache.claim_or_wait(keys[i], i, far);
    cache.complete(keys[i], i);
  }
  const double insert_s = seconds_since(start);
  const std::size_t after = resident_bytes();

  start = Steady::now();
  std::size_t hits = 0;
  for (std::size_t i = 0; i < entries; ++i)
    hits += cache.lookup_done(keys[i], i).has_value();
  const double lookup_s = seconds_since(start);

  std::printf("| %zu | %.2f M/s | %.2f M/s | %.1f | %.1f | %zu |\n", entries,
              entries / insert_s / 1e6, entries / lookup_s / 1e6,
              static_cast<double>(after - keys_bytes) / entries,
              static_cast<double>(cache.reserved_bytes()) / entries, hits);
  (void)before;
}

void warmup_figures(const std::string& brokers, std::size_t markers) {
  const std::string topic = "bench.dedup." + std::to_string(getpid());
  ProducerSettings settings;
  settings.kafka.brokers = brokers;
  settings.kafka.extra_properties = {{"linger.ms", "50"},
                                     {"batch.num.messages", "10000"},
                                     {"queue.buffering.max.messages", "1000000"}};
  settings.message_timeout = std::chrono::seconds(30);
  auto created = KafkaPublisher::create(settings);
  auto admin = KafkaAdmin::create(settings.kafka);
  if (!created || !admin || !created.value()->wait_reachable(std::chrono::seconds(20))) {
    const std::string reason = !created ? created.error().message()
                               : !admin ? admin.error().message()
                                        : "not reachable";
    std::printf("warm-up: Kafka at %s unavailable (%s)\n", brokers.c_str(), reason.c_str());
    return;
  }
  const auto publisher = std::move(created).value();
  const Status topic_created = admin.value()->create_missing_topics(
      {{topic, 3, 1, {{"cleanup.policy", "compact,delete"}}}}, std::chrono::seconds(10));
  if (!topic_created) {
    std::printf("warm-up: %s\n", topic_created.error().message().c_str());
    return;
  }
  auto start = Steady::now();
  DedupMarkerWriter writer(*publisher, topic, new_dedup_writer_id());
  for (std::size_t i = 0; i < markers; ++i) {
    writer.record({"EVT" + std::to_string(i), i, std::chrono::system_clock::now(),
                   "cmr.order.events", 1, static_cast<int64_t>(i)});
    while (publisher->queue_depth() > 500000)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  publisher->flush(std::chrono::seconds(120));
  const double produce_s = seconds_since(start);

  SystemClock clock;
  DedupCache cache({markers * 2, std::chrono::hours(24 * 7)}, clock);
  start = Steady::now();
  KafkaSettings kafka;
  kafka.brokers = brokers;
  auto created_reader = DedupTopicReader::create(kafka, topic, /*own_writer_id=*/"", cache);
  const auto reader = created_reader ? std::move(created_reader).value() : nullptr;
  while (reader && !reader->warmed() && seconds_since(start) < 300) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::printf(
      "| %zu markers | wrote in %.1f s | warm-up %.2f s | %.0f markers/s | %zu entries loaded |\n",
      markers, produce_s, reader ? reader->warmup_seconds() : -1.0,
      reader ? markers / reader->warmup_seconds() : 0.0, cache.size());
}

}  // namespace

int main(int argc, char** argv) {
  set_log_level(LogLevel::kWarn);
  std::vector<std::size_t> sizes = {1'000'000, 10'000'000};
  std::string brokers;
  std::size_t markers = 1'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--entries") == 0) {
      sizes.clear();
      for (char* p = std::strtok(argv[i + 1], ","); p; p = std::strtok(nullptr, ",")) {
        sizes.push_back(std::strtoull(p, nullptr, 10));
      }
    } else if (std::strcmp(argv[i], "--brokers") == 0) {
      brokers = argv[i + 1];
    } else if (std::strcmp(argv[i], "--markers") == 0) {
      markers = std::strtoull(argv[i + 1], nullptr, 10);
    }
  }
  std::printf(
      "| entries | claim+complete | lookup | resident B/entry | reserved B/entry | hits |\n"
      "|---|---|---|---|---|---|\n");
  for (std::size_t n : sizes)
    cache_figures(n);
  if (!brokers.empty()) {
    std::printf("\n");
    warmup_figures(brokers, markers);
  }
  return 0;
}
