#include "core/routing.h"

#include <doctest/doctest.h>

using namespace cmr_bridge;

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

TEST_SUITE("routes file") {
  const TopicNames kTopics;

  TEST_CASE("routes resolve lifecycle aliases, literal topics and defaults") {
    const auto result = parse_routes_file(R"({"routes":[
        {"match":"domain.renewal.*","topic":"order","key":["/domainId","/userId"],"schema":"none"},
        {"match":"mailbox.exported","topic":"cmr.exports","lifecycle":"order"},
        {"match":"dns-record.updated","topic":"cmr.dns"}]})",
                                          "routes.json", kTopics);
    REQUIRE(result);
    const auto& routes = result.value();
    REQUIRE(routes.size() == 3);
    CHECK(routes[0].topic == kTopics.order);
    CHECK(routes[0].lifecycle == "order");
    CHECK(routes[0].schema == "none");
    CHECK(routes[0].key_pointers == std::vector<std::string>{"/domainId", "/userId"});
    CHECK(routes[1].topic == "cmr.exports");
    CHECK(routes[1].lifecycle == "order");
    CHECK(routes[1].key_pointers == std::vector<std::string>{"/userId"});
    CHECK(routes[2].lifecycle == "other");
  }

  TEST_CASE("file routes come before the built-in ones, so they override them") {
    auto parsed = parse_routes_file(
        R"({"routes":[{"match":"mailbox.created","topic":"cmr.mailboxes"}]})", "r.json", kTopics);
    REQUIRE(parsed);
    const auto table = RouteTable::with_overrides(std::move(parsed).value(), kTopics);
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
    REQUIRE_FALSE(result);
    const auto& errors = result.error().messages();
    REQUIRE(errors.size() == 5);
    CHECK(errors[0] == "routes.json: routes[0].match: is required");
    CHECK(errors[1] == "routes.json: routes[1].topic: must be a non-empty string");
    CHECK(errors[2].find("routes[2].key") != std::string::npos);
    CHECK(errors[3].find("routes[3]: unknown field \"colour\"") != std::string::npos);
    CHECK(errors[4] == "routes.json: routes[4]: must be an object");
    CHECK(parse_routes_file("[]", "r.json", kTopics).error().messages().size() == 1);  // fuzz F2
    CHECK(parse_routes_file("\"x\"", "r.json", kTopics).error().messages().size() == 1);
    const std::string deep = R"({"routes":)" + std::string(200000, '[');  // fuzz F3
    CHECK(parse_routes_file(deep, "r.json", kTopics).error().messages().size() == 1);
    CHECK(parse_routes_file("{", "r.json", kTopics).error().messages().size() == 1);
  }
}
