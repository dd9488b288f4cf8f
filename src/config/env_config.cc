#include "config/env_config.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <charconv>
#include <limits>
#include <optional>
#include <set>

namespace cmr_bridge {
namespace {

constexpr std::string_view kKafkaPropertyPrefix = "CMR_BRIDGE_KAFKA_PROP_";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

class Reader {
 public:
  Reader(const std::map<std::string, std::string>& env, std::vector<std::string>& errors)
      : env_(env), errors_(errors) {}

  const std::string* raw(const char* name) const {
    const auto it = env_.find(name);
    return it == env_.end() ? nullptr : &it->second;
  }

  void string(const char* name, std::string& out) {
    if (const auto* value = raw(name)) {
      const auto trimmed = trim(*value);
      if (trimmed.empty()) {
        fail(name, "must not be empty");
      } else {
        out.assign(trimmed);
      }
    }
  }

  template <typename Int>
  void integer(const char* name, Int& out, int64_t min, int64_t max) {
    const auto* value = raw(name);
    if (!value)
      return;
    const auto text = trim(*value);
    int64_t parsed = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
      fail(name, "must be an integer, got \"" + std::string(text) + "\"");
    } else if (parsed < min || parsed > max) {
      fail(name, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                     ", got " + std::to_string(parsed));
    } else {
      out = static_cast<Int>(parsed);
    }
  }

  void boolean(const char* name, bool& out) {
    const auto* value = raw(name);
    if (!value)
      return;
    const auto text = trim(*value);
    if (text == "true" || text == "1" || text == "yes") {
      out = true;
    } else if (text == "false" || text == "0" || text == "no") {
      out = false;
    } else {
      fail(name, "must be true or false, got \"" + std::string(text) + "\"");
    }
  }

  void address(const char* name, ListenAddress& out) {
    const auto* value = raw(name);
    if (!value)
      return;
    const auto text = trim(*value);
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == text.size()) {
      fail(name, "must be HOST:PORT, got \"" + std::string(text) + "\"");
      return;
    }
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    const auto port_text = text.substr(colon + 1);
    int port = -1;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (host.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
        port < 0 || port > 65535) {
      fail(name,
           "must be HOST:PORT with a port from 0 to 65535, got \"" + std::string(text) + "\"");
      return;
    }
    out.host.assign(host);
    out.port = static_cast<uint16_t>(port);
  }

  void fail(const char* name, const std::string& problem) {
    errors_.push_back(std::string(name) + ": " + problem);
  }

 private:
  const std::map<std::string, std::string>& env_;
  std::vector<std::string>& errors_;
};

}  // namespace

const std::vector<ConfigVariable>& config_variables() {
  static const std::vector<ConfigVariable> variables = {
      {"CMR_BRIDGE_SIGNING_KEYS", "(required)",
       "Comma-separated HMAC keys (the CMR partner API keys). Several keys = rotation: a "
       "signature made with any of them is accepted."},
      {"CMR_BRIDGE_KAFKA_BROKERS", "127.0.0.1:9092", "Kafka bootstrap servers."},
      {"CMR_BRIDGE_LISTEN", "0.0.0.0:8080",
       "Webhook listener (HOST:PORT; port 0 = any free port)."},
      {"CMR_BRIDGE_ADMIN_LISTEN", "0.0.0.0:9090", "Admin listener: /healthz, /readyz, /metrics."},
      {"CMR_BRIDGE_TIMESTAMP_TOLERANCE_S", "300",
       "Accepted distance of cmr-x-timestamp from now, in seconds (1-86400)."},
      {"CMR_BRIDGE_SIGNATURE_SCHEME", "auto",
       "auto, body-hex, body-base64, timestamp-body-hex or timestamp-body-base64."},
      {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "10000",
       "How long a request waits for the Kafka acknowledgement before answering 503 "
       "(100-54999; the sender gives up at 60 s)."},
      {"CMR_BRIDGE_TOPIC_PREFIX", "cmr.",
       "Prefix of the default topic names (<prefix>order.events, ...); the CMR_BRIDGE_TOPIC_* "
       "variables override single names."},
      {"CMR_BRIDGE_TOPIC_ORDER", "cmr.order.events", "Topic for domain and mailbox order events."},
      {"CMR_BRIDGE_TOPIC_SUBSCRIPTION", "cmr.subscription.events",
       "Topic for subscription events."},
      {"CMR_BRIDGE_TOPIC_PREWARMUP", "cmr.prewarmup.events",
       "Topic for pre-warmed mailbox events."},
      {"CMR_BRIDGE_TOPIC_DEADLETTER", "cmr.webhooks.deadletter",
       "Topic for verified requests that cannot be published as events."},
      {"CMR_BRIDGE_CREATE_TOPICS", "true",
       "Create missing topics at start (false for managed clusters where topics are provisioned)."},
      {"CMR_BRIDGE_TOPIC_PARTITIONS", "6",
       "Partitions for topics the bridge creates (-1 = broker default)."},
      {"CMR_BRIDGE_TOPIC_REPLICATION_FACTOR", "-1",
       "Replication factor for topics the bridge creates (-1 = broker default)."},
      {"CMR_BRIDGE_TOPIC_CONFIGS", "(none)",
       "Topic configs for the event and dead-letter topics the bridge creates, comma-separated "
       "name=value (e.g. min.insync.replicas=2,retention.ms=1209600000)."},
      {"CMR_BRIDGE_MAX_BODY_BYTES", "1048576",
       "Largest accepted request body; larger answers 413."},
      {"CMR_BRIDGE_HTTP_THREADS", "256",
       "Webhook listener worker threads (one per open connection in cpp-httplib)."},
      {"CMR_BRIDGE_TLS_CERT_FILE", "(none)",
       "PEM certificate chain: the webhook listener serves HTTPS (for deployments without a "
       "TLS-terminating ingress). Needs CMR_BRIDGE_TLS_KEY_FILE."},
      {"CMR_BRIDGE_TLS_KEY_FILE", "(none)", "PEM private key for CMR_BRIDGE_TLS_CERT_FILE."},
      {"CMR_BRIDGE_READ_TIMEOUT_S", "10",
       "A client must deliver each read (headers, body) within this long or the connection is "
       "closed (slow-client protection); also the idle keep-alive limit."},
      {"CMR_BRIDGE_MAX_IN_FLIGHT", "256",
       "Webhook requests handled at once (each may wait up to the delivery timeout on Kafka); "
       "more answer 429 with Retry-After."},
      {"CMR_BRIDGE_DRAIN_DELAY_S", "5",
       "On SIGTERM: /readyz turns 503 at once, the listener keeps serving this long (so load "
       "balancers stop sending), then stops accepting, finishes in-flight requests and exits."},
      {"CMR_BRIDGE_SPOOL_DIR", "(off)",
       "Directory of the durable local spool. When set and Kafka cannot acknowledge in time, "
       "the verified request is fsync'd there and answered 200, then forwarded in order."},
      {"CMR_BRIDGE_SPOOL_MAX_BYTES", "1073741824",
       "Largest unforwarded spool size; beyond it requests answer 503 spool_full."},
      {"CMR_BRIDGE_SPOOL_RETRY_MS", "1000", "Forwarder back-off while Kafka is unavailable."},
      {"CMR_BRIDGE_SPOOL_DRAIN_S", "20",
       "On SIGTERM, once the last request is answered: how long the forwarder keeps forwarding "
       "the spool while Kafka acknowledges (0 = not at all); what is left stays on disk for the "
       "next start and is counted in the log."},
      {"CMR_BRIDGE_LOG_LEVEL", "info", "debug, info, warn or error."},
      {"CMR_BRIDGE_SCHEMA_DIR", "(installed schemas)",
       "Directory with events/<event>.json JSON Schemas (draft-04), compiled at start. Default: "
       "<binary dir>/../share/cmr-bridge/schemas, else the source tree's schemas/."},
      {"CMR_BRIDGE_ROUTES_FILE", "(none)",
       "JSON file of extra routes, matched before the built-in table (see README, Routing)."},
      {"CMR_BRIDGE_RECORD_FORMAT", "cloudevents-structured",
       "cloudevents-structured (value = application/cloudevents+json) or cloudevents-binary "
       "(value = data, attributes in ce_* headers)."},
      {"CMR_BRIDGE_CLOUDEVENTS_SOURCE", "cmr", "The CloudEvents source attribute."},
      {"CMR_BRIDGE_DEDUP", "true",
       "Drop repeated eventIds (answer 200 duplicate). false only if downstream dedups itself."},
      {"CMR_BRIDGE_DEDUP_TOPIC", "cmr.webhooks.dedup",
       "Compacted topic of published-eventId markers, read at start and tailed (shared by "
       "replicas). Must have cleanup.policy compact."},
      {"CMR_BRIDGE_DEDUP_CAPACITY", "5000000",
       "eventIds remembered in memory (about 40 bytes each); the oldest are evicted first."},
      {"CMR_BRIDGE_DEDUP_TTL_S", "604800",
       "How long an eventId is remembered (and the marker topic's retention.ms when created)."},
      {"CMR_BRIDGE_DEDUP_TOPIC_PARTITIONS", "1",
       "Partitions when the bridge creates the marker topic (-1 = broker default). Every replica "
       "reads every partition; one keeps marker writes in one batch."},
      {"CMR_BRIDGE_CREDENTIALS", "passthrough",
       "What happens to credential fields (password, appPassword, authenticatorSecret, plus "
       "CMR_BRIDGE_CREDENTIAL_FIELDS) in published data: passthrough, redact (\"[REDACTED]\") "
       "or encrypt (AES-256-GCM per value; see cmr-bridge decrypt)."},
      {"CMR_BRIDGE_CREDENTIAL_FIELDS", "(none)",
       "Comma-separated extra field names (matched at any depth) or JSON pointers into data "
       "(\"/a/b\") to treat as credentials."},
      {"CMR_BRIDGE_ENCRYPTION_KEYS", "(none)",
       "For encrypt: comma-separated <key id>:<base64 of 32 random bytes>; the first encrypts, "
       "all decrypt (rotation). Secret."},
      {"CMR_BRIDGE_ENCRYPTION_KEYS_FILE", "(none)",
       "File holding the same text as CMR_BRIDGE_ENCRYPTION_KEYS (e.g. a mounted Secret)."},
      {"CMR_BRIDGE_CONFIG_FILE", "(none)",
       "JSON config file with any of these settings (keys: variable names with or without the "
       "CMR_BRIDGE_ prefix, any case); the environment wins over the file."},
      {"CMR_BRIDGE_KAFKA_PROP_<NAME>", "(none)",
       "Any librdkafka property, e.g. CMR_BRIDGE_KAFKA_PROP_SECURITY_PROTOCOL=SASL_SSL sets "
       "security.protocol ('_' becomes '.', lower-cased). Applied last; values are masked in "
       "logs."},
  };
  return variables;
}

std::map<std::string, std::string> merge_config_file(const std::map<std::string, std::string>& env,
                                                     std::string_view file_text,
                                                     std::string_view origin,
                                                     std::vector<std::string>& errors) {
  std::map<std::string, std::string> merged = env;
  const std::string where(origin);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseValidateEncodingFlag |
            rapidjson::kParseIterativeFlag>(file_text.data(), file_text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    errors.push_back(where + ": must be a JSON object" +
                     (doc.HasParseError()
                          ? std::string(" (") + rapidjson::GetParseError_En(doc.GetParseError()) +
                                " at byte " + std::to_string(doc.GetErrorOffset()) + ")"
                          : std::string()));
    return merged;
  }
  std::set<std::string> known;
  for (const auto& variable : config_variables())
    known.insert(variable.name);
  const auto scalar = [](const rapidjson::Value& v) -> std::optional<std::string> {
    if (v.IsString())
      return std::string(v.GetString(), v.GetStringLength());
    if (v.IsBool())
      return std::string(v.GetBool() ? "true" : "false");
    if (v.IsInt64())
      return std::to_string(v.GetInt64());
    if (v.IsUint64())
      return std::to_string(v.GetUint64());
    return std::nullopt;
  };
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    std::string name = key;
    for (auto& ch : name)
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (name.rfind("CMR_BRIDGE_", 0) != 0)
      name = "CMR_BRIDGE_" + name;
    const rapidjson::Value& value = it->value;
    if (name == "CMR_BRIDGE_KAFKA_PROP" && value.IsObject()) {
      for (auto p = value.MemberBegin(); p != value.MemberEnd(); ++p) {
        std::string property(p->name.GetString(), p->name.GetStringLength());
        std::string variable = std::string(kKafkaPropertyPrefix);
        for (char ch : property) {
          variable.push_back(
              ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
        }
        const auto text = scalar(p->value);
        if (!text) {
          errors.push_back(where + ": kafka_prop." + property +
                           ": must be a string, number or boolean");
        } else {
          merged.emplace(variable, *text);  // an environment value wins
        }
      }
      continue;
    }
    if (!known.count(name)) {
      errors.push_back(where + ": unknown setting \"" + key + "\"");
      continue;
    }
    std::optional<std::string> text = scalar(value);
    if (!text && value.IsArray()) {
      std::string joined;
      bool ok = true;
      for (const auto& item : value.GetArray()) {
        const auto part = scalar(item);
        ok = ok && part.has_value();
        if (part)
          joined += (joined.empty() ? "" : ",") + *part;
      }
      if (ok)
        text = joined;
    }
    if (!text) {
      errors.push_back(where + ": " + key +
                       ": must be a string, number, boolean or array of strings");
      continue;
    }
    merged.emplace(name, *text);  // an environment value wins
  }
  return merged;
}

ConfigResult load_config_from_env(const std::map<std::string, std::string>& env) {
  ConfigResult result;
  Config& c = result.config;
  Reader r(env, result.errors);

  if (const auto* keys = r.raw("CMR_BRIDGE_SIGNING_KEYS")) {
    std::string_view rest = *keys;
    bool empty_entry = false;
    while (true) {
      const auto comma = rest.find(',');
      const auto entry = trim(rest.substr(0, comma));
      if (entry.empty()) {
        empty_entry = true;
      } else {
        c.signing_keys.emplace_back(entry);
      }
      if (comma == std::string_view::npos)
        break;
      rest.remove_prefix(comma + 1);
    }
    if (empty_entry)
      r.fail("CMR_BRIDGE_SIGNING_KEYS", "contains an empty key");
  } else {
    r.fail("CMR_BRIDGE_SIGNING_KEYS", "is required (comma-separated HMAC signing keys)");
  }

  r.string("CMR_BRIDGE_KAFKA_BROKERS", c.kafka.brokers);
  r.address("CMR_BRIDGE_LISTEN", c.listen);
  r.address("CMR_BRIDGE_ADMIN_LISTEN", c.admin_listen);
  int64_t tolerance = c.timestamp_tolerance.count();
  r.integer("CMR_BRIDGE_TIMESTAMP_TOLERANCE_S", tolerance, 1, 86400);
  c.timestamp_tolerance = std::chrono::seconds(tolerance);
  if (const auto* scheme = r.raw("CMR_BRIDGE_SIGNATURE_SCHEME")) {
    if (const auto parsed = parse_signature_scheme(trim(*scheme))) {
      c.signature_scheme = *parsed;
    } else {
      r.fail("CMR_BRIDGE_SIGNATURE_SCHEME",
             "must be one of auto, body-hex, body-base64, timestamp-body-hex, "
             "timestamp-body-base64; got \"" +
                 *scheme + "\"");
    }
  }
  int64_t delivery_timeout = c.delivery_timeout.count();
  r.integer("CMR_BRIDGE_DELIVERY_TIMEOUT_MS", delivery_timeout, 100, 54999);
  c.delivery_timeout = std::chrono::milliseconds(delivery_timeout);
  std::string prefix = "cmr.";
  r.string("CMR_BRIDGE_TOPIC_PREFIX", prefix);
  c.topics.order = prefix + "order.events";
  c.topics.subscription = prefix + "subscription.events";
  c.topics.prewarmup = prefix + "prewarmup.events";
  c.topics.deadletter = prefix + "webhooks.deadletter";
  c.dedup.topic = prefix + "webhooks.dedup";
  r.string("CMR_BRIDGE_TOPIC_ORDER", c.topics.order);
  r.string("CMR_BRIDGE_TOPIC_SUBSCRIPTION", c.topics.subscription);
  r.string("CMR_BRIDGE_TOPIC_PREWARMUP", c.topics.prewarmup);
  r.string("CMR_BRIDGE_TOPIC_DEADLETTER", c.topics.deadletter);
  r.boolean("CMR_BRIDGE_CREATE_TOPICS", c.kafka.create_topics);
  r.integer("CMR_BRIDGE_TOPIC_PARTITIONS", c.kafka.topic_partitions, -1, 10000);
  r.integer("CMR_BRIDGE_TOPIC_REPLICATION_FACTOR", c.kafka.topic_replication_factor, -1, 32);
  if (c.kafka.topic_partitions == 0)
    r.fail("CMR_BRIDGE_TOPIC_PARTITIONS", "must not be 0");
  if (c.kafka.topic_replication_factor == 0) {
    r.fail("CMR_BRIDGE_TOPIC_REPLICATION_FACTOR", "must not be 0");
  }
  r.integer("CMR_BRIDGE_MAX_BODY_BYTES", c.max_body_bytes, 1024, 64 * 1024 * 1024);
  r.integer("CMR_BRIDGE_HTTP_THREADS", c.http_threads, 2, 4096);
  r.string("CMR_BRIDGE_LOG_LEVEL", c.log_level);
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error") {
    r.fail("CMR_BRIDGE_LOG_LEVEL",
           "must be debug, info, warn or error; got \"" + c.log_level + "\"");
  }

  r.boolean("CMR_BRIDGE_DEDUP", c.dedup.enabled);
  r.string("CMR_BRIDGE_DEDUP_TOPIC", c.dedup.topic);
  r.integer("CMR_BRIDGE_DEDUP_CAPACITY", c.dedup.capacity, 1000, 100'000'000);
  int64_t dedup_ttl = c.dedup.ttl.count();
  r.integer("CMR_BRIDGE_DEDUP_TTL_S", dedup_ttl, 60, 365LL * 24 * 3600);
  c.dedup.ttl = std::chrono::seconds(dedup_ttl);
  r.integer("CMR_BRIDGE_DEDUP_TOPIC_PARTITIONS", c.dedup.topic_partitions, -1, 10000);
  if (c.dedup.topic_partitions == 0)
    r.fail("CMR_BRIDGE_DEDUP_TOPIC_PARTITIONS", "must not be 0");
  r.integer("CMR_BRIDGE_MAX_IN_FLIGHT", c.max_in_flight, 1, 100000);
  int64_t read_timeout = c.read_timeout.count();
  r.integer("CMR_BRIDGE_READ_TIMEOUT_S", read_timeout, 1, 300);
  c.read_timeout = std::chrono::seconds(read_timeout);
  int64_t drain_delay = c.drain_delay.count();
  r.integer("CMR_BRIDGE_DRAIN_DELAY_S", drain_delay, 0, 300);
  c.drain_delay = std::chrono::seconds(drain_delay);
  r.string("CMR_BRIDGE_SPOOL_DIR", c.spool_dir);
  r.integer("CMR_BRIDGE_SPOOL_MAX_BYTES", c.spool_max_bytes, 1024 * 1024, int64_t{1} << 50);
  int64_t spool_retry = c.spool_retry.count();
  r.integer("CMR_BRIDGE_SPOOL_RETRY_MS", spool_retry, 10, 600000);
  c.spool_retry = std::chrono::milliseconds(spool_retry);
  int64_t spool_drain = c.spool_drain.count();
  r.integer("CMR_BRIDGE_SPOOL_DRAIN_S", spool_drain, 0, 600);
  c.spool_drain = std::chrono::seconds(spool_drain);
  r.string("CMR_BRIDGE_CREDENTIALS", c.credentials);
  if (c.credentials != "passthrough" && c.credentials != "redact" && c.credentials != "encrypt") {
    r.fail("CMR_BRIDGE_CREDENTIALS",
           "must be passthrough, redact or encrypt; got \"" + c.credentials + "\"");
  }
  if (const auto* fields = r.raw("CMR_BRIDGE_CREDENTIAL_FIELDS")) {
    std::string_view rest = *fields;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto field = trim(rest.substr(0, comma));
      if (!field.empty())
        c.credential_fields.emplace_back(field);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  if (const auto* keys = r.raw("CMR_BRIDGE_ENCRYPTION_KEYS"))
    c.encryption_keys = *keys;
  r.string("CMR_BRIDGE_ENCRYPTION_KEYS_FILE", c.encryption_keys_file);
  r.string("CMR_BRIDGE_TLS_CERT_FILE", c.tls_cert_file);
  r.string("CMR_BRIDGE_TLS_KEY_FILE", c.tls_key_file);
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    r.fail(c.tls_cert_file.empty() ? "CMR_BRIDGE_TLS_CERT_FILE" : "CMR_BRIDGE_TLS_KEY_FILE",
           "is required when the other TLS file is set");
  }
  if (const auto* configs = r.raw("CMR_BRIDGE_TOPIC_CONFIGS")) {
    std::string_view rest = *configs;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto entry = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (entry.empty())
        continue;
      const auto eq = entry.find('=');
      if (eq == std::string_view::npos || eq == 0 || eq + 1 == entry.size()) {
        r.fail("CMR_BRIDGE_TOPIC_CONFIGS",
               "entries must be name=value, got \"" + std::string(entry) + "\"");
        break;
      }
      c.kafka.topic_configs.emplace_back(std::string(trim(entry.substr(0, eq))),
                                         std::string(trim(entry.substr(eq + 1))));
    }
  }
  r.string("CMR_BRIDGE_SCHEMA_DIR", c.schema_dir);
  r.string("CMR_BRIDGE_ROUTES_FILE", c.routes_file);
  r.string("CMR_BRIDGE_CLOUDEVENTS_SOURCE", c.cloudevents_source);
  if (const auto* format = r.raw("CMR_BRIDGE_RECORD_FORMAT")) {
    const auto text = trim(*format);
    if (text == "cloudevents-structured") {
      c.record_format = RecordFormat::kCloudEventsStructured;
    } else if (text == "cloudevents-binary") {
      c.record_format = RecordFormat::kCloudEventsBinary;
    } else {
      r.fail("CMR_BRIDGE_RECORD_FORMAT",
             "must be cloudevents-structured or cloudevents-binary; got \"" + std::string(text) +
                 "\"");
    }
  }

  std::set<std::string> known;
  for (const auto& variable : config_variables())
    known.insert(variable.name);
  for (const auto& [name, value] : env) {
    if (name.rfind("CMR_BRIDGE_", 0) == 0 && name.rfind(kKafkaPropertyPrefix, 0) != 0 &&
        !known.count(name)) {
      // A warning, not an error: Kubernetes service links inject CMR_BRIDGE_SERVICE_HOST and
      // friends for a Service named cmr-bridge.
      result.warnings.push_back(name + ": unknown setting, ignored");
    }
  }
  for (const auto& [name, value] : env) {
    if (name.rfind(kKafkaPropertyPrefix, 0) != 0)
      continue;
    std::string property = name.substr(kKafkaPropertyPrefix.size());
    if (property.empty()) {
      r.fail(name.c_str(), "names no librdkafka property");
      continue;
    }
    for (auto& ch : property) {
      ch = ch == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    c.kafka.extra_properties.emplace_back(property, value);
  }
  return result;
}

std::vector<std::pair<std::string, std::string>> describe_config(const Config& c) {
  std::vector<std::pair<std::string, std::string>> out = {
      {"signing_keys", std::to_string(c.signing_keys.size()) + " key(s), masked"},
      {"kafka_brokers", c.kafka.brokers},
      {"listen", c.listen.host + ":" + std::to_string(c.listen.port)},
      {"admin_listen", c.admin_listen.host + ":" + std::to_string(c.admin_listen.port)},
      {"timestamp_tolerance_s", std::to_string(c.timestamp_tolerance.count())},
      {"signature_scheme", std::string(to_string(c.signature_scheme))},
      {"delivery_timeout_ms", std::to_string(c.delivery_timeout.count())},
      {"topic_order", c.topics.order},
      {"topic_subscription", c.topics.subscription},
      {"topic_prewarmup", c.topics.prewarmup},
      {"topic_deadletter", c.topics.deadletter},
      {"create_topics", c.kafka.create_topics ? "true" : "false"},
      {"topic_partitions", std::to_string(c.kafka.topic_partitions)},
      {"topic_replication_factor", std::to_string(c.kafka.topic_replication_factor)},
      {"topic_configs", std::to_string(c.kafka.topic_configs.size()) + " set"},
      {"max_body_bytes", std::to_string(c.max_body_bytes)},
      {"http_threads", std::to_string(c.http_threads)},
      {"log_level", c.log_level},
      {"schema_dir", c.schema_dir},
      {"routes_file", c.routes_file.empty() ? "(none)" : c.routes_file},
      {"record_format", c.record_format == RecordFormat::kCloudEventsBinary
                            ? "cloudevents-binary"
                            : "cloudevents-structured"},
      {"cloudevents_source", c.cloudevents_source},
      {"credentials", c.credentials},
      {"encryption_keys",
       c.encryption_keys.empty() && c.encryption_keys_file.empty() ? "(none)" : "(masked)"},
      {"max_in_flight", std::to_string(c.max_in_flight)},
      {"read_timeout_s", std::to_string(c.read_timeout.count())},
      {"tls", c.tls_cert_file.empty() ? "off" : c.tls_cert_file},
      {"drain_delay_s", std::to_string(c.drain_delay.count())},
      {"spool_dir", c.spool_dir.empty() ? "(off)" : c.spool_dir},
      {"spool_max_bytes", std::to_string(c.spool_max_bytes)},
      {"spool_drain_s", std::to_string(c.spool_drain.count())},
      {"dedup", c.dedup.enabled ? "true" : "false"},
      {"dedup_topic", c.dedup.topic},
      {"dedup_capacity", std::to_string(c.dedup.capacity)},
      {"dedup_ttl_s", std::to_string(c.dedup.ttl.count())},
      {"dedup_topic_partitions", std::to_string(c.dedup.topic_partitions)},
  };
  for (const auto& [name, value] : c.kafka.extra_properties) {
    const bool secret =
        name.find("password") != std::string::npos || name.find("secret") != std::string::npos ||
        name.find("key") != std::string::npos || name.find("token") != std::string::npos ||
        name.find("jaas") != std::string::npos ||
        name.find("sasl.oauthbearer.config") != std::string::npos;
    out.emplace_back("kafka." + name, secret ? "(masked)" : value);
  }
  return out;
}

}  // namespace cmr_bridge
