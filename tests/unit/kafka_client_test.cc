// The one pass-through rule for CMR_BRIDGE_KAFKA_PROP_* and the properties each client role gets.
// Needs librdkafka (its property table), not a broker.
#include "kafka/kafka_client.h"

#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kafka/kafka_publisher.h"

using namespace cmr_bridge;

namespace {

constexpr KafkaClientRole kAllRoles[] = {KafkaClientRole::kProducer,
                                         KafkaClientRole::kDedupMarkerReader,
                                         KafkaClientRole::kTopicScanner, KafkaClientRole::kAdmin};

std::vector<std::string> roles_given(const std::string& property) {
  std::vector<std::string> roles;
  const char* names[] = {"producer", "dedup-reader", "scanner", "admin"};
  for (std::size_t i = 0; i < std::size(kAllRoles); ++i) {
    if (passes_through_to(property, kAllRoles[i]))
      roles.emplace_back(names[i]);
  }
  return roles;
}

using Roles = std::vector<std::string>;

}  // namespace

TEST_SUITE("kafka client properties") {
  TEST_CASE("connection and security properties reach every client") {
    const Roles all = {"producer", "dedup-reader", "scanner", "admin"};
    for (const char* property :
         {"security.protocol", "sasl.mechanisms", "sasl.username", "sasl.password",
          "ssl.ca.location", "ssl.endpoint.identification.algorithm", "reconnect.backoff.max.ms",
          "statistics.interval.ms", "socket.timeout.ms"}) {
      CAPTURE(property);
      CHECK(roles_given(property) == all);
    }
  }

  TEST_CASE("producer-only properties reach the producer alone") {
    for (const char* property : {"acks", "enable.idempotence", "partitioner", "linger.ms",
                                 "compression.type", "message.timeout.ms", "batch.num.messages"}) {
      CAPTURE(property);
      CHECK(roles_given(property) == Roles{"producer"});
    }
  }

  TEST_CASE("consumer-only properties reach the two reading clients alone") {
    for (const char* property : {"fetch.min.bytes", "fetch.wait.max.ms", "auto.offset.reset",
                                 "fetch.max.bytes", "isolation.level"}) {
      CAPTURE(property);
      CHECK(roles_given(property) == Roles{"dedup-reader", "scanner"});
    }
  }

  TEST_CASE("a name librdkafka does not know reaches every client, and is refused by name") {
    CHECK(roles_given("no.such.thing").size() == 4);
    KafkaSettings kafka;
    kafka.extra_properties = {{"no.such.thing", "1"}};
    for (const auto role : kAllRoles) {
      const auto conf = kafka_client_conf(kafka, role, {});
      REQUIRE_FALSE(conf);
      CHECK(conf.error().message().find("Kafka property no.such.thing: ") == 0);
    }
  }

  TEST_CASE("common settings come first, the role's next, pass-through last, so it wins") {
    KafkaSettings kafka;
    kafka.brokers = "broker-1:9092,broker-2:9092";
    kafka.client_id = "bridge-a";
    kafka.extra_properties = {{"fetch.wait.max.ms", "5"}, {"acks", "1"}};
    const auto properties = kafka_client_properties(kafka, KafkaClientRole::kDedupMarkerReader,
                                                    {{"fetch.wait.max.ms", "100"}});
    const rdkafka::Properties expected = {{"bootstrap.servers", "broker-1:9092,broker-2:9092"},
                                          {"client.id", "bridge-a-dedup"},
                                          {"fetch.wait.max.ms", "100"},
                                          {"fetch.wait.max.ms", "5"}};
    CHECK(properties == expected);
  }

  TEST_CASE("each role has its own client.id") {
    KafkaSettings kafka;
    kafka.client_id = "bridge";
    const auto client_id = [&](KafkaClientRole role) {
      const auto properties = kafka_client_properties(kafka, role, {});
      const auto it = std::find_if(properties.begin(), properties.end(),
                                   [](const auto& p) { return p.first == "client.id"; });
      return it == properties.end() ? std::string() : it->second;
    };
    CHECK(client_id(KafkaClientRole::kProducer) == "bridge");
    CHECK(client_id(KafkaClientRole::kDedupMarkerReader) == "bridge-dedup");
    CHECK(client_id(KafkaClientRole::kTopicScanner) == "bridge-scan");
    CHECK(client_id(KafkaClientRole::kAdmin) == "bridge-admin");
  }

  TEST_CASE("a configuration librdkafka accepts builds a client of every role") {
    KafkaSettings kafka;
    kafka.brokers = "127.0.0.1:1";
    kafka.extra_properties = {
        {"acks", "1"}, {"fetch.min.bytes", "2"}, {"socket.timeout.ms", "7000"}};
    for (const auto role : kAllRoles) {
      const auto client = new_kafka_client(kafka, role, {});
      CHECK(client);
    }
  }
}

TEST_CASE("errors the same record meets on every retry are permanent; others are transient") {
  for (const auto code :
       {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_INVALID_RECORD}) {
    CAPTURE(rd_kafka_err2name(code));
    CHECK(failure_status(code, true) == DeliveryStatus::kRejected);
  }
  for (const auto code : {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
                          RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR__FATAL,
                          RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION}) {
    CAPTURE(rd_kafka_err2name(code));
    CHECK(failure_status(code, true) == DeliveryStatus::kFailed);
  }
  CHECK(failure_status(RD_KAFKA_RESP_ERR__QUEUE_FULL, true) == DeliveryStatus::kQueueFull);
  // Topic creation on: the provisioner may still be creating the topic.
  CHECK(failure_status(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, false) == DeliveryStatus::kFailed);
  CHECK(failure_status(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, false) == DeliveryStatus::kFailed);
  CHECK(failure_status(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, false) == DeliveryStatus::kRejected);
}
