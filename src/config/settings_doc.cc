#include "config/settings_doc.h"

#include "config/settings.h"

namespace cmr_bridge {
namespace {

// For the terminal: `code` marks removed, [text](target) reduced to text.
std::string plain_text(std::string_view markdown) {
  std::string out;
  for (std::size_t i = 0; i < markdown.size(); ++i) {
    const char ch = markdown[i];
    const auto close = ch == '[' ? markdown.find(']', i) : std::string_view::npos;
    if (close != std::string_view::npos && markdown.substr(close + 1, 1) == "(") {
      out += markdown.substr(i + 1, close - i - 1);  // the link's text, without its target
      i = markdown.find(')', close);
    } else if (ch != '`') {
      out.push_back(ch);
    }
  }
  return out;
}

// A table cell: '|' would end the cell.
std::string cell(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '|')
      out.push_back('\\');
    out.push_back(ch);
  }
  return out;
}

std::string default_cell(const Setting& setting) {
  const std::string value = setting.default_text();
  const bool shown_as_is = setting.is_family() || value == setting.when_unset;
  return shown_as_is ? cell(value) : "`" + cell(value) + "`";
}

constexpr std::string_view kIntroduction = R"(# Configuration

<!-- Generated from the settings table (src/config/settings.cc) by
     `cmr-bridge config-doc > docs/configuration.md`; do not edit by hand. -->

Environment variables, optionally a JSON file (`CMR_BRIDGE_CONFIG_FILE`; the environment wins).
Every problem is reported at once, one line each naming its variable, and the start fails with
exit code 2. Unknown `CMR_BRIDGE_*` variables are logged as warnings and ignored (Kubernetes
service links inject some). `cmr-bridge check-config` runs the same checks (plus schemas and
routes file) without serving and prints the effective settings, secrets masked; the start-up log
prints the same lines. `cmr-bridge --help` prints this list.

| variable | default | meaning |
|---|---|---|
)";

constexpr std::string_view kProducerSettings = R"(
The properties the bridge sets on its Kafka clients itself (idempotent producer, `acks=all`,
`murmur2_random` partitioner, ...), and which `CMR_BRIDGE_KAFKA_PROP_*` properties reach which
client: [Kafka clients](kafka-clients.md).

A config file, for example:

```json
{
  "kafka_brokers": "kafka-0.kafka:9092,kafka-1.kafka:9092",
  "signing_keys": ["new-key", "old-key"],
  "delivery_timeout_ms": 2500,
  "kafka_prop": {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512"}
}
```
)";

}  // namespace

std::string settings_help() {
  std::string out;
  for (const auto& setting : settings()) {
    out += "  " + std::string(setting.name) + " (default " + setting.default_text() + ")\n      " +
           plain_text(setting.description) + "\n";
  }
  return out;
}

std::string configuration_markdown() {
  std::string out(kIntroduction);
  for (const auto& setting : settings()) {
    out += "| `" + std::string(setting.name) + "` | " + default_cell(setting) + " | " +
           cell(setting.description) + " |\n";
  }
  out += kProducerSettings;
  return out;
}

}  // namespace cmr_bridge
