#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <map>

#include "core/cloudevents.h"
#include "core/routing.h"
#include "core/schema_set.h"

using namespace cmr_bridge;
using namespace std::chrono;

namespace {
const auto kSent = system_clock::time_point(seconds(1709942399));
const auto kReceived = system_clock::time_point(milliseconds(1709942399250));

Record normalize(const std::string& body, CloudEventsMode mode, std::string_view key = "K") {
  static const Route route{"prewarmup.*", "prewarmup", "cmr.prewarmup.events", {"/orderId"}, ""};
  const auto parsed = parse_envelope(body);
  REQUIRE(parsed.error == EnvelopeError::kNone);
  return make_cloudevent_record(
      {*parsed.envelope, route, key, kSent, kReceived, "body-hex", parsed.envelope->raw_data()},
      {mode, "cmr-test"});
}

std::string attribute(const rapidjson::Document& doc, const char* name) {
  const auto it = doc.FindMember(name);
  return it == doc.MemberEnd() ? "<absent>" : std::string(it->value.GetString());
}
}  // namespace

TEST_SUITE("cloudevents") {
  TEST_CASE("structured mode carries every attribute and the sender's data bytes unchanged") {
    const std::string data =
        R"({ "userId":"U1","orderId":"O1","serviceProvider":"MICROSOFT","price":1e2,)"
        R"("big":123456789012345678901234567890,"name":"Jos\u00e9 M\u00fcller","extra":{"x":[1,2]}})";
    const std::string body =
        R"({"event":"prewarmup.order.success","eventId":"E1","data":)" + data + "}";
    const Record record = normalize(body, CloudEventsMode::kStructured);
    CHECK(record.topic == "cmr.prewarmup.events");
    CHECK(record.key == "K");
    rapidjson::Document doc;
    doc.Parse(record.value.c_str());
    REQUIRE(doc.IsObject());
    CHECK(attribute(doc, "specversion") == "1.0");
    CHECK(attribute(doc, "id") == "E1");
    CHECK(attribute(doc, "source") == "cmr-test");
    CHECK(attribute(doc, "type") == "prewarmup.order.success");
    CHECK(attribute(doc, "time") == "2024-03-08T23:59:59.000Z");
    CHECK(attribute(doc, "receivedtime") == "2024-03-08T23:59:59.250Z");
    CHECK(attribute(doc, "subject") == "K");
    CHECK(attribute(doc, "datacontenttype") == "application/json");
    CHECK(attribute(doc, "lifecycle") == "prewarmup");
    CHECK(attribute(doc, "outcome") == "success");
    CHECK(attribute(doc, "userid") == "U1");
    CHECK(attribute(doc, "orderid") == "O1");
    CHECK(attribute(doc, "provider") == "MICROSOFT");
    CHECK(attribute(doc, "signaturescheme") == "body-hex");
    CHECK(attribute(doc, "mailboxid") == "<absent>");
    CHECK(attribute(doc, "domain") == "<absent>");
    // Numbers beyond double precision, escapes and spacing survive as written.
    CHECK(record.value.find("\"data\":" + data) != std::string::npos);
  }

  TEST_CASE("binary mode puts attributes in ce_ headers and data alone in the value") {
    const std::string data = R"({"userId":"U1","domainName":"a.com","workspaceType":"GOOGLE"})";
    const Record record =
        normalize(R"({"event":"mailbox.order.failed","eventId":"E2","data":)" + data + "}",
                  CloudEventsMode::kBinary, "");
    CHECK(record.value == data);
    std::map<std::string, std::string> headers;
    for (const auto& h : record.headers)
      headers[h.name] = h.value;
    CHECK(headers["content-type"] == "application/json");
    CHECK(headers["ce_specversion"] == "1.0");
    CHECK(headers["ce_id"] == "E2");
    CHECK(headers["ce_type"] == "mailbox.order.failed");
    CHECK(headers["ce_outcome"] == "failed");
    CHECK(headers["ce_domain"] == "a.com");
    CHECK(headers["ce_provider"] == "GOOGLE");
    CHECK(headers.count("ce_subject") == 0);  // empty key: no subject
  }

  TEST_CASE("the outcome is the last segment of the event name") {
    CHECK(event_outcome("subscription.cancelled") == "cancelled");
    CHECK(event_outcome("mailbox.created") == "created");
    CHECK(event_outcome("odd") == "odd");
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

TEST_SUITE("schemas") {
  TEST_CASE("a broken schema fails compilation naming its origin") {
    std::string error;
    CHECK_FALSE(SchemaSet::compile({{"a", "/x/a.json", "{oops"}}, &error));
    CHECK(error.find("/x/a.json") == 0);
    CHECK_FALSE(SchemaSet::compile({{"a", "/x/b.json", "[]"}}, &error));
    CHECK(error.find("/x/b.json") == 0);
  }

  TEST_CASE("pattern keywords are refused: RapidJSON's regex is not thread-safe") {
    std::string error;
    CHECK_FALSE(SchemaSet::compile(
        {{"a", "/x/a.json", R"({"properties":{"t":{"type":"string","pattern":"^[0-9]+$"}}})"}},
        &error));
    CHECK(error.find("/x/a.json") == 0);
    CHECK(error.find("pattern") != std::string::npos);
    CHECK_FALSE(SchemaSet::compile({{"b", "b", R"({"patternProperties":{"^x":{}}})"}}, &error));
  }

  TEST_CASE("validation reports the first violation as pointer and keyword") {
    std::string error;
    const auto set = SchemaSet::compile(
        {{"e", "t", R"({"type":"object","required":["id"],"properties":{"n":{"type":"number"},
            "list":{"type":"array","items":{"type":"object","required":["k"]}}}})"}},
        &error);
    REQUIRE(set);
    const auto check = [&](const char* json) {
      rapidjson::Document doc;
      doc.Parse(json);
      return set->validate("e", doc);
    };
    CHECK_FALSE(check(R"({"id":"x","n":1,"unknown":true})"));
    CHECK(check(R"({"n":1})") == std::optional<std::string>("/: required"));
    CHECK(check(R"({"id":"x","n":"1"})") == std::optional<std::string>("/n: type"));
    CHECK(check(R"({"id":"x","list":[{"k":1},{}]})") ==
          std::optional<std::string>("/list/1: required"));
  }
}

TEST_SUITE("routes file") {
  const TopicNames kTopics;

  TEST_CASE("routes resolve lifecycle aliases, literal topics and defaults") {
    const auto result = parse_routes_file(R"({"routes":[
        {"match":"domain.renewal.*","topic":"order","key":["/domainId","/userId"],"schema":"none"},
        {"match":"mailbox.exported","topic":"cmr.exports","lifecycle":"order"},
        {"match":"dns-record.updated","topic":"cmr.dns"}]})",
                                          "routes.json", kTopics);
    REQUIRE(result.errors.empty());
    REQUIRE(result.routes.size() == 3);
    CHECK(result.routes[0].topic == kTopics.order);
    CHECK(result.routes[0].lifecycle == "order");
    CHECK(result.routes[0].schema == "none");
    CHECK(result.routes[0].key_pointers == std::vector<std::string>{"/domainId", "/userId"});
    CHECK(result.routes[1].topic == "cmr.exports");
    CHECK(result.routes[1].lifecycle == "order");
    CHECK(result.routes[1].key_pointers == std::vector<std::string>{"/userId"});
    CHECK(result.routes[2].lifecycle == "other");
  }

  TEST_CASE("file routes come before the built-in ones, so they override them") {
    auto parsed = parse_routes_file(
        R"({"routes":[{"match":"mailbox.created","topic":"cmr.mailboxes"}]})", "r.json", kTopics);
    REQUIRE(parsed.errors.empty());
    const auto table = RouteTable::with_overrides(std::move(parsed.routes), kTopics);
    CHECK(table.find("mailbox.created")->topic == "cmr.mailboxes");
    CHECK(table.find("mailbox.updated")->topic == kTopics.order);
  }

  TEST_CASE("every problem is reported with the file and the route index") {
    const auto result = parse_routes_file(R"({"routes":[
        {"topic":"order"},
        {"match":"a","topic":""},
        {"match":"b","topic":"order","key":["orderId"]},
        {"match":"c","topic":"order","colour":"red"},
        5]})",
                                          "routes.json", kTopics);
    REQUIRE(result.errors.size() == 5);
    CHECK(result.errors[0] == "routes.json: routes[0].match: is required");
    CHECK(result.errors[1] == "routes.json: routes[1].topic: must be a non-empty string");
    CHECK(result.errors[2].find("routes[2].key") != std::string::npos);
    CHECK(result.errors[3].find("routes[3]: unknown field \"colour\"") != std::string::npos);
    CHECK(result.errors[4] == "routes.json: routes[4]: must be an object");
    CHECK(parse_routes_file("[]", "r.json", kTopics).errors.size() == 1);  // fuzz F2
    CHECK(parse_routes_file("\"x\"", "r.json", kTopics).errors.size() == 1);
    const std::string deep = R"({"routes":)" + std::string(200000, '[');  // fuzz F3
    CHECK(parse_routes_file(deep, "r.json", kTopics).errors.size() == 1);
    CHECK(parse_routes_file("{", "r.json", kTopics).errors.size() == 1);
  }
}
