#include "config/settings.h"

#include <charconv>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "core/text.h"

namespace cmr_bridge {
namespace {

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// Calls `each` with every comma-separated entry of `text`, trimmed (empty entries included).
template <typename Each>
void for_each_entry(std::string_view text, Each each) {
  while (true) {
    const auto comma = text.find(',');
    each(trim_spaces(text.substr(0, comma)));
    if (comma == std::string_view::npos)
      return;
    text.remove_prefix(comma + 1);
  }
}

std::string joined(const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& entry : entries)
    out += (out.empty() ? "" : ",") + entry;
  return out;
}

// `Get` is a generic lambda returning a reference to the field: [](auto& c) -> auto& {...}.

template <typename Get>
SettingCodec text(Get get) {
  return {[get](std::string_view value, Config& c) -> Status {
            const auto trimmed = trim_spaces(value);
            if (trimmed.empty())
              return Error("must not be empty");
            get(c).assign(trimmed);
            return ok_status();
          },
          [get](const Config& c) { return std::string(get(c)); }};
}

// Taken as given, untrimmed, and may be empty (secrets read verbatim).
template <typename Get>
SettingCodec verbatim(Get get) {
  return {[get](std::string_view value, Config& c) -> Status {
            get(c).assign(value);
            return ok_status();
          },
          [get](const Config& c) { return std::string(get(c)); }};
}

template <typename T>
struct IsDuration : std::false_type {};
template <typename Rep, typename Period>
struct IsDuration<std::chrono::duration<Rep, Period>> : std::true_type {};

// An integer field or a std::chrono::duration counted in its own unit.
template <typename Get>
SettingCodec integer(Get get, int64_t min, int64_t max, bool zero_allowed = true) {
  using Field = std::remove_cvref_t<decltype(get(std::declval<Config&>()))>;
  return {[get, min, max, zero_allowed](std::string_view value, Config& c) -> Status {
            const auto text = trim_spaces(value);
            int64_t parsed = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
            if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
              return Error("must be an integer, got " + quoted(text));
            if (parsed < min || parsed > max) {
              return Error("must be between " + std::to_string(min) + " and " +
                           std::to_string(max) + ", got " + std::to_string(parsed));
            }
            if (parsed == 0 && !zero_allowed)
              return Error("must not be 0");
            get(c) = Field(
                static_cast<std::conditional_t<IsDuration<Field>::value, int64_t, Field>>(parsed));
            return ok_status();
          },
          [get](const Config& c) {
            if constexpr (IsDuration<Field>::value) {
              return std::to_string(get(c).count());
            } else {
              return std::to_string(get(c));
            }
          }};
}

template <typename Get>
SettingCodec boolean(Get get) {
  return {[get](std::string_view value, Config& c) -> Status {
            const auto text = trim_spaces(value);
            if (text == "true" || text == "1" || text == "yes") {
              get(c) = true;
            } else if (text == "false" || text == "0" || text == "no") {
              get(c) = false;
            } else {
              return Error("must be true or false, got " + quoted(text));
            }
            return ok_status();
          },
          [get](const Config& c) { return std::string(get(c) ? "true" : "false"); }};
}

// HOST:PORT; an IPv6 host in brackets ("[::1]:8080").
template <typename Get>
SettingCodec address(Get get) {
  return {[get](std::string_view value, Config& c) -> Status {
            const auto text = trim_spaces(value);
            const auto colon = text.rfind(':');
            if (colon == std::string_view::npos || colon + 1 == text.size())
              return Error("must be HOST:PORT, got " + quoted(text));
            std::string_view host = text.substr(0, colon);
            if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
              host = host.substr(1, host.size() - 2);
            const auto port_text = text.substr(colon + 1);
            int port = -1;
            const auto [end, ec] =
                std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
            if (host.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
                port < 0 || port > 65535) {
              return Error("must be HOST:PORT with a port from 0 to 65535, got " + quoted(text));
            }
            get(c).host.assign(host);
            get(c).port = static_cast<uint16_t>(port);
            return ok_status();
          },
          [get](const Config& c) {
            const ListenAddress& a = get(c);
            const bool ipv6 = a.host.find(':') != std::string::npos;
            return (ipv6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
          }};
}

// One of a fixed set of names, parsed into an enumeration at load time.
template <typename Get, typename Enum>
SettingCodec choice(Get get, std::vector<std::pair<std::string_view, Enum>> options) {
  return {[get, options](std::string_view value, Config& c) -> Status {
            const auto text = trim_spaces(value);
            std::string names;
            for (std::size_t i = 0; i < options.size(); ++i) {
              if (options[i].first == text) {
                get(c) = options[i].second;
                return ok_status();
              }
              names += (i == 0 ? "" : i + 1 == options.size() ? " or " : ", ");
              names += options[i].first;
            }
            return Error("must be " + names + "; got " + quoted(text));
          },
          [get, options](const Config& c) {
            for (const auto& [name, option] : options) {
              if (option == get(c))
                return std::string(name);
            }
            return std::string();
          }};
}

// Comma-separated, trimmed; empty entries are skipped.
template <typename Get>
SettingCodec list(Get get) {
  return {[get](std::string_view value, Config& c) -> Status {
            get(c).clear();
            for_each_entry(value, [&](std::string_view entry) {
              if (!entry.empty())
                get(c).emplace_back(entry);
            });
            return ok_status();
          },
          [get](const Config& c) { return joined(get(c)); }};
}

SettingCodec signing_keys() {
  return {[](std::string_view value, Config& c) -> Status {
            c.signing_keys.clear();
            bool empty_entry = false;
            for_each_entry(value, [&](std::string_view entry) {
              if (entry.empty()) {
                empty_entry = true;
              } else {
                c.signing_keys.emplace_back(entry);
              }
            });
            if (empty_entry)
              return Error("contains an empty key");
            return ok_status();
          },
          [](const Config& c) { return joined(c.signing_keys); }};
}

// name=value,...; the first malformed entry is reported.
SettingCodec topic_configs() {
  return {[](std::string_view value, Config& c) -> Status {
            c.kafka.topic_configs.clear();
            std::string malformed;
            for_each_entry(value, [&](std::string_view entry) {
              if (entry.empty() || !malformed.empty())
                return;
              const auto eq = entry.find('=');
              if (eq == std::string_view::npos || eq == 0 || eq + 1 == entry.size()) {
                malformed = entry;
                return;
              }
              c.kafka.topic_configs.emplace_back(std::string(trim_spaces(entry.substr(0, eq))),
                                                 std::string(trim_spaces(entry.substr(eq + 1))));
            });
            if (!malformed.empty())
              return Error("entries must be name=value, got " + quoted(malformed));
            return ok_status();
          },
          [](const Config& c) {
            std::string out;
            for (const auto& [name, value] : c.kafka.topic_configs)
              out += (out.empty() ? "" : ",") + name + "=" + value;
            return out;
          }};
}

// Sets the prefix and the default topic names derived from it; the CMR_BRIDGE_TOPIC_* and
// CMR_BRIDGE_DEDUP_TOPIC settings that follow in the table override single names.
SettingCodec topic_prefix() {
  const SettingCodec plain = text([](auto& c) -> auto& { return c.topic_prefix; });
  return {[plain](std::string_view value, Config& c) -> Status {
            Status parsed = plain.parse(value, c);
            if (!parsed)
              return parsed;
            const std::string& prefix = c.topic_prefix;
            c.topics.order = prefix + "order.events";
            c.topics.subscription = prefix + "subscription.events";
            c.topics.prewarmup = prefix + "prewarmup.events";
            c.topics.deadletter = prefix + "webhooks.deadletter";
            c.dedup.topic = prefix + "webhooks.dedup";
            return ok_status();
          },
          plain.format};
}

std::vector<std::pair<std::string_view, SignatureScheme>> signature_schemes() {
  std::vector<std::pair<std::string_view, SignatureScheme>> options;
  for (auto scheme :
       {SignatureScheme::kAuto, SignatureScheme::kBodyHex, SignatureScheme::kBodyBase64,
        SignatureScheme::kTimestampBodyHex, SignatureScheme::kTimestampBodyBase64}) {
    options.emplace_back(to_string(scheme), scheme);
  }
  return options;
}

std::vector<Setting> build_table() {
  return {
      {"CMR_BRIDGE_SIGNING_KEYS", signing_keys(),
       "Comma-separated HMAC keys (the CMR partner API keys). Several = rotation: a signature "
       "made with any of them is accepted. Never logged.",
       "(required)", /*required=*/true, /*secret=*/true},
      {"CMR_BRIDGE_KAFKA_BROKERS", text([](auto& c) -> auto& { return c.kafka.brokers; }),
       "Kafka bootstrap servers."},
      {"CMR_BRIDGE_LISTEN", address([](auto& c) -> auto& { return c.listen; }),
       "Webhook listener, `HOST:PORT` (`[::]:8080` for IPv6; port 0 = any free port). A port in "
       "use fails the start (exit 1)."},
      {"CMR_BRIDGE_ADMIN_LISTEN", address([](auto& c) -> auto& { return c.admin_listen; }),
       "Admin listener (`/healthz`, `/readyz`, `/metrics`)."},
      {"CMR_BRIDGE_TIMESTAMP_TOLERANCE_S",
       integer(
           [](auto& c) -> auto& { return c.timestamp_tolerance; }, 1, 86400),
       "Accepted distance of `cmr-x-timestamp` from now, seconds (1–86400)."},
      {"CMR_BRIDGE_SIGNATURE_SCHEME",
       choice(
           [](auto& c) -> auto& { return c.signature_scheme; }, signature_schemes()),
       "`auto` (try every scheme), or pin one: `body-hex`, `body-base64`, `timestamp-body-hex`, "
       "`timestamp-body-base64` (see [Signature "
       "verification](http-api.md#signature-verification))."},
      {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS",
       integer(
           [](auto& c) -> auto& { return c.delivery_timeout; }, 100, 54999),
       "How long a request waits for Kafka's acknowledgement before answering `503` (100–54999: "
       "the sender gives up at 60 s). Also librdkafka's `message.timeout.ms`."},
      {"CMR_BRIDGE_TOPIC_PREFIX", topic_prefix(),
       "Prefix of the default topic names below (`<prefix>order.events`, ...); the "
       "`CMR_BRIDGE_TOPIC_*` and `CMR_BRIDGE_DEDUP_TOPIC` settings override single names."},
      {"CMR_BRIDGE_TOPIC_ORDER", text([](auto& c) -> auto& { return c.topics.order; }),
       "Topic for `domain.order.*`, `mailbox.order.*`, `mailbox.created`, `mailbox.updated`."},
      {"CMR_BRIDGE_TOPIC_SUBSCRIPTION",
       text([](auto& c) -> auto& { return c.topics.subscription; }), "Topic for `subscription.*`."},
      {"CMR_BRIDGE_TOPIC_PREWARMUP", text([](auto& c) -> auto& { return c.topics.prewarmup; }),
       "Topic for `prewarmup.*`."},
      {"CMR_BRIDGE_TOPIC_DEADLETTER", text([](auto& c) -> auto& { return c.topics.deadletter; }),
       "Topic for verified requests that cannot be published as events."},
      {"CMR_BRIDGE_CREATE_TOPICS", boolean([](auto& c) -> auto& { return c.kafka.create_topics; }),
       "Create missing topics at start (retried in the background until it works; `/readyz` "
       "waits for it). `false` for clusters where topics are provisioned."},
      {"CMR_BRIDGE_TOPIC_PARTITIONS",
       integer(
           [](auto& c) -> auto& { return c.kafka.topic_partitions; }, -1, 10000, false),
       "Partitions for topics the bridge creates (`-1` = broker default; not 0)."},
      {"CMR_BRIDGE_TOPIC_REPLICATION_FACTOR",
       integer(
           [](auto& c) -> auto& { return c.kafka.topic_replication_factor; }, -1, 32, false),
       "Replication factor for topics the bridge creates (`-1` = broker default; not 0)."},
      {"CMR_BRIDGE_TOPIC_CONFIGS", topic_configs(),
       "Topic configs for the event and dead-letter topics the bridge creates: `name=value,...` "
       "(e.g. `min.insync.replicas=2,retention.ms=1209600000`). The dedup topic always gets "
       "`cleanup.policy=compact,delete` and `retention.ms` = the dedup TTL."},
      {"CMR_BRIDGE_SCHEMA_DIR", text([](auto& c) -> auto& { return c.schema_dir; }),
       "Directory with `events/<event>.json` JSON Schemas (draft-04), compiled at start; default "
       "`<binary dir>/../share/cmr-bridge/schemas`, else the source tree's `schemas/`. A missing "
       "or broken schema fails the start, naming the file.",
       "(installed schemas)"},
      {"CMR_BRIDGE_ROUTES_FILE", text([](auto& c) -> auto& { return c.routes_file; }),
       "JSON file of extra routes, matched before the built-in table (see "
       "[Routing](records.md#routing))."},
      {"CMR_BRIDGE_RECORD_FORMAT",
       choice(
           [](auto& c) -> auto& { return c.record_format; },
           std::vector<std::pair<std::string_view, RecordFormat>>{
               {"cloudevents-structured", RecordFormat::kCloudEventsStructured},
               {"cloudevents-binary", RecordFormat::kCloudEventsBinary}}),
       "`cloudevents-structured` (value = `application/cloudevents+json`) or "
       "`cloudevents-binary` (value = data, attributes in `ce_*` headers)."},
      {"CMR_BRIDGE_CLOUDEVENTS_SOURCE", text([](auto& c) -> auto& { return c.cloudevents_source; }),
       "The CloudEvents `source` attribute."},
      {"CMR_BRIDGE_DEDUP", boolean([](auto& c) -> auto& { return c.dedup.enabled; }),
       "Answer repeated eventIds with `200 duplicate`. `false` only if downstream dedups itself."},
      {"CMR_BRIDGE_DEDUP_TOPIC", text([](auto& c) -> auto& { return c.dedup.topic; }),
       "Compacted marker topic (read at start, tailed, shared by replicas). Must have "
       "`cleanup.policy` with `compact`; otherwise the bridge exits 1 naming it."},
      {"CMR_BRIDGE_DEDUP_CAPACITY",
       integer(
           [](auto& c) -> auto& { return c.dedup.capacity; }, 1000, 100'000'000),
       "eventIds held in memory (≈40 bytes each, so ≈200 MB at the default); oldest evicted "
       "first."},
      {"CMR_BRIDGE_DEDUP_TTL_S",
       integer(
           [](auto& c) -> auto& { return c.dedup.ttl; }, 60, 365LL * 24 * 3600),
       "How long an eventId is remembered; also the marker topic's `retention.ms` when created."},
      {"CMR_BRIDGE_DEDUP_TOPIC_PARTITIONS",
       integer(
           [](auto& c) -> auto& { return c.dedup.topic_partitions; }, -1, 10000, false),
       "Partitions when the bridge creates the marker topic (`-1` = broker default; not 0). "
       "Every replica reads every partition, so more buy nothing; one keeps each batch of "
       "markers in one produce request (at 64 connections: −20 % broker CPU per event, +12 % "
       "throughput, against 6)."},
      {"CMR_BRIDGE_CREDENTIALS",
       choice(
           [](auto& c) -> auto& { return c.credentials; },
           std::vector<std::pair<std::string_view, CredentialMode>>{
               {"passthrough", CredentialMode::kPassthrough},
               {"redact", CredentialMode::kRedact},
               {"encrypt", CredentialMode::kEncrypt}}),
       "What happens to credential fields (`password`, `appPassword`, `authenticatorSecret`, plus "
       "`CMR_BRIDGE_CREDENTIAL_FIELDS`) in published data: `passthrough`, `redact` "
       "(`\"[REDACTED]\"`) or `encrypt` (AES-256-GCM per value; see `cmr-bridge decrypt` and "
       "[Credentials](credentials.md))."},
      {"CMR_BRIDGE_CREDENTIAL_FIELDS", list([](auto& c) -> auto& { return c.credential_fields; }),
       "Comma-separated extra field names (matched at any depth) or JSON pointers into data "
       "(`/a/b`) to treat as credentials."},
      {"CMR_BRIDGE_ENCRYPTION_KEYS", verbatim([](auto& c) -> auto& { return c.encryption_keys; }),
       "`<id>:<base64 of 32 bytes>,...`; the first encrypts, all decrypt. Required when "
       "`CMR_BRIDGE_CREDENTIALS=encrypt`. Secret.",
       "(none)", /*required=*/false, /*secret=*/true},
      {"CMR_BRIDGE_ENCRYPTION_KEYS_FILE",
       text([](auto& c) -> auto& { return c.encryption_keys_file; }),
       "A file holding the same text as `CMR_BRIDGE_ENCRYPTION_KEYS` (e.g. a mounted Secret); "
       "it wins over the variable."},
      {"CMR_BRIDGE_SPOOL_DIR", text([](auto& c) -> auto& { return c.spool_dir; }),
       "Directory of the durable local spool. When set and Kafka cannot acknowledge in time, the "
       "verified request is fsync'd there and answered `200`, then forwarded in order (see "
       "[Delivery guarantees](delivery.md)).",
       "(off)"},
      {"CMR_BRIDGE_SPOOL_MAX_BYTES",
       integer(
           [](auto& c) -> auto& { return c.spool_max_bytes; }, 1024 * 1024, int64_t{1} << 50),
       "Largest unforwarded spool; beyond it requests answer `503 spool_full`."},
      {"CMR_BRIDGE_SPOOL_RETRY_MS",
       integer(
           [](auto& c) -> auto& { return c.spool_retry; }, 10, 600000),
       "Forwarder back-off while Kafka is away."},
      {"CMR_BRIDGE_SPOOL_FORWARD_WINDOW",
       integer(
           [](auto& c) -> auto& { return c.spool_forward_window; }, 1, 1024),
       "Spooled records the forwarder has in flight at once (each waits for an earlier record "
       "of its Kafka key; committed in spool order; see [Spool "
       "forwarding](delivery.md#spool-forwarding)). 1 forwards one Kafka round trip at a time."},
      {"CMR_BRIDGE_SPOOL_DRAIN_S",
       integer(
           [](auto& c) -> auto& { return c.spool_drain; }, 0, 600),
       "On SIGTERM, once the last request is answered: how long the forwarder keeps forwarding "
       "the spool while Kafka acknowledges (0 = not at all); what is left stays on disk for the "
       "next start and is counted in the log."},
      {"CMR_BRIDGE_QUARANTINE_DIR", text([](auto& c) -> auto& { return c.quarantine_dir; }),
       "Directory where a verified request goes when Kafka refuses its record and its dead "
       "letter for good; it is answered `200 quarantined` once the file and the directory are "
       "fsync'd (without a directory: `422 unpublishable`). Re-inject with `cmr-bridge redrive "
       "--from-quarantine DIR` (see [Delivery guarantees](delivery.md)).",
       "$CMR_BRIDGE_SPOOL_DIR/quarantine with the spool on, else (off)"},
      {"CMR_BRIDGE_QUARANTINE_MAX_BYTES",
       integer(
           [](auto& c) -> auto& { return c.quarantine_max_bytes; }, 1024 * 1024, int64_t{1} << 50),
       "Largest quarantine directory (bytes of entry files); beyond it such requests answer "
       "`503 quarantine_full` (never dropped)."},
      {"CMR_BRIDGE_MAX_BODY_BYTES",
       integer(
           [](auto& c) -> auto& { return c.max_body_bytes; }, 1024, 64 * 1024 * 1024),
       "Largest accepted body; larger answers `413`. Its records must fit Kafka: at start the "
       "producer's `message.max.bytes` is raised to this + 16384 bytes when below, and every "
       "event and dead-letter topic's `max.message.bytes` should be at least that (the bridge "
       "sets it on the topics it creates; a smaller one is warned about and gauged, and its "
       "records that do not fit are dead-lettered; see [Delivery guarantees](delivery.md))."},
      {"CMR_BRIDGE_HTTP_THREADS",
       integer(
           [](auto& c) -> auto& { return c.http_threads; }, 2, 4096),
       "Webhook worker threads. cpp-httplib serves one connection per thread, so this is also the "
       "number of concurrent keep-alive connections served."},
      {"CMR_BRIDGE_MAX_IN_FLIGHT",
       integer(
           [](auto& c) -> auto& { return c.max_in_flight; }, 1, 100000),
       "Requests handled at once (each may wait up to the delivery timeout on Kafka); more "
       "answer `429` + `Retry-After: 1`."},
      {"CMR_BRIDGE_TLS_CERT_FILE", text([](auto& c) -> auto& { return c.tls_cert_file; }),
       "PEM certificate chain: the webhook listener serves HTTPS (for deployments without a "
       "TLS-terminating ingress); needs `CMR_BRIDGE_TLS_KEY_FILE`. An unloadable pair stops the "
       "start (exit 2)."},
      {"CMR_BRIDGE_TLS_KEY_FILE", text([](auto& c) -> auto& { return c.tls_key_file; }),
       "PEM private key for `CMR_BRIDGE_TLS_CERT_FILE`."},
      {"CMR_BRIDGE_READ_TIMEOUT_S",
       integer(
           [](auto& c) -> auto& { return c.read_timeout; }, 1, 300),
       "Slow-client limit: each read (headers, body) must complete within this or the connection "
       "is closed; also bounds idle keep-alive (≤ 5 s)."},
      {"CMR_BRIDGE_DRAIN_DELAY_S",
       integer(
           [](auto& c) -> auto& { return c.drain_delay; }, 0, 300),
       "On SIGTERM: `/readyz` fails at once, requests are still served this long (so load "
       "balancers stop sending), then the listener stops accepting, finishes in-flight requests "
       "and exits."},
      {"CMR_BRIDGE_LOG_LEVEL",
       choice(
           [](auto& c) -> auto& { return c.log_level; },
           std::vector<std::pair<std::string_view, LogLevel>>{{"debug", LogLevel::kDebug},
                                                              {"info", LogLevel::kInfo},
                                                              {"warn", LogLevel::kWarn},
                                                              {"error", LogLevel::kError}}),
       "`debug`, `info`, `warn` or `error`."},
      {"CMR_BRIDGE_ACCESS_LOG",
       choice(
           [](auto& c) -> auto& { return c.access_log; },
           std::vector<std::pair<std::string_view, AccessLog>>{{"all", AccessLog::kAll},
                                                               {"failures", AccessLog::kFailures},
                                                               {"off", AccessLog::kOff}}),
       "Which webhook requests get a `webhook` log line (at `info`): `all`; `failures`, the "
       "answers other than 2xx (refusals, Kafka failures, 429/503); or `off`. Every answer is "
       "counted in the outcome metrics either way. For log volume: one line per request "
       "(~300 bytes); its CPU cost is within the noise (docs/performance.md)."},
      {"CMR_BRIDGE_CONFIG_FILE", text([](auto& c) -> auto& { return c.config_file; }),
       "JSON file with any of these settings: keys are the variable names with or without "
       "`CMR_BRIDGE_`, any case (`\"kafka_brokers\"`); values are strings, numbers, booleans or "
       "arrays of strings (joined with commas); `\"kafka_prop\": {\"security.protocol\": "
       "\"SASL_SSL\"}` sets librdkafka properties; `\"sources\": [...]` declares webhook "
       "providers beside CMR ([sources.md](sources.md)). Unknown keys are errors. The environment "
       "wins over the file."},
      {"CMR_BRIDGE_KAFKA_PROP_<NAME>",
       {},
       "Any librdkafka property: `CMR_BRIDGE_KAFKA_PROP_SECURITY_PROTOCOL=SASL_SSL` sets "
       "`security.protocol` (`_` → `.`, lower-cased). Applied last (TLS/SASL for MSK, Confluent "
       "Cloud, Strimzi); which clients each reaches: [Kafka clients](kafka-clients.md). Values of "
       "names containing password, secret, key, token or jaas are "
       "masked in the start-up log. Refused at start (a config error naming the variable), "
       "since they would break what a 200 promises: `acks` other than `all`/`-1`, "
       "`enable.idempotence` other than `true`, `max.in.flight(.requests.per.connection)` "
       "outside 1-5."},
  };
}

}  // namespace

std::string Setting::default_text() const {
  if (is_family())
    return std::string(when_unset);
  std::string value = codec.format(Config{});
  return value.empty() ? std::string(when_unset) : value;
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = build_table();
  return table;
}

const Setting* find_setting(std::string_view name) {
  for (const auto& setting : settings()) {
    if (!setting.is_family() && setting.name == name)
      return &setting;
  }
  return nullptr;
}

std::optional<std::string> breaks_delivery_guarantee(std::string_view property,
                                                     std::string_view value) {
  if (property == "acks" || property == "request.required.acks") {
    if (value != "all" && value != "-1")
      return std::string(
          "would weaken acks=all (a 200 promises the record is on every in-sync "
          "replica); only all or -1 is accepted");
  } else if (property == "enable.idempotence") {
    if (value != "true")
      return std::string(
          "would turn off the idempotent producer (retries could duplicate or "
          "reorder records); only true is accepted");
  } else if (property == "max.in.flight.requests.per.connection" || property == "max.in.flight") {
    int requests = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), requests);
    if (error != std::errc() || end != value.data() + value.size() || requests < 1 || requests > 5)
      return std::string("must be 1 to 5 (more breaks ordering with the idempotent producer)");
  }
  return std::nullopt;
}

bool is_secret_kafka_property(std::string_view property) {
  for (std::string_view marker :
       {"password", "secret", "key", "token", "jaas", "sasl.oauthbearer.config"}) {
    if (property.find(marker) != std::string_view::npos)
      return true;
  }
  return false;
}

}  // namespace cmr_bridge
