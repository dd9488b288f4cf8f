// The settings table itself: each entry is complete and consistent, and everything derived from
// it (--help, docs/configuration.md) lists every entry.
#include "config/settings.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "config/env_config.h"
#include "config/settings_doc.h"

using namespace cmr_bridge;

TEST_SUITE("settings table") {
  TEST_CASE("every entry has a unique CMR_BRIDGE_ name, a description and a codec") {
    std::set<std::string_view> names;
    for (const auto& setting : settings()) {
      CAPTURE(setting.name);
      CHECK(setting.name.starts_with("CMR_BRIDGE_"));
      CHECK(names.insert(setting.name).second);
      CHECK_FALSE(setting.description.empty());
      CHECK(setting.description.back() == '.');
      CHECK(static_cast<bool>(setting.codec.parse) == !setting.is_family());
      CHECK(static_cast<bool>(setting.codec.format) == !setting.is_family());
    }
    CHECK(names.size() > 40);
  }

  TEST_CASE("every entry parses its own default back to the same value") {
    const Config defaults;
    for (const auto& setting : settings()) {
      if (setting.is_family())
        continue;
      CAPTURE(setting.name);
      const std::string text = setting.codec.format(defaults);
      if (text.empty()) {
        CHECK(setting.default_text() == setting.when_unset);  // unset by default
        continue;
      }
      CHECK_FALSE(setting.required);
      Config parsed;
      const Status status = setting.codec.parse(text, parsed);
      REQUIRE_MESSAGE(status.ok(), status.error().message());
      CHECK(setting.codec.format(parsed) == text);
      CHECK(setting.default_text() == text);
    }
  }

  TEST_CASE("a setting parsed from its formatted value keeps that value") {
    Config config;
    config.listen = {"::", 8443};
    config.kafka.topic_configs = {{"min.insync.replicas", "2"}};
    config.credential_fields = {"pin", "/a/b"};
    config.log_level = LogLevel::kError;
    for (const auto& setting : settings()) {
      if (setting.is_family())
        continue;
      CAPTURE(setting.name);
      const std::string text = setting.codec.format(config);
      if (text.empty())
        continue;
      Config parsed;
      REQUIRE(setting.codec.parse(text, parsed).ok());
      CHECK(setting.codec.format(parsed) == text);
    }
  }

  TEST_CASE("only exact names are found; the pass-through family is matched by prefix") {
    CHECK(find_setting("CMR_BRIDGE_KAFKA_BROKERS") != nullptr);
    CHECK(find_setting("CMR_BRIDGE_KAFKA_BROKER") == nullptr);
    CHECK(find_setting("CMR_BRIDGE_KAFKA_PROP_<NAME>") == nullptr);
    bool family = false;
    for (const auto& setting : settings())
      family = family || (setting.is_family() && setting.prefix() == kKafkaPropertyPrefix);
    CHECK(family);
    CHECK(is_secret_kafka_property("sasl.password"));
    CHECK(is_secret_kafka_property("ssl.key.pem"));
    CHECK_FALSE(is_secret_kafka_property("security.protocol"));
  }

  TEST_CASE("--help lists every entry with its default") {
    const std::string help = settings_help();
    for (const auto& setting : settings()) {
      CAPTURE(setting.name);
      CHECK(help.find("  " + std::string(setting.name) + " (default " + setting.default_text() +
                      ")\n") != std::string::npos);
    }
    CHECK(help.find('`') == std::string::npos);
    CHECK(help.find("](") == std::string::npos);
    CHECK(help.find("see Routing)") != std::string::npos);
    CHECK(help.find("redact (\"[REDACTED]\")") != std::string::npos);
  }

  TEST_CASE("docs/configuration.md is what the table generates") {
    const std::filesystem::path path =
        std::filesystem::path(CMR_BRIDGE_SOURCE_DIR) / "docs" / "configuration.md";
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, path.string() << " is missing");
    const std::string committed((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
    CHECK_MESSAGE(committed == configuration_markdown(),
                  "docs/configuration.md is out of date; regenerate it with "
                  "`build/cmr-bridge config-doc > docs/configuration.md`");
  }

  TEST_CASE("the documented example config file loads") {
    const std::string doc = configuration_markdown();
    const auto start = doc.find("```json\n");
    REQUIRE(start != std::string::npos);
    const auto end = doc.find("```", start + 8);
    const auto loaded =
        load_config_from({}, ConfigFile{doc.substr(start + 8, end - start - 8), "example"});
    REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().joined()));
    CHECK(loaded->config.signing_keys.size() == 2);
    CHECK(loaded->config.kafka.extra_properties.size() == 2);
  }
}
