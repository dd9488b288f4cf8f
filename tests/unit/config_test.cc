// Loading the configuration: environment, config file, errors and warnings, the start-up log.
#include <doctest/doctest.h>

#include "config/env_config.h"

using namespace cmr_bridge;

namespace {
bool mentions(const Result<LoadedConfig>& result, const std::string& variable) {
  if (result.ok())
    return false;
  for (const auto& error : result.error().messages()) {
    if (error.rfind(variable + ":", 0) == 0)
      return true;
  }
  return false;
}

std::size_t error_count(const Result<LoadedConfig>& result) {
  return result.ok() ? 0 : result.error().messages().size();
}

std::string described(const Config& config, const std::string& name) {
  for (const auto& [setting, value] : describe_config(config)) {
    if (setting == name)
      return value;
  }
  return "(not described)";
}
}  // namespace

TEST_SUITE("config") {
  TEST_CASE("defaults apply when only the signing keys are set") {
    const auto result = load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k1"}});
    REQUIRE(result.ok());
    const Config& c = result->config;
    CHECK(c.kafka.brokers == "127.0.0.1:9092");
    CHECK(c.listen.host == "0.0.0.0");
    CHECK(c.listen.port == 8080);
    CHECK(c.admin_listen.port == 9090);
    CHECK(c.timestamp_tolerance == std::chrono::seconds(300));
    CHECK(c.signature_scheme == SignatureScheme::kAuto);
    CHECK(c.delivery_timeout == std::chrono::milliseconds(10000));
    CHECK(c.topics.order == "cmr.order.events");
    CHECK(c.topics.subscription == "cmr.subscription.events");
    CHECK(c.topics.prewarmup == "cmr.prewarmup.events");
    CHECK(c.topics.deadletter == "cmr.webhooks.deadletter");
    CHECK(c.max_body_bytes == 1024 * 1024);
    CHECK(c.kafka.topic_partitions == 6);
    CHECK(c.dedup.topic_partitions == 1);
    CHECK(c.log_level == LogLevel::kInfo);
    CHECK(c.credentials == CredentialMode::kPassthrough);
    CHECK(c.record_format == RecordFormat::kCloudEventsStructured);
  }

  TEST_CASE("the marker topic's partition count is its own setting; 0 is refused") {
    const auto set = load_config_from(
        {{"CMR_BRIDGE_SIGNING_KEYS", "k"}, {"CMR_BRIDGE_DEDUP_TOPIC_PARTITIONS", "-1"}});
    REQUIRE(set.ok());
    CHECK(set->config.dedup.topic_partitions == -1);
    CHECK(set->config.kafka.topic_partitions == 6);
    CHECK(mentions(load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"},
                                     {"CMR_BRIDGE_DEDUP_TOPIC_PARTITIONS", "0"}}),
                   "CMR_BRIDGE_DEDUP_TOPIC_PARTITIONS"));
  }

  TEST_CASE(
      "the spool's drain at shutdown defaults to 20 s; 0 turns it off; above 600 is refused") {
    const auto defaults = load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"}});
    REQUIRE(defaults.ok());
    CHECK(defaults->config.spool_drain == std::chrono::seconds(20));
    const auto off =
        load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"}, {"CMR_BRIDGE_SPOOL_DRAIN_S", "0"}});
    REQUIRE(off.ok());
    CHECK(off->config.spool_drain == std::chrono::seconds(0));
    CHECK(mentions(
        load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"}, {"CMR_BRIDGE_SPOOL_DRAIN_S", "601"}}),
        "CMR_BRIDGE_SPOOL_DRAIN_S"));
  }

  TEST_CASE("signing keys are required, comma-separated and trimmed") {
    CHECK(mentions(load_config_from({}), "CMR_BRIDGE_SIGNING_KEYS"));
    const auto rotated = load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", " new , old "}});
    REQUIRE(rotated.ok());
    CHECK(rotated->config.signing_keys == std::vector<std::string>{"new", "old"});
    CHECK(mentions(load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "a,,b"}}),
                   "CMR_BRIDGE_SIGNING_KEYS"));
  }

  TEST_CASE("every invalid value is reported at once, each naming its variable") {
    const auto result = load_config_from({
        {"CMR_BRIDGE_SIGNING_KEYS", "k"},
        {"CMR_BRIDGE_LISTEN", "8080"},
        {"CMR_BRIDGE_ADMIN_LISTEN", "0.0.0.0:99999"},
        {"CMR_BRIDGE_TIMESTAMP_TOLERANCE_S", "five"},
        {"CMR_BRIDGE_SIGNATURE_SCHEME", "md5"},
        {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "60000"},
        {"CMR_BRIDGE_CREATE_TOPICS", "maybe"},
        {"CMR_BRIDGE_LOG_LEVEL", "loud"},
        {"CMR_BRIDGE_KAFKA_BROKERS", "  "},
    });
    CHECK(error_count(result) == 8);
    for (const char* variable :
         {"CMR_BRIDGE_LISTEN", "CMR_BRIDGE_ADMIN_LISTEN", "CMR_BRIDGE_TIMESTAMP_TOLERANCE_S",
          "CMR_BRIDGE_SIGNATURE_SCHEME", "CMR_BRIDGE_DELIVERY_TIMEOUT_MS",
          "CMR_BRIDGE_CREATE_TOPICS", "CMR_BRIDGE_LOG_LEVEL", "CMR_BRIDGE_KAFKA_BROKERS"}) {
      CAPTURE(variable);
      CHECK(mentions(result, variable));
    }
  }

  TEST_CASE("an enumeration's error lists every accepted name and the value given") {
    const auto result = load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"},
                                          {"CMR_BRIDGE_SIGNATURE_SCHEME", "md5"},
                                          {"CMR_BRIDGE_CREDENTIALS", "hide"}});
    REQUIRE(error_count(result) == 2);
    CHECK(result.error().messages()[0] ==
          "CMR_BRIDGE_SIGNATURE_SCHEME: must be auto, body-hex, body-base64, timestamp-body-hex "
          "or timestamp-body-base64; got \"md5\"");
    CHECK(result.error().messages()[1] ==
          "CMR_BRIDGE_CREDENTIALS: must be passthrough, redact or encrypt; got \"hide\"");
  }

  TEST_CASE("enumerations are parsed once, at load time") {
    const auto result = load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"},
                                          {"CMR_BRIDGE_LOG_LEVEL", " warn "},
                                          {"CMR_BRIDGE_CREDENTIALS", "encrypt"},
                                          {"CMR_BRIDGE_RECORD_FORMAT", "cloudevents-binary"},
                                          {"CMR_BRIDGE_SIGNATURE_SCHEME", "timestamp-body-hex"}});
    REQUIRE(result.ok());
    CHECK(result->config.log_level == LogLevel::kWarn);
    CHECK(result->config.credentials == CredentialMode::kEncrypt);
    CHECK(result->config.record_format == RecordFormat::kCloudEventsBinary);
    CHECK(result->config.signature_scheme == SignatureScheme::kTimestampBodyHex);
  }

  TEST_CASE("the delivery timeout must stay below the sender's 60 s patience") {
    CHECK(load_config_from(
              {{"CMR_BRIDGE_SIGNING_KEYS", "k"}, {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "54999"}})
              .ok());
    CHECK(mentions(load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"},
                                     {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "55000"}}),
                   "CMR_BRIDGE_DELIVERY_TIMEOUT_MS"));
  }

  TEST_CASE("listen addresses accept IPv6 brackets and port 0") {
    const auto result =
        load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"}, {"CMR_BRIDGE_LISTEN", "[::1]:0"}});
    REQUIRE(result.ok());
    CHECK(result->config.listen.host == "::1");
    CHECK(result->config.listen.port == 0);
    CHECK(described(result->config, "listen") == "[::1]:0");
  }

  TEST_CASE("the topic prefix renames every default topic; a single name still wins") {
    const auto result = load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"},
                                          {"CMR_BRIDGE_TOPIC_PREFIX", "prod."},
                                          {"CMR_BRIDGE_TOPIC_ORDER", "orders"}});
    REQUIRE(result.ok());
    CHECK(result->config.topics.order == "orders");
    CHECK(result->config.topics.subscription == "prod.subscription.events");
    CHECK(result->config.topics.prewarmup == "prod.prewarmup.events");
    CHECK(result->config.topics.deadletter == "prod.webhooks.deadletter");
    CHECK(result->config.dedup.topic == "prod.webhooks.dedup");
  }

  TEST_CASE("librdkafka properties pass through and secrets are masked in the description") {
    const auto result = load_config_from({
        {"CMR_BRIDGE_SIGNING_KEYS", "super-secret-key"},
        {"CMR_BRIDGE_KAFKA_PROP_SECURITY_PROTOCOL", "SASL_SSL"},
        {"CMR_BRIDGE_KAFKA_PROP_SASL_PASSWORD", "hunter2"},
        {"CMR_BRIDGE_ENCRYPTION_KEYS", "k1:c2VjcmV0"},
    });
    REQUIRE(result.ok());
    CHECK(result->config.kafka.extra_properties.size() == 2);
    bool saw_protocol = false;
    for (const auto& [name, value] : describe_config(result->config)) {
      CHECK(value.find("hunter2") == std::string::npos);
      CHECK(value.find("super-secret-key") == std::string::npos);
      CHECK(value.find("c2VjcmV0") == std::string::npos);
      if (name == "kafka.security.protocol")
        saw_protocol = value == "SASL_SSL";
    }
    CHECK(saw_protocol);
    CHECK(mentions(
        load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"}, {"CMR_BRIDGE_KAFKA_PROP_", "1"}}),
        "CMR_BRIDGE_KAFKA_PROP_"));
  }

  TEST_CASE("the start-up description names every setting, the spool retry included") {
    const auto result =
        load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"}, {"CMR_BRIDGE_SPOOL_RETRY_MS", "250"}});
    REQUIRE(result.ok());
    CHECK(described(result->config, "spool_retry_ms") == "250");
    CHECK(described(result->config, "signing_keys") == "(masked)");
    CHECK(described(result->config, "http_threads") == "256");  // tests/bench/bench.sh reads it
    CHECK(described(result->config, "spool_dir") == "(off)");
    CHECK(described(result->config, "log_level") == "info");
  }

  TEST_CASE("unknown CMR_BRIDGE_ variables are warnings, not errors") {
    const auto result = load_config_from(
        {{"CMR_BRIDGE_SIGNING_KEYS", "k"}, {"CMR_BRIDGE_SERVICE_HOST", "10.0.0.1"}});
    REQUIRE(result.ok());
    CHECK(result->warnings == std::vector<std::string>{"CMR_BRIDGE_SERVICE_HOST: unknown "
                                                       "setting, ignored"});
  }

  TEST_CASE("librdkafka overrides that would break the delivery guarantees are refused by name") {
    const auto with = [](const std::string& variable, const std::string& value) {
      return load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"}, {variable, value}});
    };
    for (const auto& [variable, value] : std::vector<std::pair<std::string, std::string>>{
             {"CMR_BRIDGE_KAFKA_PROP_ACKS", "1"},
             {"CMR_BRIDGE_KAFKA_PROP_ACKS", "0"},
             {"CMR_BRIDGE_KAFKA_PROP_REQUEST_REQUIRED_ACKS", "1"},
             {"CMR_BRIDGE_KAFKA_PROP_ENABLE_IDEMPOTENCE", "false"},
             {"CMR_BRIDGE_KAFKA_PROP_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION", "6"},
             {"CMR_BRIDGE_KAFKA_PROP_MAX_IN_FLIGHT", "0"},
             {"CMR_BRIDGE_KAFKA_PROP_MAX_IN_FLIGHT", "many"},
         }) {
      CAPTURE(variable);
      CAPTURE(value);
      CHECK(mentions(with(variable, value), variable));
    }
    for (const auto& [variable, value] : std::vector<std::pair<std::string, std::string>>{
             {"CMR_BRIDGE_KAFKA_PROP_ACKS", "all"},
             {"CMR_BRIDGE_KAFKA_PROP_ACKS", "-1"},
             {"CMR_BRIDGE_KAFKA_PROP_ENABLE_IDEMPOTENCE", "true"},
             {"CMR_BRIDGE_KAFKA_PROP_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION", "5"},
         }) {
      CAPTURE(variable);
      CAPTURE(value);
      CHECK(with(variable, value).ok());
    }
  }

  TEST_CASE("a config file fills what the environment leaves unset; the environment wins") {
    const auto result = load_config_from({{"CMR_BRIDGE_KAFKA_BROKERS", "from-env:9092"}},
                                         ConfigFile{R"({"kafka_brokers": "from-file:9092",
            "signing_keys": ["k1", "k2"],
            "CMR_BRIDGE_DELIVERY_TIMEOUT_MS": 2500, "dedup": false,
            "kafka_prop": {"security.protocol": "SASL_SSL"}})",
                                                    "bridge.json"});
    REQUIRE(result.ok());
    CHECK(result->config.kafka.brokers == "from-env:9092");
    CHECK(result->config.signing_keys == std::vector<std::string>{"k1", "k2"});
    CHECK(result->config.delivery_timeout == std::chrono::milliseconds(2500));
    CHECK_FALSE(result->config.dedup.enabled);
    REQUIRE(result->config.kafka.extra_properties.size() == 1);
    CHECK(result->config.kafka.extra_properties[0].first == "security.protocol");
  }

  TEST_CASE("config file problems are all reported, naming the file and the key") {
    const std::map<std::string, std::string> env = {{"CMR_BRIDGE_SIGNING_KEYS", "k"}};
    const auto result = load_config_from(
        env,
        ConfigFile{R"({"kafka_brokrs": "x", "listen": {"host": "a"}, "signing_keys": [1, {}]})",
                   "bridge.json"});
    REQUIRE(error_count(result) == 3);
    const auto& errors = result.error().messages();
    CHECK(errors[0] == "bridge.json: unknown setting \"kafka_brokrs\"");
    CHECK(errors[1].find("bridge.json: listen:") == 0);
    CHECK(errors[2].find("bridge.json: signing_keys:") == 0);
    CHECK(error_count(load_config_from(env, ConfigFile{"{nope", "bridge.json"})) == 1);
  }

  TEST_CASE("an unreadable config file is reported with the environment's own problems") {
    const auto result =
        load_config({{"CMR_BRIDGE_CONFIG_FILE", "/nonexistent/cmr-bridge-test/bridge.json"},
                     {"CMR_BRIDGE_LOG_LEVEL", "loud"}});
    CHECK(mentions(result, "CMR_BRIDGE_CONFIG_FILE"));
    CHECK(mentions(result, "CMR_BRIDGE_LOG_LEVEL"));
    CHECK(mentions(result, "CMR_BRIDGE_SIGNING_KEYS"));
  }

  TEST_CASE("topic configs are name=value pairs") {
    const auto ok = load_config_from(
        {{"CMR_BRIDGE_SIGNING_KEYS", "k"},
         {"CMR_BRIDGE_TOPIC_CONFIGS", "min.insync.replicas=2, retention.ms=1209600000"}});
    REQUIRE(ok.ok());
    REQUIRE(ok->config.kafka.topic_configs.size() == 2);
    CHECK(ok->config.kafka.topic_configs[0] ==
          std::pair<std::string, std::string>{"min.insync.replicas", "2"});
    CHECK(mentions(load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"},
                                     {"CMR_BRIDGE_TOPIC_CONFIGS", "retention.ms"}}),
                   "CMR_BRIDGE_TOPIC_CONFIGS"));
  }

  TEST_CASE("both TLS files or neither") {
    CHECK(mentions(load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"},
                                     {"CMR_BRIDGE_TLS_CERT_FILE", "/tls/cert.pem"}}),
                   "CMR_BRIDGE_TLS_KEY_FILE"));
    CHECK(load_config_from({{"CMR_BRIDGE_SIGNING_KEYS", "k"},
                            {"CMR_BRIDGE_TLS_CERT_FILE", "/tls/cert.pem"},
                            {"CMR_BRIDGE_TLS_KEY_FILE", "/tls/key.pem"}})
              .ok());
  }
}
