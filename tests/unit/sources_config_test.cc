// The config file's "sources" (docs/sources.md): parsing, each profile's defaults, every problem
// named by source and field, the github dedup rule, and loading keys and schema folders.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config/env_config.h"
#include "config/file_loaders.h"

using namespace cmr_bridge;

namespace {

const std::map<std::string, std::string> kEnv = {{"CMR_BRIDGE_SIGNING_KEYS", "k"}};

Result<LoadedConfig> load_sources_text(const std::string& sources,
                                       std::map<std::string, std::string> env = kEnv) {
  return load_config_from(env, ConfigFile{R"({"sources": )" + sources + "}", "bridge.json"});
}

// The issue's minimal form, as written.
const std::string kIssueSources = R"([
  {"name": "acme", "profile": "standard-webhooks", "keys_env": "ACME_WEBHOOK_KEYS",
   "routes": [{"match": "*", "topic": "acme.events"}]},
  {"name": "gh", "profile": "github", "keys_env": "GH_WEBHOOK_KEYS",
   "routes": [{"match": "*", "topic": "gh.events"}]},
  {"name": "pay", "profile": "stripe", "keys_env": "PAY_WEBHOOK_KEYS",
   "routes": [{"match": "invoice.*", "topic": "pay.events"}, {"match": "*", "topic": "pay.other.events"}]}
])";

bool has_error(const Result<LoadedConfig>& result, const std::string& text) {
  if (result.ok())
    return false;
  for (const auto& message : result.error().messages()) {
    if (message == text)
      return true;
  }
  return false;
}

std::string all_errors(const Result<LoadedConfig>& result) {
  std::string text;
  if (!result.ok()) {
    for (const auto& message : result.error().messages())
      text += message + "\n";
  }
  return text;
}

}  // namespace

TEST_SUITE("sources config") {
  TEST_CASE("the issue's minimal form parses with each profile's defaults") {
    const auto loaded = load_sources_text(kIssueSources);
    REQUIRE_MESSAGE(loaded.ok(), all_errors(loaded));
    const auto& sources = loaded->config.sources;
    REQUIRE(sources.size() == 3);
    CHECK(sources[0].name == "acme");
    CHECK(sources[0].profile == "standard-webhooks");
    CHECK(sources[0].keys_env == "ACME_WEBHOOK_KEYS");
    CHECK(sources[0].cloudevents_source == "acme");
    CHECK(sources[0].tolerance == std::chrono::seconds(300));
    CHECK(sources[0].id.from == SourceField::From::kProfile);
    CHECK(sources[0].type.from == SourceField::From::kPointer);
    CHECK(sources[0].type.where == "/type");
    CHECK(sources[1].id.from == SourceField::From::kProfile);
    CHECK(sources[1].type.from == SourceField::From::kProfile);
    CHECK(sources[2].id.where == "/id");
    CHECK(sources[2].type.where == "/type");
    REQUIRE(sources[2].routes.size() == 2);
    CHECK(sources[2].routes[0].match == "invoice.*");
    CHECK(sources[2].routes[0].topic == "pay.events");
    CHECK(sources[2].routes[1].topic == "pay.other.events");
  }

  TEST_CASE("no sources: CMR alone, as before") {
    const auto loaded = load_config_from(kEnv);
    REQUIRE(loaded.ok());
    CHECK(loaded->config.sources.empty());
  }

  TEST_CASE("every optional field is read") {
    const auto loaded = load_sources_text(R"([
      {"name": "pay-2", "profile": "stripe", "keys_file": "/run/secrets/pay",
       "cloudevents_source": "https://pay.example", "tolerance_s": 60,
       "id": "header:X-Request-Id", "type": "/kind", "time": "/created",
       "schema_dir": "/etc/pay", "routes": [{"match": "a.*", "topic": "t1",
       "key": ["/data/object/customer", "/account"], "schema": "none"}]}])");
    REQUIRE_MESSAGE(loaded.ok(), all_errors(loaded));
    const SourceConfig& source = loaded->config.sources.at(0);
    CHECK(source.keys_file == "/run/secrets/pay");
    CHECK(source.cloudevents_source == "https://pay.example");
    CHECK(source.tolerance == std::chrono::seconds(60));
    CHECK(source.id.from == SourceField::From::kHeader);
    CHECK(source.id.where == "X-Request-Id");
    CHECK(source.type.where == "/kind");
    CHECK(source.time.where == "/created");
    CHECK(source.schema_dir == "/etc/pay");
    CHECK(source.routes.at(0).key == std::vector<std::string>{"/data/object/customer", "/account"});
    CHECK(source.routes.at(0).schema == "none");
  }

  TEST_CASE("each problem names the file, the source and the field, all at once") {
    const auto loaded = load_sources_text(R"([
      {"name": "Bad_Name", "profile": "standard-webhooks", "keys_env": "K",
       "routes": [{"match": "*", "topic": "t"}]},
      {"name": "acme", "profile": "svix", "keys_env": "K", "keys_file": "/k",
       "routes": [], "colour": "blue"},
      {"name": "acme", "profile": "github", "keys_env": "K", "tolerance_s": 10,
       "id": "id", "routes": [{"match": "", "topic": "bad topic", "key": "nope", "x": 1}]},
      {"name": "cmr", "profile": "cmr", "keys_env": "K", "routes": [{"match": "*", "topic": "t"}]},
      "not an object"
    ])");
    REQUIRE_FALSE(loaded.ok());
    CAPTURE(all_errors(loaded));
    CHECK(has_error(loaded,
                    "bridge.json: sources[0] (Bad_Name): name: is required: 1 to 32 of "
                    "a-z, 0-9 and '-' (served at /webhooks/<name>)"));
    CHECK(has_error(loaded,
                    "bridge.json: sources[1] (acme): profile: must be standard-webhooks, "
                    "github or stripe, got \"svix\""));
    CHECK(has_error(loaded,
                    "bridge.json: sources[1] (acme): keys_env: exactly one of keys_env "
                    "(a variable of comma-separated keys) and keys_file (a file of them) "
                    "is required"));
    CHECK(has_error(loaded,
                    "bridge.json: sources[1] (acme): routes: is required: a list of "
                    "{\"match\": \"<event type>\", \"topic\": ...}"));
    CHECK(has_error(loaded,
                    "bridge.json: sources[1] (acme): colour: unknown field (name, "
                    "profile, keys_env, keys_file, cloudevents_source, tolerance_s, id, "
                    "type, time, routes, schema_dir)"));
    CHECK(has_error(loaded, "bridge.json: sources[2] (acme): name: is used by an earlier source"));
    CHECK(has_error(loaded,
                    "bridge.json: sources[2] (acme): tolerance_s: github requests carry "
                    "no timestamp; leave it out"));
    CHECK(has_error(loaded,
                    "bridge.json: sources[2] (acme): id: must be \"header:<Name>\" or a "
                    "JSON pointer like \"/id\", got \"id\""));
    CHECK(has_error(loaded,
                    "bridge.json: sources[2] (acme): routes[0].match: is required: an "
                    "event type or a glob like \"invoice.*\""));
    CHECK(has_error(loaded,
                    "bridge.json: sources[2] (acme): routes[0].topic: is required: a "
                    "Kafka topic name (letters, digits, '.', '_', '-'; up to 249)"));
    CHECK(has_error(loaded,
                    "bridge.json: sources[2] (acme): routes[0].key: must be a JSON "
                    "pointer like \"/customer\" (or a list of them)"));
    CHECK(has_error(loaded,
                    "bridge.json: sources[2] (acme): routes[0]: unknown field \"x\" "
                    "(match, topic, key, schema)"));
    CHECK(has_error(loaded,
                    "bridge.json: sources[3] (cmr): name: \"cmr\" is the built-in CMR "
                    "source"));
    CHECK(has_error(loaded,
                    "bridge.json: sources[3] (cmr): profile: \"cmr\" is the built-in "
                    "source at /webhooks/cmr; a declared source uses standard-webhooks, "
                    "github or stripe"));
    CHECK(has_error(loaded, "bridge.json: sources[4]: source: must be an object"));
  }

  TEST_CASE("a github source needs dedup on for at least a day, naming the setting") {
    const std::string gh = R"([{"name": "gh", "profile": "github", "keys_env": "GH",
                                "routes": [{"match": "*", "topic": "gh.events"}]}])";
    auto env = kEnv;
    env["CMR_BRIDGE_DEDUP_TTL_S"] = "3600";
    const auto short_ttl = load_sources_text(gh, env);
    CHECK(has_error(short_ttl,
                    "CMR_BRIDGE_DEDUP_TTL_S: sources[0] (gh): profile github (no "
                    "timestamp: dedup is its only replay defence) needs at least 86400 "
                    "(a day), got 3600"));
    env["CMR_BRIDGE_DEDUP_TTL_S"] = "86400";
    CHECK(load_sources_text(gh, env).ok());
    env["CMR_BRIDGE_DEDUP"] = "false";
    CHECK(has_error(load_sources_text(gh, env),
                    "CMR_BRIDGE_DEDUP: sources[0] (gh): profile github (no timestamp: dedup is "
                    "its only replay defence) needs dedup on"));
  }

  TEST_CASE("sources not a list is refused") {
    CHECK(has_error(load_sources_text(R"({"name": "x"})"),
                    "bridge.json: sources: must be a list of sources (see docs/sources.md)"));
  }
}

TEST_SUITE("sources loading") {
  TEST_CASE("keys come from the variable or the file; a missing one is named, never its value") {
    const auto loaded = load_sources_text(kIssueSources);
    REQUIRE(loaded.ok());
    std::map<std::string, std::string> env = {
        {"ACME_WEBHOOK_KEYS", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD, whsec_c2Vjb25k"},
        {"GH_WEBHOOK_KEYS", "It's a Secret to Everybody"},
    };
    const auto missing = load_sources(loaded->config, env);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().messages() ==
          std::vector<std::string>{
              "sources[2] (pay): keys_env: the variable PAY_WEBHOOK_KEYS is not set"});
    env["PAY_WEBHOOK_KEYS"] = " , ";
    const auto empty = load_sources(loaded->config, env);
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().message() ==
          "sources[2] (pay): keys_env: the variable PAY_WEBHOOK_KEYS holds no key");
    env["PAY_WEBHOOK_KEYS"] = "whsec_pay";
    auto table = load_sources(loaded->config, env);
    REQUIRE(table.ok());
    REQUIRE((*table)->sources().size() == 3);
    const Source* pay = (*table)->find("pay");
    REQUIRE(pay != nullptr);
    CHECK(pay->profile == VerificationProfile::kStripe);
    CHECK(pay->routes.find("invoice.paid")->topic == "pay.events");
    CHECK(pay->routes.find("charge.failed")->topic == "pay.other.events");
    CHECK((*table)->find("cmr") == nullptr);
    CHECK((*table)->find("nobody") == nullptr);

    env["ACME_WEBHOOK_KEYS"] = "whsec_!!not-base64!!";
    const auto malformed = load_sources(loaded->config, env);
    REQUIRE_FALSE(malformed.ok());
    CHECK(malformed.error().message().rfind("sources[0] (acme): keys: ", 0) == 0);
    CHECK(malformed.error().message().find("!!not-base64!!") == std::string::npos);
  }

  TEST_CASE("a keys file and a schema folder are read; a schema a route names must exist") {
    const auto dir = std::filesystem::temp_directory_path() / "cmr-bridge-sources-unit";
    std::filesystem::create_directories(dir / "schemas");
    std::ofstream(dir / "keys") << "whsec_one\nwhsec_two\n";
    std::ofstream(dir / "schemas" / "invoice.paid.json")
        << R"({"type": "object", "required": ["id"]})";
    const auto loaded = load_sources_text(
        R"([{"name": "pay", "profile": "stripe", "keys_file": ")" + (dir / "keys").string() +
        R"(", "schema_dir": ")" + (dir / "schemas").string() +
        R"(", "routes": [{"match": "*", "topic": "t", "schema": "missing"}]}])");
    REQUIRE(loaded.ok());
    const auto refused = load_sources(loaded->config, {});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message() ==
          "sources[0] (pay): schema_dir: " + (dir / "schemas" / "missing.json").string() +
              " is missing (named by the route for \"*\")");
    Config config = loaded->config;
    config.sources[0].routes[0].schema.clear();
    auto table = load_sources(config, {});
    REQUIRE(table.ok());
    const Source* pay = (*table)->find("pay");
    REQUIRE(pay != nullptr);
    REQUIRE(pay->schemas != nullptr);
    CHECK(pay->schemas->contains("invoice.paid"));
    config.sources[0].keys_file = (dir / "absent").string();
    const auto unreadable = load_sources(config, {});
    REQUIRE_FALSE(unreadable.ok());
    CHECK(unreadable.error().message() ==
          "sources[0] (pay): keys_file: cannot read " + (dir / "absent").string());
    std::filesystem::remove_all(dir);
  }
}
