#include "core/envelope.h"

#include <doctest/doctest.h>

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

TEST_SUITE("envelope raw data") {
  TEST_CASE("raw_data is the exact data object, whitespace and all") {
    const std::string body =
        "{ \"event\" : \"e\", \"data\" :  { \"a\" : [ 1 , {} ] } , \"eventId\":\"i\"}";
    const auto parsed = parse_envelope(body);
    REQUIRE(parsed.error == EnvelopeError::kNone);
    CHECK(parsed.envelope->raw_data() == "{ \"a\" : [ 1 , {} ] }");
  }

  TEST_CASE("a repeated envelope key is refused as ambiguous") {
    for (const char* body : {R"({"event":"a","event":"b","eventId":"i","data":{}})",
                             R"({"event":"a","eventId":"i","data":{},"data":{"x":1}})",
                             R"({"event":"a","eventId":"i","eventId":"j","data":{}})"}) {
      CAPTURE(body);
      CHECK(parse_envelope(body).error == EnvelopeError::kInvalidEnvelope);
    }
    // Repeats below the top level are the sender's business and pass through.
    CHECK(parse_envelope(R"({"event":"a","eventId":"i","data":{"x":1,"x":2}})").error ==
          EnvelopeError::kNone);
  }
}
