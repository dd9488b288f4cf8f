// Kafka tier: the producer guarantees behind a 2xx, checked on the real publisher against the
// real broker rather than read from the bridge's configuration: a dedup marker is written only
// after the broker acknowledged the event (never for a record it refused, whether answered at
// once or forwarded later from the spool), and the records are written idempotently (the broker
// keeps a producer id and sequence for them; librdkafka allows idempotence only with acks=all).
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kafka/kafka_admin.h"
#include "kafka/rdkafka_handles.h"
#include "support/bridge_process.h"
#include "support/java_tool.h"
#include "support/kafka_reader.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;

namespace {

struct GuaranteesFixture {
  const std::string brokers = test_brokers();
  const std::string prefix = unique_topic_prefix("g");

  const std::string spool_dir = "/tmp/cmr-bridge-guarantees-spool-" + prefix;

  ~GuaranteesFixture() { std::filesystem::remove_all(spool_dir); }

  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> base = {{"CMR_BRIDGE_SIGNING_KEYS", kTestKey},
                                               {"CMR_BRIDGE_KAFKA_BROKERS", brokers},
                                               {"CMR_BRIDGE_TOPIC_PREFIX", prefix},
                                               {"CMR_BRIDGE_TOPIC_PARTITIONS", "1"},
                                               {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "3000"}};
    for (const auto& [k, v] : extra)
      base[k] = v;
    return base;
  }
  std::unique_ptr<BridgeProcess> start(std::map<std::string, std::string> extra = {}) const {
    auto bridge = std::make_unique<BridgeProcess>(env(std::move(extra)));
    REQUIRE(bridge->wait_listening(20s));
    REQUIRE(bridge->wait_ready(60s));
    return bridge;
  }
  // SIGTERM and a clean exit: the bridge flushed its producer, so every dedup marker it was
  // ever going to write is on the topic (or reported failed) by now.
  static void stop(std::unique_ptr<BridgeProcess>& bridge) {
    bridge->signal(SIGTERM);
    CHECK(bridge->wait_exit(60s) == 0);
    bridge.reset();
  }
};

std::string example(const std::string& event) {
  std::ifstream in(std::string(CMR_BRIDGE_SOURCE_DIR) + "/schemas/examples/" + event + ".json",
                   std::ios::binary);
  REQUIRE(in);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

// The string value of the first member `name` (compact or pretty-printed JSON).
std::string json_field(const std::string& body, const std::string& name) {
  const auto at = body.find("\"" + name + "\":");
  if (at == std::string::npos)
    return "<absent>";
  const auto start = body.find('"', at + name.size() + 3) + 1;
  return body.substr(start, body.find('"', start) - start);
}

std::vector<std::string> keys_of(const std::vector<ConsumedRecord>& records) {
  std::vector<std::string> keys;
  for (const auto& record : records)
    keys.push_back(record.key);
  return keys;
}

// Sets one config of `topic` (AlterConfigs: the topic's other dynamic configs return to their
// defaults). Fails the test case when the broker refuses.
void alter_topic_config(const std::string& brokers, const std::string& topic,
                        const std::string& name, const std::string& value) {
  auto conf = rdkafka::new_conf({{"bootstrap.servers", brokers}, {"log_level", "3"}});
  REQUIRE(conf);
  auto client = rdkafka::new_client(RD_KAFKA_PRODUCER, std::move(conf).value());
  REQUIRE(client);
  rd_kafka_t* handle = client.value().get();
  const rdkafka::ConfigResourcePtr resource(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  REQUIRE(rd_kafka_ConfigResource_set_config(resource.get(), name.c_str(), value.c_str()) ==
          RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_ConfigResource_t* resources[] = {resource.get()};
  const rdkafka::QueuePtr queue(rd_kafka_queue_new(handle));
  rd_kafka_AlterConfigs(handle, resources, 1, nullptr, queue.get());
  const rdkafka::EventPtr event(rd_kafka_queue_poll(queue.get(), 15000));
  REQUIRE_MESSAGE(event, "no AlterConfigs answer for " << topic);
  REQUIRE_MESSAGE(rd_kafka_event_error(event.get()) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  rd_kafka_event_error_string(event.get()));
  std::size_t count = 0;
  const auto* result = rd_kafka_event_AlterConfigs_result(event.get());
  const auto** altered = result ? rd_kafka_AlterConfigs_result_resources(result, &count) : nullptr;
  REQUIRE(count == 1);
  REQUIRE_MESSAGE(rd_kafka_ConfigResource_error(altered[0]) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  rd_kafka_ConfigResource_error_string(altered[0]));
}

// alter_topic_config, then waits until the broker describes the new value: the broker applies a
// config change a moment after answering, and a produce in between still sees the old one.
void set_topic_config_and_wait(const std::string& brokers, const std::string& topic,
                               const std::string& name, const std::string& value) {
  alter_topic_config(brokers, topic, name, value);
  KafkaSettings kafka;
  kafka.brokers = brokers;
  auto admin = KafkaAdmin::create(kafka);
  REQUIRE(admin);
  constexpr auto kGenerousBound = 30s;
  const auto deadline = std::chrono::steady_clock::now() + kGenerousBound;
  for (;;) {
    const auto current = (*admin)->topic_config(topic, name, 10s);
    if (current && current.value() == value)
      return;
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                    topic << " still does not describe " << name << "=" << value);
    std::this_thread::sleep_for(100ms);
  }
}

// Polls /metrics until the unlabelled gauge `name` reads `want`; false after a generous bound
// (a loaded 2-core machine; not a timing check).
bool wait_gauge(const BridgeProcess& bridge, const std::string& name, const std::string& want) {
  constexpr auto kGenerousBound = 90s;
  const auto deadline = std::chrono::steady_clock::now() + kGenerousBound;
  while (std::chrono::steady_clock::now() < deadline) {
    httplib::Client admin("127.0.0.1", bridge.admin_port());
    const auto res = admin.Get("/metrics");
    if (res && res->body.find("\n" + name + " " + want + "\n") != std::string::npos)
      return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

// True once `topic` has `partitions` partitions (-1: the broker no longer knows it; a deletion
// or creation completes after the broker's answer), polled for a generous 30 s.
bool wait_partition_count(const std::string& brokers, const std::string& topic, int partitions) {
  for (int i = 0; i < 300; ++i) {
    int count = -1;
    try {
      count = partition_count(brokers, topic);
    } catch (const std::runtime_error&) {
      // "Unknown topic or partition"
    }
    if (count == partitions)
      return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

struct ProducerState {
  long long producer_id = -1;
  int epoch = -1;
  int last_sequence = -1;
};

// The idempotent producers the broker tracks on one partition (DescribeProducers, KIP-664),
// asked through the Kafka Java client's Admin API: a record batch written without idempotence
// carries producer id -1 and leaves no state.
std::vector<ProducerState> active_producers(const std::string& brokers, const std::string& topic,
                                            int partition) {
  const std::string out = run_java("DescribeProducers", R"(
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.common.TopicPartition;
public class DescribeProducers {
  public static void main(String[] args) throws Exception {
    Properties properties = new Properties();
    properties.put("bootstrap.servers", args[0]);
    TopicPartition partition = new TopicPartition(args[1], Integer.parseInt(args[2]));
    try (Admin admin = Admin.create(properties)) {
      for (ProducerState state : admin.describeProducers(List.of(partition))
               .partitionResult(partition).get().activeProducers()) {
        System.out.println("producer " + state.producerId() + " " + state.producerEpoch() + " "
            + state.lastSequence());
      }
    }
  }
}
)",
                                   {brokers, topic, std::to_string(partition)});
  std::vector<ProducerState> producers;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string tag;
    ProducerState state;
    if (fields >> tag >> state.producer_id >> state.epoch >> state.last_sequence &&
        tag == "producer")
      producers.push_back(state);
  }
  return producers;
}

}  // namespace

TEST_SUITE("kafka guarantees") {
  TEST_CASE_FIXTURE(GuaranteesFixture,
                    "a record the broker refuses gets no dedup marker, and its retry once the "
                    "broker takes it is accepted, not a duplicate, with one marker") {
    REQUIRE(broker_reachable(brokers, 20s));
    // The broker refuses (MESSAGE_TOO_LARGE) every record batch of this event's topic and of
    // the dead-letter topic, so nothing of the event is acknowledged anywhere (422
    // unpublishable): a batch header alone is 61 bytes, so even a compressed record is over the
    // limit; librdkafka's own limit is far above it, so the records are sent.
    // The limit is lowered under the running bridge: at start the bridge refuses topics too
    // small for its largest record (docs/delivery.md, record sizes).
    const std::string order_topic = prefix + "order.events";
    create_topic(brokers, order_topic, 1);
    create_topic(brokers, prefix + "webhooks.deadletter", 1);
    const std::string accepted_body = example("subscription.renewal.success");
    auto bridge = start();
    set_topic_config_and_wait(brokers, order_topic, "max.message.bytes", "100");
    set_topic_config_and_wait(brokers, prefix + "webhooks.deadletter", "max.message.bytes", "100");
    const auto accepted = post_signed(bridge->port(), accepted_body);
    REQUIRE(accepted);
    CHECK(accepted->status == 200);
    CHECK(json_field(accepted->body, "status") == "accepted");
    const auto refused = post_signed(bridge->port(), kDomainOrderSuccess);
    REQUIRE(refused);
    CHECK(refused->status == 422);
    CHECK(json_field(refused->body, "error") == "unpublishable");
    stop(bridge);
    // The bridge flushed its producer at exit: a marker it wrote for the refused event would
    // be on the topic now.
    CHECK(read_topic(brokers, order_topic).empty());
    CHECK(keys_of(read_topic(brokers, prefix + "webhooks.dedup")) ==
          std::vector<std::string>{json_field(accepted_body, "eventId")});

    set_topic_config_and_wait(brokers, order_topic, "max.message.bytes", "2097152");
    set_topic_config_and_wait(brokers, prefix + "webhooks.deadletter", "max.message.bytes",
                              "2097152");
    bridge = start();
    const auto retried = post_signed(bridge->port(), kDomainOrderSuccess);
    REQUIRE(retried);
    CHECK(retried->status == 200);
    CHECK(json_field(retried->body, "status") == "accepted");
    stop(bridge);
    const auto published = read_topic(brokers, order_topic);
    REQUIRE(published.size() == 1);
    std::vector<ConsumedRecord> order_markers;
    for (const auto& marker : read_topic(brokers, prefix + "webhooks.dedup")) {
      if (marker.key == json_field(kDomainOrderSuccess, "eventId"))
        order_markers.push_back(marker);
    }
    REQUIRE(order_markers.size() == 1);
    CHECK(order_markers[0].value.find("\"offset\":" + std::to_string(published[0].offset)) !=
          std::string::npos);
  }

  TEST_CASE_FIXTURE(GuaranteesFixture,
                    "idempotence: the broker holds one producer id and its sequence for the "
                    "bridge's records; a non-idempotent writer leaves none") {
    REQUIRE(broker_reachable(brokers, 20s));
    const std::string control = prefix + "control";
    create_topic(brokers, control, 1);
    produce_to_partition(brokers, control, 0, "k", "v", {{"enable.idempotence", "false"}});
    CHECK(active_producers(brokers, control, 0).empty());

    auto bridge = start();
    constexpr int kRecords = 3;
    for (int i = 0; i < kRecords; ++i) {
      std::string body = kDomainOrderSuccess;
      const std::string id = json_field(body, "eventId");
      body.replace(body.find(id), id.size(), id.substr(0, id.size() - 1) + std::to_string(i));
      const auto res = post_signed(bridge->port(), body);
      REQUIRE(res);
      CHECK(res->status == 200);
    }
    const auto producers = active_producers(brokers, prefix + "order.events", 0);
    REQUIRE(producers.size() == 1);
    CHECK(producers[0].producer_id >= 0);
    CHECK(producers[0].epoch >= 0);
    // Sequences count records from 0 per partition and producer id.
    CHECK(producers[0].last_sequence == kRecords - 1);
    stop(bridge);
  }

  TEST_CASE_FIXTURE(GuaranteesFixture,
                    "the spool forwarder publishes a record Kafka could not take once it can, "
                    "and writes its marker after that delivery") {
    REQUIRE(broker_reachable(brokers, 20s));
    const std::string order_topic = prefix + "order.events";
    auto bridge = start({{"CMR_BRIDGE_SPOOL_DIR", spool_dir},
                         {"CMR_BRIDGE_SPOOL_RETRY_MS", "200"},
                         {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "1500"}});
    // The topic the bridge created is gone: with topic creation on, an unknown topic is a
    // transient failure (it may be being created), so the event is spooled.
    REQUIRE(wait_partition_count(brokers, order_topic, 1));  // created by the bridge
    delete_topic(brokers, order_topic);
    REQUIRE(wait_partition_count(brokers, order_topic, -1));
    const auto spooled = post_signed(bridge->port(), kDomainOrderSuccess);
    REQUIRE(spooled);
    CHECK(spooled->status == 200);
    CHECK(spooled->body.find(R"("spooled":true)") != std::string::npos);
    CHECK(read_topic(brokers, prefix + "webhooks.dedup").empty());

    create_topic(brokers, order_topic, 1);
    CHECK(wait_gauge(*bridge, "cmr_bridge_spool_records", "0"));
    stop(bridge);

    const auto published = read_topic(brokers, order_topic);
    REQUIRE(published.size() == 1);
    const auto markers = read_topic(brokers, prefix + "webhooks.dedup");
    REQUIRE(markers.size() == 1);
    CHECK(markers[0].key == json_field(kDomainOrderSuccess, "eventId"));
    CHECK(markers[0].value.find("\"offset\":" + std::to_string(published[0].offset)) !=
          std::string::npos);
  }
}
