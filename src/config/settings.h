// The settings table: every CMR_BRIDGE_* setting declared once, with its name, description and
// codec. Loading (environment and config file), the start-up log line, --help, check-config and
// docs/configuration.md are all derived from it. The typed defaults are Config's member
// initializers (include/cmr_bridge/config.h); the table prints them through the same codec.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmr_bridge/config.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

// Reads one setting's text into a Config, and writes it back in the form `parse` accepts.
struct SettingCodec {
  // `text` is the value as given (environment or config file). The error message is the problem
  // alone ("must be an integer, got \"x\""); the loader prefixes the variable name.
  std::function<Status(std::string_view text, Config& config)> parse;
  std::function<std::string(const Config& config)> format;
};

struct Setting {
  std::string_view name;         // CMR_BRIDGE_...; a family ends in "<NAME>" (see is_family)
  SettingCodec codec;            // empty for a family: the loader handles its members
  std::string_view description;  // Markdown: `code` spans and [links](relative to docs/)
  // Shown as the default when the formatted default is empty: "(none)", "(off)", ...
  std::string_view when_unset = "(none)";
  bool required = false;
  bool secret = false;  // its value is never logged nor printed

  bool is_family() const { return name.ends_with("<NAME>"); }
  // The family's prefix ("CMR_BRIDGE_KAFKA_PROP_"); the name itself for a plain setting.
  std::string_view prefix() const { return is_family() ? name.substr(0, name.size() - 6) : name; }
  // The default as --help and the docs print it.
  std::string default_text() const;
};

// Every setting, in documentation order. Loading parses in this order, so a setting that
// derives others (CMR_BRIDGE_TOPIC_PREFIX) precedes them.
const std::vector<Setting>& settings();

// The table entry of a plain setting named exactly `name`; nullptr when there is none.
const Setting* find_setting(std::string_view name);

// librdkafka properties passed through: CMR_BRIDGE_KAFKA_PROP_<NAME>.
inline constexpr std::string_view kKafkaPropertyPrefix = "CMR_BRIDGE_KAFKA_PROP_";

// Whether a librdkafka property's value is masked in the start-up log (passwords, keys, ...).
bool is_secret_kafka_property(std::string_view property);

// Why an override of `property` (lower-case, dotted) to `value` would break the producer's
// delivery guarantees (acks=all, idempotence, at most 5 requests in flight, so retries neither
// lose nor reorder); nothing when it keeps them. Such overrides are refused at start.
std::optional<std::string> breaks_delivery_guarantee(std::string_view property,
                                                     std::string_view value);

}  // namespace cmr_bridge
