#include "kafka/client_common.h"

#include <librdkafka/rdkafka.h>

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

}  // namespace

std::string apply_kafka_properties(
    rd_kafka_conf_s* conf, const std::vector<std::pair<std::string, std::string>>& properties) {
  char errstr[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return "Kafka property " + name + ": " + errstr;
    }
  }
  return {};
}

void install_kafka_log_callbacks(rd_kafka_conf_s* conf) {
  rd_kafka_conf_set_log_cb(conf, &on_log);
  rd_kafka_conf_set_error_cb(conf, &on_error);
}

}  // namespace cmr_bridge
