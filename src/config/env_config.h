// Configuration from environment variables. Every problem is reported, each naming its
// variable, so an operator fixes them all in one go.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cmr_bridge/config.h"

namespace cmr_bridge {

struct ConfigResult {
  Config config;
  std::vector<std::string> errors;    // empty when the configuration is usable
  std::vector<std::string> warnings;  // e.g. unknown CMR_BRIDGE_* variables (typos)
  bool ok() const { return errors.empty(); }
};

// `env` is the process environment (name → value). Pure: no I/O.
ConfigResult load_config_from_env(const std::map<std::string, std::string>& env);

// Merges a JSON config file under the environment (the environment wins). The file is an
// object whose keys are the variable names, with or without the CMR_BRIDGE_ prefix and in
// any case ("kafka_brokers" = "CMR_BRIDGE_KAFKA_BROKERS"); values are strings, numbers,
// booleans, or arrays of strings (joined with commas, e.g. signing_keys); "kafka_prop" may
// hold an object of librdkafka properties. Unknown keys and wrong types are errors naming the
// key and `origin`. Pure: the caller reads the file.
std::map<std::string, std::string> merge_config_file(const std::map<std::string, std::string>& env,
                                                     std::string_view file_text,
                                                     std::string_view origin,
                                                     std::vector<std::string>& errors);

// One line per setting with secrets masked, for the start-up log.
std::vector<std::pair<std::string, std::string>> describe_config(const Config& config);

struct ConfigVariable {
  const char* name;
  const char* default_value;
  const char* description;
};
// The documented variables (README and --help are generated from the same table).
const std::vector<ConfigVariable>& config_variables();

}  // namespace cmr_bridge
