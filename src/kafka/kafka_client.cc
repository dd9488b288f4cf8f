#include "kafka/kafka_client.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string_view>

#include "log/logger.h"

namespace cmr_bridge {
namespace {

void on_log(const rd_kafka_t*, int level, const char* facility, const char* text) {
  // syslog levels: 0-3 error, 4 warning, 5-6 info/notice, 7 debug. librdkafka log lines
  // carry broker names and error text, never message contents.
  const LogLevel mapped = level <= 3   ? LogLevel::kError
                          : level == 4 ? LogLevel::kWarn
                          : level <= 6 ? LogLevel::kInfo
                                       : LogLevel::kDebug;
  log(mapped, "librdkafka", {{"facility", facility}, {"detail", text}});
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void*) {
  log_client_error(rk, err, reason);
}

// Which kinds of client a librdkafka property applies to.
constexpr unsigned kProducers = 1;
constexpr unsigned kConsumers = 2;
constexpr unsigned kBoth = kProducers | kConsumers;

// librdkafka's property tables (global and topic), as rd_kafka_conf_properties_show prints them:
// "name | C/P | range | default | importance | description". Read once; immutable afterwards.
std::map<std::string, unsigned, std::less<>> read_property_kinds() {
  std::map<std::string, unsigned, std::less<>> kinds;
  char* text = nullptr;
  std::size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  if (out == nullptr)
    return kinds;
  rd_kafka_conf_properties_show(out);
  std::fclose(out);
  const auto trimmed = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ')
      s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
      s.remove_suffix(1);
    return s;
  };
  std::string_view rest(text, size);
  while (!rest.empty()) {
    const auto end_of_line = rest.find('\n');
    const std::string_view line = rest.substr(0, end_of_line);
    rest =
        end_of_line == std::string_view::npos ? std::string_view() : rest.substr(end_of_line + 1);
    const auto first_bar = line.find('|');
    const auto second_bar =
        first_bar == std::string_view::npos ? first_bar : line.find('|', first_bar + 1);
    if (second_bar == std::string_view::npos)
      continue;
    const std::string_view name = trimmed(line.substr(0, first_bar));
    const std::string_view scope = trimmed(line.substr(first_bar + 1, second_bar - first_bar - 1));
    const unsigned kind = scope == "*"   ? kBoth
                          : scope == "P" ? kProducers
                          : scope == "C" ? kConsumers
                                         : 0;
    if (kind != 0)
      kinds[std::string(name)] |= kind;
  }
  std::free(text);
  return kinds;
}

unsigned kinds_of(const std::string& name) {
  static const auto table = read_property_kinds();
  const auto it = table.find(name);
  return it == table.end() ? kBoth : it->second;
}

std::string client_id_for(const KafkaSettings& kafka, KafkaClientRole role) {
  switch (role) {
    case KafkaClientRole::kProducer:
      return kafka.client_id;
    case KafkaClientRole::kDedupMarkerReader:
      return kafka.client_id + "-dedup";
    case KafkaClientRole::kTopicScanner:
      return kafka.client_id + "-scan";
    case KafkaClientRole::kAdmin:
      return kafka.client_id + "-admin";
  }
  return kafka.client_id;
}

}  // namespace

void log_client_error(rd_kafka_t* rk, int err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char detail[512];
    const auto fatal = rd_kafka_fatal_error(rk, detail, sizeof detail);
    log_error("kafka client fatal error", {{"code", rd_kafka_err2name(fatal)}, {"detail", detail}});
    return;
  }
  // Transient errors (connection refused, all brokers down) repeat while the cluster is
  // away; the readiness probe reports the state change once, so these stay at debug.
  log_debug(
      "kafka transient error",
      {{"code", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))}, {"detail", reason}});
}

bool passes_through_to(const std::string& name, KafkaClientRole role) {
  const unsigned kinds = kinds_of(name);
  switch (role) {
    case KafkaClientRole::kProducer:
      return (kinds & kProducers) != 0;
    case KafkaClientRole::kDedupMarkerReader:
    case KafkaClientRole::kTopicScanner:
      return (kinds & kConsumers) != 0;
    case KafkaClientRole::kAdmin:
      return kinds == kBoth;
  }
  return false;
}

rdkafka::Properties kafka_client_properties(const KafkaSettings& kafka, KafkaClientRole role,
                                            const rdkafka::Properties& role_properties) {
  rdkafka::Properties properties = {
      {"bootstrap.servers", kafka.brokers},
      {"client.id", client_id_for(kafka, role)},
  };
  properties.insert(properties.end(), role_properties.begin(), role_properties.end());
  for (const auto& extra : kafka.extra_properties) {
    if (passes_through_to(extra.first, role))
      properties.push_back(extra);
  }
  return properties;
}

Result<rdkafka::ConfPtr> kafka_client_conf(const KafkaSettings& kafka, KafkaClientRole role,
                                           const rdkafka::Properties& role_properties) {
  auto conf = rdkafka::new_conf(kafka_client_properties(kafka, role, role_properties));
  if (conf) {
    rd_kafka_conf_set_log_cb(conf->get(), &on_log);
    rd_kafka_conf_set_error_cb(conf->get(), &on_error);
  }
  return conf;
}

Result<rdkafka::ClientPtr> new_kafka_client(const KafkaSettings& kafka, KafkaClientRole role,
                                            const rdkafka::Properties& role_properties) {
  auto conf = kafka_client_conf(kafka, role, role_properties);
  if (!conf)
    return conf.error();
  const bool reads =
      role == KafkaClientRole::kDedupMarkerReader || role == KafkaClientRole::kTopicScanner;
  return rdkafka::new_client(reads ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER,
                             std::move(conf).value());
}

}  // namespace cmr_bridge
