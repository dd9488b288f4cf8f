#include "config/env_config.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

#include "config/settings.h"
#include "config/sources_config.h"

namespace cmr_bridge {
namespace {

std::string upper(std::string text) {
  for (auto& ch : text)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return text;
}

std::optional<std::string> scalar_text(const rapidjson::Value& value) {
  if (value.IsString())
    return std::string(value.GetString(), value.GetStringLength());
  if (value.IsBool())
    return std::string(value.GetBool() ? "true" : "false");
  if (value.IsInt64())
    return std::to_string(value.GetInt64());
  if (value.IsUint64())
    return std::to_string(value.GetUint64());
  return std::nullopt;
}

// A scalar, or an array of scalars joined with commas.
std::optional<std::string> setting_text(const rapidjson::Value& value) {
  if (!value.IsArray())
    return scalar_text(value);
  std::string joined;
  for (const auto& item : value.GetArray()) {
    const auto part = scalar_text(item);
    if (!part)
      return std::nullopt;
    joined += (joined.empty() ? "" : ",") + *part;
  }
  return joined;
}

// Adds the file's settings to `merged` where the environment has not set them, and its
// "sources" to `sources`. Problems are appended to `errors`; the keys that are fine are merged
// regardless, so the loader still reports the problems of every other setting.
void merge_config_file(const ConfigFile& file, std::map<std::string, std::string>& merged,
                       std::vector<SourceConfig>& sources, std::vector<std::string>& errors) {
  const std::string& where = file.origin;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseValidateEncodingFlag |
            rapidjson::kParseIterativeFlag>(file.text.data(), file.text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    errors.push_back(where + ": must be a JSON object" +
                     (doc.HasParseError()
                          ? std::string(" (") + rapidjson::GetParseError_En(doc.GetParseError()) +
                                " at byte " + std::to_string(doc.GetErrorOffset()) + ")"
                          : std::string()));
    return;
  }
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string key(it->name.GetString(), it->name.GetStringLength());
    std::string name = upper(key);
    if (name.rfind("CMR_BRIDGE_", 0) != 0)
      name = "CMR_BRIDGE_" + name;
    const rapidjson::Value& value = it->value;
    if (name == "CMR_BRIDGE_KAFKA_PROP" && value.IsObject()) {
      for (auto p = value.MemberBegin(); p != value.MemberEnd(); ++p) {
        const std::string property(p->name.GetString(), p->name.GetStringLength());
        std::string suffix = upper(property);
        std::replace(suffix.begin(), suffix.end(), '.', '_');
        const std::string variable = std::string(kKafkaPropertyPrefix) + suffix;
        if (const auto text = scalar_text(p->value)) {
          merged.emplace(variable, *text);  // an environment value wins
        } else {
          errors.push_back(where + ": kafka_prop." + property +
                           ": must be a string, number or boolean");
        }
      }
      continue;
    }
    if (name == "CMR_BRIDGE_SOURCES") {
      parse_sources(value, where, sources, errors);
      continue;
    }
    if (!find_setting(name)) {
      errors.push_back(where + ": unknown setting \"" + key + "\"");
      continue;
    }
    if (const auto text = setting_text(value)) {
      merged.emplace(name, *text);  // an environment value wins
    } else {
      errors.push_back(where + ": " + key +
                       ": must be a string, number, boolean or array of strings");
    }
  }
}

void add_kafka_properties(const std::map<std::string, std::string>& env, Config& config,
                          std::vector<std::string>& errors) {
  for (auto it = env.lower_bound(std::string(kKafkaPropertyPrefix));
       it != env.end() && it->first.rfind(kKafkaPropertyPrefix, 0) == 0; ++it) {
    std::string property = it->first.substr(kKafkaPropertyPrefix.size());
    if (property.empty()) {
      errors.push_back(it->first + ": names no librdkafka property");
      continue;
    }
    for (auto& ch : property)
      ch = ch == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (const auto problem = breaks_delivery_guarantee(property, it->second)) {
      errors.push_back(it->first + ": " + *problem);
      continue;
    }
    config.kafka.extra_properties.emplace_back(property, it->second);
  }
}

}  // namespace

Result<LoadedConfig> load_config_from(const std::map<std::string, std::string>& env,
                                      const std::optional<ConfigFile>& file) {
  std::vector<std::string> errors;
  std::map<std::string, std::string> merged = env;
  LoadedConfig loaded;
  Config& config = loaded.config;
  if (file)
    merge_config_file(*file, merged, config.sources, errors);

  for (const auto& setting : settings()) {
    if (setting.is_family())
      continue;
    const auto it = merged.find(std::string(setting.name));
    if (it == merged.end()) {
      if (setting.required)
        errors.push_back(std::string(setting.name) + ": is required");
      continue;
    }
    if (const Status parsed = setting.codec.parse(it->second, config); !parsed)
      errors.push_back(std::string(setting.name) + ": " + parsed.error().message());
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    errors.push_back(std::string(config.tls_cert_file.empty() ? "CMR_BRIDGE_TLS_CERT_FILE"
                                                              : "CMR_BRIDGE_TLS_KEY_FILE") +
                     ": is required when the other TLS file is set");
  }
  add_kafka_properties(merged, config, errors);
  check_sources_against_settings(config, errors);
  for (const auto& [name, value] : merged) {
    if (name.rfind("CMR_BRIDGE_", 0) == 0 && name.rfind(kKafkaPropertyPrefix, 0) != 0 &&
        !find_setting(name)) {
      // A warning, not an error: Kubernetes service links inject CMR_BRIDGE_SERVICE_HOST and
      // friends for a Service named cmr-bridge.
      loaded.warnings.push_back(name + ": unknown setting, ignored");
    }
  }
  if (!errors.empty())
    return Error(std::move(errors));
  return loaded;
}

Result<LoadedConfig> load_config(const std::map<std::string, std::string>& env) {
  const auto path = env.find("CMR_BRIDGE_CONFIG_FILE");
  if (path == env.end())
    return load_config_from(env);
  std::ifstream in(path->second, std::ios::binary);
  if (!in) {
    // Still load the environment, so its problems are reported in the same run.
    const auto rest = load_config_from(env);
    std::vector<std::string> errors = {"CMR_BRIDGE_CONFIG_FILE: cannot read " + path->second};
    if (!rest)
      errors.insert(errors.end(), rest.error().messages().begin(), rest.error().messages().end());
    return Error(std::move(errors));
  }
  ConfigFile file{std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()),
                  path->second};
  return load_config_from(env, file);
}

std::vector<std::pair<std::string, std::string>> describe_config(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& setting : settings()) {
    if (setting.is_family())
      continue;
    std::string name(setting.name.substr(std::string_view("CMR_BRIDGE_").size()));
    for (auto& ch : name)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string value = setting.codec.format(config);
    if (value.empty()) {
      value = setting.when_unset;
    } else if (setting.secret) {
      value = "(masked)";
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  for (const auto& [property, value] : config.kafka.extra_properties)
    out.emplace_back("kafka." + property, is_secret_kafka_property(property) ? "(masked)" : value);
  return out;
}

}  // namespace cmr_bridge
