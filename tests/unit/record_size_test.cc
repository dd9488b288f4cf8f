// The start-up rule for record sizes (src/kafka/record_size.h): body cap + overhead against the
// producer's message.max.bytes and a topic's max.message.bytes.
#include "kafka/record_size.h"

#include <doctest/doctest.h>

using namespace cmr_bridge;

TEST_SUITE("record_size") {
  TEST_CASE("the producer's message.max.bytes is raised only when the largest record needs it") {
    KafkaSettings kafka;
    CHECK(largest_record_bytes(1048576) == 1064960);
    const auto raised = producer_message_max_bytes(kafka, 1048576);
    REQUIRE(raised);
    CHECK(raised.value() == std::optional<std::string>("1064960"));
    const auto fits = producer_message_max_bytes(kafka, 500000);
    REQUIRE(fits);
    CHECK_FALSE(fits.value().has_value());
  }

  TEST_CASE("an operator's message.max.bytes is kept when it fits, refused naming both when not") {
    KafkaSettings kafka;
    kafka.extra_properties = {{"message.max.bytes", "2000000"}};
    const auto kept = producer_message_max_bytes(kafka, 1048576);
    REQUIRE(kept);
    CHECK_FALSE(kept.value().has_value());
    kafka.extra_properties = {{"message.max.bytes", "1000000"}};
    const auto refused = producer_message_max_bytes(kafka, 1048576);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message() ==
          "CMR_BRIDGE_KAFKA_PROP_message.max.bytes (1000000) is below CMR_BRIDGE_MAX_BODY_BYTES "
          "(1048576) + 16384 bytes of record overhead = 1064960: raise it, leave it unset (the "
          "bridge then sets it), or lower CMR_BRIDGE_MAX_BODY_BYTES");
  }

  TEST_CASE("a topic's max.message.bytes below the largest record is reported, naming both") {
    CHECK(check_topic_fits_records("t", "1064960", 1048576));
    const auto small = check_topic_fits_records("t", "1048588", 1048576);
    REQUIRE_FALSE(small);
    CHECK(small.error().message() ==
          "topic t has max.message.bytes=1048588, below CMR_BRIDGE_MAX_BODY_BYTES (1048576) + "
          "16384 bytes of record overhead = 1064960: a record larger than the topic's limit is "
          "refused by the broker and dead-lettered or quarantined; raise the topic's "
          "max.message.bytes (the bridge sets it on the topics it creates) or lower "
          "CMR_BRIDGE_MAX_BODY_BYTES");
    CHECK_FALSE(check_topic_fits_records("t", "lots", 1048576));
  }
}
