// Loading the configuration from the environment and the optional JSON config file, through the
// settings table (config/settings.h). Every problem is reported at once, each naming its
// variable, so an operator fixes them all in one go.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cmr_bridge/config.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

struct LoadedConfig {
  Config config;
  std::vector<std::string> warnings;  // e.g. unknown CMR_BRIDGE_* variables (typos)
};

// The text of a JSON config file and where it came from (named in its errors).
struct ConfigFile {
  std::string text;
  std::string origin;
};

// Pure: `env` is the process environment (name → value). The file, when given, is an object
// whose keys are the variable names, with or without the CMR_BRIDGE_ prefix and in any case
// ("kafka_brokers" = "CMR_BRIDGE_KAFKA_BROKERS"); values are strings, numbers, booleans, or
// arrays of strings (joined with commas, e.g. signing_keys); "kafka_prop" may hold an object of
// librdkafka properties. The environment wins over the file. Unknown keys and wrong types in the
// file are errors naming the key and the file. The Error holds every problem found.
Result<LoadedConfig> load_config_from(const std::map<std::string, std::string>& env,
                                      const std::optional<ConfigFile>& file = std::nullopt);

// As load_config_from, reading the file CMR_BRIDGE_CONFIG_FILE names when it is set.
Result<LoadedConfig> load_config(const std::map<std::string, std::string>& env);

// One (name, value) per setting for the start-up log and check-config: the variable name
// lower-cased without CMR_BRIDGE_, secrets masked; librdkafka pass-through properties follow as
// "kafka.<property>".
std::vector<std::pair<std::string, std::string>> describe_config(const Config& config);

}  // namespace cmr_bridge
