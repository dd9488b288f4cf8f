// The service configuration: plain data with its defaults. src/config fills and validates it;
// its settings table (src/config/settings.cc) names, describes and parses every field, and
// prints these defaults in --help and docs/configuration.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cmr_bridge/credential_mode.h"
#include "cmr_bridge/log_level.h"
#include "cmr_bridge/signature_scheme.h"

namespace cmr_bridge {

struct ListenAddress {
  std::string host;
  uint16_t port = 0;  // 0 = any free port (tests)
};

struct TopicNames {
  std::string order = "cmr.order.events";
  std::string subscription = "cmr.subscription.events";
  std::string prewarmup = "cmr.prewarmup.events";
  std::string deadletter = "cmr.webhooks.deadletter";
};

struct KafkaSettings {
  std::string brokers = "127.0.0.1:9092";
  bool create_topics = true;
  int topic_partitions = 6;           // -1 = broker default
  int topic_replication_factor = -1;  // -1 = broker default
  // Configs for the event and dead-letter topics the bridge creates (e.g. min.insync.replicas).
  std::vector<std::pair<std::string, std::string>> topic_configs;
  std::string client_id = "cmr-bridge";
  // Extra librdkafka properties (CMR_BRIDGE_KAFKA_PROP_<name>), applied last.
  std::vector<std::pair<std::string, std::string>> extra_properties;
};

struct DedupConfig {
  bool enabled = true;
  std::string topic = "cmr.webhooks.dedup";  // compacted marker topic
  std::size_t capacity = 5'000'000;          // eventIds held in memory
  std::chrono::seconds ttl{7 * 24 * 3600};   // also the marker topic's retention
  // Partitions when the bridge creates the marker topic. Every replica reads all of them, so
  // more partitions buy nothing and cost one produce request per partition per batch.
  int topic_partitions = 1;  // -1 = broker default
};

enum class RecordFormat { kCloudEventsStructured, kCloudEventsBinary };

// Where a source's event id, type or time is read: a request header (by name) or a JSON
// pointer into the body. Empty: the source's profile decides (docs/sources.md).
struct SourceField {
  enum class From { kProfile, kHeader, kPointer };
  From from = From::kProfile;
  std::string where;  // the header name or the JSON pointer
};

struct SourceRoute {
  std::string match;  // the event type: exact, or a glob with '*'
  std::string topic;
  // JSON pointers into the body; the first that holds a non-empty string is the Kafka key
  // (none: no key).
  std::vector<std::string> key;
  // Schema (file stem in the source's schema_dir) that validates the body: empty = the one
  // named like the event type, if any; "none" = no validation.
  std::string schema;
};

// One webhook provider beside CMR, from the config file's "sources" list (docs/sources.md).
struct SourceConfig {
  std::string name;                     // [a-z0-9-]{1,32}, served at POST /webhooks/<name>
  std::string profile;                  // "standard-webhooks", "github" or "stripe"
  std::string keys_env;                 // variable holding comma-separated keys, or
  std::string keys_file;                // a file holding them (a mounted secret)
  std::string cloudevents_source;       // the records' CloudEvents `source`; default: the name
  std::chrono::seconds tolerance{300};  // timestamp window both ways (profiles with a clock)
  SourceField id;
  SourceField type;
  SourceField time;
  std::vector<SourceRoute> routes;
  std::string schema_dir;  // optional: <type>.json schemas for the body
};

// Which webhook requests get an access-log line ("webhook"). Every outcome is counted in the
// metrics whatever this says.
enum class AccessLog { kAll, kFailures, kOff };

struct Config {
  std::string config_file;  // the JSON file the settings were merged from; empty = none
  KafkaSettings kafka;
  // The default topic names (topics, dedup.topic) are this prefix + their suffix.
  std::string topic_prefix = "cmr.";
  TopicNames topics;
  std::vector<std::string> signing_keys;  // secrets: never logged
  ListenAddress listen{"0.0.0.0", 8080};
  ListenAddress admin_listen{"0.0.0.0", 9090};
  std::chrono::seconds timestamp_tolerance{300};
  SignatureScheme signature_scheme = SignatureScheme::kAuto;
  std::chrono::milliseconds delivery_timeout{10000};
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t http_threads = 256;
  // Slow clients: each read (headers, body) must complete within this; also bounds keep-alive.
  std::chrono::seconds read_timeout{10};
  std::string tls_cert_file;  // both set: the webhook listener serves HTTPS
  std::string tls_key_file;
  LogLevel log_level = LogLevel::kInfo;
  AccessLog access_log = AccessLog::kAll;
  // Directory holding events/<event>.json; empty = the installed or source-tree default.
  std::string schema_dir;
  std::string routes_file;  // optional JSON routes file; empty = built-in table only
  RecordFormat record_format = RecordFormat::kCloudEventsStructured;
  std::string cloudevents_source = "cmr";
  DedupConfig dedup;
  std::size_t max_in_flight = 256;      // requests handled at once; beyond → 429
  std::chrono::seconds drain_delay{5};  // SIGTERM → not ready → keep serving this long → stop
  std::string spool_dir;                // empty = spool off
  std::size_t spool_max_bytes = 1024ull * 1024 * 1024;
  std::chrono::milliseconds spool_retry{1000};  // forwarder back-off while Kafka is away
  // Spooled records the forwarder keeps uncommitted at once (in flight, or acknowledged behind
  // an earlier one); one worker thread each.
  std::size_t spool_forward_window = 64;
  // After SIGTERM and the last request: how long the forwarder keeps forwarding the spool while
  // Kafka acknowledges (the rest stays on disk, and its count is logged).
  std::chrono::seconds spool_drain{20};
  // Requests whose record and dead letter Kafka refused for good are kept here (fsync'd) and
  // answered 200 quarantined. Empty = <spool_dir>/quarantine when the spool is on, else off.
  std::string quarantine_dir;
  std::size_t quarantine_max_bytes = 256ull * 1024 * 1024;
  CredentialMode credentials = CredentialMode::kPassthrough;
  std::vector<std::string> credential_fields;  // extra names, or JSON pointers ("/a/b")
  std::string encryption_keys;                 // "id:base64,..." (secret: never logged)
  std::string encryption_keys_file;            // alternative source for encryption_keys
  // Webhook providers beside CMR (the config file's "sources"); CMR itself is not listed.
  std::vector<SourceConfig> sources;
};

}  // namespace cmr_bridge
