// The published contract: schemas/ (examples, event schemas, AsyncAPI) agrees with the code
// that routes and validates.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "config/file_loaders.h"
#include "config/settings.h"
#include "core/envelope.h"
#include "core/routing.h"
#include "metrics/prometheus_observer.h"

using namespace cmr_bridge;
namespace fs = std::filesystem;

namespace {
const fs::path kSchemas = CMR_BRIDGE_SOURCE_SCHEMA_DIR;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_SUITE("contract") {
  TEST_CASE("every documented event has an example that parses, routes and validates") {
    const TopicNames topics;
    const auto routes = RouteTable::defaults(topics);
    const auto loaded = load_schemas(kSchemas.string(), routes);
    REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message()));
    const auto& schemas = loaded.value();
    for (const auto& event : documented_events()) {
      CAPTURE(event);
      const std::string body = read(kSchemas / "examples" / (event + ".json"));
      const auto parsed = parse_envelope(body);
      REQUIRE(parsed.error == EnvelopeError::kNone);
      CHECK(parsed.envelope->event() == event);
      const Route* route = routes.find(event);
      REQUIRE(route != nullptr);
      CHECK(parsed.envelope->first_string(route->key_pointers).has_value());
      const auto violation = schemas->validate(event, parsed.envelope->data());
      CHECK_MESSAGE(!violation, *violation);
    }
  }

  TEST_CASE("the documented domain.order.success example is CMR's, byte for byte") {
    std::string example = read(kSchemas / "examples" / "domain.order.success.json");
    while (!example.empty() && (example.back() == '\n' || example.back() == '\r'))
      example.pop_back();
    CHECK(example ==
          read(fs::path(CMR_BRIDGE_SOURCE_DIR) / "deploy/local/samples/domain.order.success.json"));
  }

  TEST_CASE("the schemas reject what they must and keep extra fields") {
    const auto routes = RouteTable::defaults(TopicNames{});
    const auto loaded = load_schemas(kSchemas.string(), routes);
    REQUIRE(loaded.ok());
    const auto& schemas = loaded.value();
    const auto check = [&](const char* event, const char* data) {
      rapidjson::Document doc;
      doc.Parse(data);
      return schemas->validate(event, doc);
    };
    CHECK(check("domain.order.success",
                R"({"userId":"U","userEmail":"e","orderId":"O","domainId":"D","domainName":"n",
                    "creationTime":"t","expiryDate":"t","price":1,"brandNew":{"x":1}})") ==
          std::nullopt);
    CHECK(check("domain.order.success",
                R"({"userId":"U","userEmail":"e","orderId":"O","domainId":"D","domainName":"n",
                    "creationTime":"t","expiryDate":"t","price":"15.88"})")
              .has_value());
    CHECK(check("subscription.cancelled", R"({"userId":"U"})").has_value());
    CHECK(check("mailbox.updated",
                R"({"mailboxId":"M","userId":"U","updatedFields":{"firstName":"Zoë"}})") ==
          std::nullopt);
  }

  TEST_CASE("the AsyncAPI document covers every routed event and every file it refers to exists") {
    const std::string asyncapi = read(kSchemas / "asyncapi.yaml");
    for (const auto& event : documented_events()) {
      CAPTURE(event);
      CHECK(asyncapi.find("./events/" + event + ".json") != std::string::npos);
    }
    for (const char* topic : {"cmr.order.events", "cmr.subscription.events", "cmr.prewarmup.events",
                              "cmr.webhooks.deadletter", "cmr.webhooks.dedup"}) {
      CHECK(asyncapi.find(topic) != std::string::npos);
    }
    const std::regex file_ref(R"(\$ref:\s*['"]?(\./[^'"#\s]+))");
    int refs = 0;
    for (auto it = std::sregex_iterator(asyncapi.begin(), asyncapi.end(), file_ref);
         it != std::sregex_iterator(); ++it) {
      const std::string path = (*it)[1];
      CAPTURE(path);
      CHECK(fs::exists(kSchemas / path));
      ++refs;
    }
    CHECK(refs >= 11);
  }

  TEST_CASE(
      "every configuration variable is documented in docs/configuration.md with its default") {
    const std::string doc = read(fs::path(CMR_BRIDGE_SOURCE_DIR) / "docs" / "configuration.md");
    for (const auto& setting : settings()) {
      const std::string name(setting.name);
      CAPTURE(name);
      const auto row = doc.find("| `" + name + "` | ");
      REQUIRE(row != std::string::npos);
      const std::string line = doc.substr(row, doc.find('\n', row) - row);
      CHECK(line.find(setting.default_text()) != std::string::npos);
    }
  }

  TEST_CASE("every metric the bridge exposes is documented in docs/operations.md") {
    const std::string operations_doc =
        read(fs::path(CMR_BRIDGE_SOURCE_DIR) / "docs" / "operations.md");
    const std::string scrape = PrometheusObserver().scrape();
    int metrics = 0;
    for (std::size_t at = scrape.find("# HELP "); at != std::string::npos;
         at = scrape.find("# HELP ", at + 1)) {
      const std::string name = scrape.substr(at + 7, scrape.find(' ', at + 7) - at - 7);
      CAPTURE(name);
      CHECK(operations_doc.find("`" + name + "`") != std::string::npos);
      ++metrics;
    }
    CHECK(metrics > 10);
  }
}
