#include <doctest/doctest.h>

#include "core/envelope.h"
#include "core/routing.h"
#include "support/samples.h"

using namespace cmr_bridge;

TEST_SUITE("envelope") {
  TEST_CASE("the documented example parses with its event, eventId and keys") {
    const auto result = parse_envelope(test::kDomainOrderSuccess);
    REQUIRE(result.error == EnvelopeError::kNone);
    CHECK(result.envelope->event() == "domain.order.success");
    CHECK(result.envelope->event_id() == "6SSHBXWR3N4JEKGRQSG3KW3D76N6");
    CHECK(result.envelope->first_string({"/missing", "/orderId"}) ==
          "NQ682GAVFTMYC2H6C87PPKPG5WXV");
  }

  TEST_CASE("key candidates skip absent, empty and non-string values") {
    const auto result = parse_envelope(
        R"({"event":"e","eventId":"i","data":{"orderId":"","mailboxId":7,"userId":"U1"}})");
    REQUIRE(result.error == EnvelopeError::kNone);
    CHECK(result.envelope->first_string({"/orderId", "/mailboxId", "/userId"}) == "U1");
    CHECK_FALSE(result.envelope->first_string({"/orderId", "/nope"}));
  }

  TEST_CASE("invalid JSON is reported with where it failed") {
    for (const char* body : {"", "{", "{\"event\":", "not json", "{} trailing", "[1,2"}) {
      CAPTURE(body);
      const auto result = parse_envelope(body);
      CHECK(result.error == EnvelopeError::kInvalidJson);
      CHECK_FALSE(result.detail.empty());
    }
  }

  TEST_CASE("invalid UTF-8 inside strings is invalid JSON") {
    const std::string body = "{\"event\":\"a\xff\",\"eventId\":\"i\",\"data\":{}}";
    CHECK(parse_envelope(body).error == EnvelopeError::kInvalidJson);
  }

  TEST_CASE("a lone UTF-16 surrogate escape is invalid JSON; a proper pair is fine (fuzz F1)") {
    const auto lone = parse_envelope(R"({"event":"m","eventId":"\uDC0B","data":{}})");
    CHECK(lone.error == EnvelopeError::kInvalidJson);
    CHECK(lone.detail.find("surrogate") != std::string::npos);
    CHECK(parse_envelope(R"({"event":"m","eventId":"e","data":{"\uD800":1}})").error ==
          EnvelopeError::kInvalidJson);
    const auto pair =
        parse_envelope(R"({"event":"m","eventId":"\uD83D\uDE00","data":{"k":"\uD7FF"}})");
    CHECK(pair.error == EnvelopeError::kNone);
  }

  TEST_CASE("nesting beyond the limit is refused without recursion") {
    std::string deep(100000, '[');
    deep += std::string(100000, ']');
    const auto result = parse_envelope(deep);
    CHECK(result.error == EnvelopeError::kInvalidJson);
    CHECK(result.detail.find("nesting") != std::string::npos);
    std::string ok = R"({"event":"e","eventId":"i","data":{"a":)";
    ok += std::string(60, '[') + std::string(60, ']') + "}}";
    CHECK(parse_envelope(ok).error == EnvelopeError::kNone);
  }

  TEST_CASE("envelope rules: event and eventId non-empty strings, data an object") {
    struct Case {
      const char* body;
      const char* detail_mentions;
    };
    const Case cases[] = {
        {R"([])", "object"},
        {R"({"eventId":"i","data":{}})", "event"},
        {R"({"event":"","eventId":"i","data":{}})", "event"},
        {R"({"event":5,"eventId":"i","data":{}})", "event"},
        {R"({"event":"e","data":{}})", "eventId"},
        {R"({"event":"e","eventId":12,"data":{}})", "eventId"},
        {R"({"event":"e","eventId":"i"})", "data"},
        {R"({"event":"e","eventId":"i","data":[]})", "data"},
        {R"({"event":"e","eventId":"i","data":"x"})", "data"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.body);
      const auto result = parse_envelope(c.body);
      CHECK(result.error == EnvelopeError::kInvalidEnvelope);
      CHECK(result.detail.find(c.detail_mentions) != std::string::npos);
    }
  }

  TEST_CASE("a bad envelope still yields the identity it has, for the dead-letter headers") {
    const auto result = parse_envelope(R"({"event":"mailbox.created","eventId":"E1","data":5})");
    CHECK(result.error == EnvelopeError::kInvalidEnvelope);
    CHECK(result.event == "mailbox.created");
    CHECK(result.event_id == "E1");
  }
}

TEST_SUITE("routing") {
  TEST_CASE("glob matching") {
    CHECK(glob_match("subscription.*", "subscription.renewal.success"));
    CHECK(glob_match("*", ""));
    CHECK(glob_match("a*b*c", "axxbyyc"));
    CHECK_FALSE(glob_match("a*b*c", "axxbyy"));
    CHECK_FALSE(glob_match("mailbox.created", "mailbox.created2"));
    CHECK(glob_match("mailbox.*.success", "mailbox.order.success"));
  }

  TEST_CASE("the default table routes every documented event to its lifecycle topic") {
    const TopicNames topics;
    const auto table = RouteTable::defaults(topics);
    struct Case {
      const char* event;
      const std::string& topic;
      const char* first_key;
    };
    const Case cases[] = {
        {"domain.order.success", topics.order, "/orderId"},
        {"domain.order.failed", topics.order, "/orderId"},
        {"mailbox.order.success", topics.order, "/orderId"},
        {"mailbox.order.failed", topics.order, "/orderId"},
        {"mailbox.created", topics.order, "/orderId"},
        {"mailbox.updated", topics.order, "/orderId"},
        {"subscription.renewal.success", topics.subscription, "/subscriptionId"},
        {"subscription.renewal.failed", topics.subscription, "/subscriptionId"},
        {"subscription.cancelled", topics.subscription, "/subscriptionId"},
        {"subscription.renewing", topics.subscription, "/subscriptionId"},
        {"prewarmup.order.success", topics.prewarmup, "/orderId"},
        {"prewarmup.order.failed", topics.prewarmup, "/orderId"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.event);
      const Route* route = table.find(c.event);
      REQUIRE(route != nullptr);
      CHECK(route->topic == c.topic);
      CHECK(route->key_pointers.front() == c.first_key);
      CHECK(route->key_pointers.back() == "/userId");
    }
  }

  TEST_CASE("events outside the documented lifecycles have no route") {
    const auto table = RouteTable::defaults(TopicNames{});
    CHECK(table.find("domain.renewal.success") == nullptr);
    CHECK(table.find("mailbox.exported") == nullptr);
    CHECK(table.find("dns-record.updated") == nullptr);
    CHECK(table.find("") == nullptr);
  }
}
