// Kafka tier: promises of the Kafka edge that no end-to-end test reached, checked on the real
// publisher and the real broker (never a fake).
#include <doctest/doctest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "kafka/kafka_publisher.h"
#include "kafka/topic_scan.h"
#include "support/java_tool.h"
#include "support/kafka_reader.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;

namespace {

std::string unique_topic(const std::string& what) {
  std::string name = unique_topic_prefix("promises." + what + ".");
  name.pop_back();  // the prefix ends in '.'
  return name;
}

KafkaSettings test_kafka() {
  KafkaSettings kafka;
  kafka.brokers = test_brokers();
  kafka.client_id = "cmr-bridge-promises-test";
  return kafka;
}

// The partition the Kafka Java client's default partitioner picks for each key (murmur2 of the
// key bytes, positive, modulo the partition count), computed by that client itself: the
// kafka-clients jar of the broker distribution, fetched by deploy/local/kafka.sh when missing.
std::vector<int> java_partitions(const std::vector<std::string>& keys, int partitions) {
  std::vector<std::string> arguments = {std::to_string(partitions)};
  arguments.insert(arguments.end(), keys.begin(), keys.end());
  const std::string out = run_java("JavaPartitions", R"(
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Utils;
public class JavaPartitions {
  public static void main(String[] args) {
    int partitions = Integer.parseInt(args[0]);
    for (int i = 1; i < args.length; ++i) {
      byte[] key = args[i].getBytes(StandardCharsets.UTF_8);
      System.out.println(Utils.toPositive(Utils.murmur2(key)) % partitions);
    }
  }
}
)",
                                   arguments);
  std::vector<int> result;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    result.push_back(std::atoi(line.c_str()));
  return result;
}

}  // namespace

TEST_SUITE("kafka") {
  TEST_CASE("a topic scan treats a missing topic as empty only when asked to") {
    REQUIRE(broker_reachable(test_brokers(), 20s));
    const std::string missing = unique_topic("missing");
    std::size_t visited = 0;
    ScanRange strict;
    const Status refused = scan_topic(
        test_kafka(), missing, strict, [&](const ScannedRecord&) { ++visited; }, 20s);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message().find("does not exist") != std::string::npos);

    ScanRange lenient;
    lenient.missing_topic_is_empty = true;
    const Status empty = scan_topic(
        test_kafka(), missing, lenient, [&](const ScannedRecord&) { ++visited; }, 20s);
    CHECK(empty.ok());
    CHECK(visited == 0);
    CHECK(read_topic(test_brokers(), missing).empty());
  }

  TEST_CASE(
      "a record delivered after the caller's deadline is counted as possibly persisted, once") {
    REQUIRE(broker_reachable(test_brokers(), 20s));
    const std::string topic = unique_topic("late");
    create_topic(test_brokers(), topic, 1);
    ProducerSettings settings;
    settings.kafka = test_kafka();
    // librdkafka holds each record 2 s before sending it, so its report cannot come before the
    // caller's 0 ms deadline even when the test thread is pre-empted after the produce call (on
    // a loaded machine the report once won that race and the caller saw "delivered").
    settings.kafka.extra_properties.push_back({"linger.ms", "2000"});
    auto publisher = KafkaPublisher::create(settings);
    REQUIRE(publisher);
    KafkaPublisher& producer = *publisher.value();
    REQUIRE(producer.wait_reachable(20s));
    const uint64_t before = producer.possibly_persisted();

    // A deadline already passed: the caller is told "timed out" while the record is held.
    const DeliveryReport late = producer.publish({topic, "k", "late-value", {}}, 0ms);
    CHECK(late.status == DeliveryStatus::kTimedOut);
    REQUIRE(producer.flush(20s));
    CHECK(read_topic(test_brokers(), topic).size() == 1);
    CHECK(producer.possibly_persisted() == before + 1);

    // A record awaited until its report is not counted.
    const DeliveryReport awaited = producer.publish({topic, "k", "awaited-value", {}}, 20s);
    CHECK(awaited.status == DeliveryStatus::kDelivered);
    CHECK(producer.possibly_persisted() == before + 1);
  }

  TEST_CASE("a key lands on the partition the Kafka Java client's partitioner picks (murmur2)") {
    REQUIRE(broker_reachable(test_brokers(), 20s));
    constexpr int kPartitions = 7;
    const std::string topic = unique_topic("murmur2");
    create_topic(test_brokers(), topic, kPartitions);
    std::vector<std::string> keys = {
        "ORD-1", "ORD-2", "a", "order-with-a-longer-key-0123456789", "SUB-42", "key with spaces"};
    for (int i = 0; i < 40; ++i)
      keys.push_back("ORDER" + std::to_string(i * 7919));
    const std::vector<int> expected = java_partitions(keys, kPartitions);
    REQUIRE(expected.size() == keys.size());

    ProducerSettings settings;
    settings.kafka = test_kafka();
    auto publisher = KafkaPublisher::create(settings);
    REQUIRE(publisher);
    REQUIRE(publisher.value()->wait_reachable(20s));
    publisher.value()->prepare_topics({topic}, 20s);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      CAPTURE(keys[i]);
      const DeliveryReport report = publisher.value()->publish({topic, keys[i], "v", {}}, 20s);
      REQUIRE(report.status == DeliveryStatus::kDelivered);
      CHECK(report.partition == expected[i]);
    }
  }
}
