#include "core/cloudevents.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <map>

#include "core/envelope.h"
#include "core/routing.h"

using namespace cmr_bridge;
using namespace std::chrono;

namespace {
const auto kSent = system_clock::time_point(seconds(1709942399));
const auto kReceived = system_clock::time_point(milliseconds(1709942399250));

Record normalize(const std::string& body, CloudEventsMode mode, std::string_view key = "K",
                 std::string_view sent_timestamp = "1709942399", TraceContext trace = {}) {
  static const Route route{"prewarmup.*", "prewarmup", "cmr.prewarmup.events", {"/orderId"}, ""};
  const auto parsed = parse_envelope(body);
  REQUIRE(parsed.error == EnvelopeError::kNone);
  return make_cloudevent_record({*parsed.envelope, route, key, kSent, kReceived, "body-hex",
                                 parsed.envelope->raw_data(), sent_timestamp, trace},
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
    CHECK(attribute(doc, "cmrxtimestamp") == "1709942399");
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
    CHECK(headers["ce_cmrxtimestamp"] == "1709942399");
    CHECK(headers.count("ce_subject") == 0);  // empty key: no subject
  }

  TEST_CASE("the sender's cmr-x-timestamp is carried verbatim, in milliseconds as in seconds") {
    const std::string body = R"({"event":"prewarmup.order.failed","eventId":"E3","data":{}})";
    rapidjson::Document doc;
    const Record structured = normalize(body, CloudEventsMode::kStructured, "K", "1709942399250");
    doc.Parse(structured.value.c_str());
    REQUIRE(doc.IsObject());
    CHECK(attribute(doc, "cmrxtimestamp") == "1709942399250");
    const Record binary = normalize(body, CloudEventsMode::kBinary, "K", "1709942399250");
    std::map<std::string, std::string> headers;
    for (const auto& h : binary.headers)
      headers[h.name] = h.value;
    CHECK(headers["ce_cmrxtimestamp"] == "1709942399250");
  }

  TEST_CASE("the sender's trace context becomes distributed-tracing attributes and headers") {
    const std::string body = R"({"event":"prewarmup.order.failed","eventId":"E4","data":{}})";
    const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const std::string state = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
    const TraceContext trace{parent, state};
    const Record structured =
        normalize(body, CloudEventsMode::kStructured, "K", "1709942399", trace);
    rapidjson::Document doc;
    doc.Parse(structured.value.c_str());
    REQUIRE(doc.IsObject());
    CHECK(attribute(doc, "traceparent") == parent);
    CHECK(attribute(doc, "tracestate") == state);
    std::map<std::string, std::string> headers;
    for (const auto& h : structured.headers)
      headers[h.name] = h.value;
    CHECK(headers["traceparent"] == parent);
    CHECK(headers["tracestate"] == state);

    const Record binary = normalize(body, CloudEventsMode::kBinary, "K", "1709942399", trace);
    headers.clear();
    for (const auto& h : binary.headers)
      headers[h.name] = h.value;
    CHECK(headers["ce_traceparent"] == parent);
    CHECK(headers["ce_tracestate"] == state);
    CHECK(headers["traceparent"] == parent);
    CHECK(headers["tracestate"] == state);

    // A traceparent alone carries no tracestate.
    const Record parent_only =
        normalize(body, CloudEventsMode::kStructured, "K", "1709942399", {parent, {}});
    doc.Parse(parent_only.value.c_str());
    CHECK(attribute(doc, "traceparent") == parent);
    CHECK(attribute(doc, "tracestate") == "<absent>");
  }

  TEST_CASE("without a trace context no trace attribute or header is written") {
    const std::string body = R"({"event":"prewarmup.order.failed","eventId":"E5","data":{}})";
    for (const auto mode : {CloudEventsMode::kStructured, CloudEventsMode::kBinary}) {
      const Record record = normalize(body, mode);
      for (const auto& h : record.headers)
        CHECK(h.name.find("trace") == std::string::npos);
      CHECK(record.value.find("trace") == std::string::npos);
    }
  }

  TEST_CASE("the outcome is the last segment of the event name") {
    CHECK(event_outcome("subscription.cancelled") == "cancelled");
    CHECK(event_outcome("mailbox.created") == "created");
    CHECK(event_outcome("odd") == "odd");
  }
}
