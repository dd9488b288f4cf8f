#include "config/file_loaders.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "config/sources_config.h"

namespace cmr_bridge {
namespace {
namespace fs = std::filesystem;

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
// Every <dir>/*.json in name order, named by its stem. Fails naming a file that cannot be read.
Result<std::vector<SchemaSource>> read_schema_files(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<SchemaSource> sources;
  for (const auto& file : files) {
    auto text = read_file(file);
    if (!text)
      return Error(file.string() + ": cannot be read");
    sources.push_back({file.stem().string(), file.string(), std::move(*text)});
  }
  return sources;
}

// Keys separated by commas or line breaks, each trimmed of blanks.
std::vector<std::string> split_keys(const std::string& text) {
  std::vector<std::string> keys;
  std::string key;
  const auto flush = [&] {
    const auto first = key.find_first_not_of(" \t\r");
    const auto last = key.find_last_not_of(" \t\r");
    if (first != std::string::npos)
      keys.push_back(key.substr(first, last - first + 1));
    key.clear();
  };
  for (char c : text) {
    if (c == ',' || c == '\n')
      flush();
    else
      key.push_back(c);
  }
  flush();
  return keys;
}

Result<std::vector<std::string>> source_keys(const SourceConfig& config,
                                             const std::map<std::string, std::string>& env) {
  std::string text;
  if (!config.keys_file.empty()) {
    auto read = read_file(config.keys_file);
    if (!read)
      return Error("keys_file: cannot read " + config.keys_file);
    text = std::move(*read);
  } else {
    const auto it = env.find(config.keys_env);
    if (it == env.end())
      return Error("keys_env: the variable " + config.keys_env + " is not set");
    text = it->second;
  }
  auto keys = split_keys(text);
  if (keys.empty())
    return Error(config.keys_file.empty()
                     ? "keys_env: the variable " + config.keys_env + " holds no key"
                     : "keys_file: " + config.keys_file + " holds no key");
  return keys;
}

// <dir>/<event type>.json, each compiled; a schema a route names must exist.
Result<std::unique_ptr<SchemaSet>> source_schemas(const SourceConfig& config) {
  std::error_code ec;
  if (!fs::is_directory(config.schema_dir, ec))
    return Error("schema_dir: " + config.schema_dir + " is not a directory");
  auto sources = read_schema_files(config.schema_dir);
  if (!sources)
    return Error("schema_dir: " + sources.error().message());
  auto compiled = SchemaSet::compile(*sources);
  if (!compiled)
    return Error("schema_dir: " + compiled.error().message());
  for (const auto& route : config.routes) {
    if (!route.schema.empty() && route.schema != "none" && !(*compiled)->contains(route.schema))
      return Error(
          "schema_dir: " + (fs::path(config.schema_dir) / (route.schema + ".json")).string() +
          " is missing (named by the route for \"" + route.match + "\")");
  }
  return compiled;
}

Result<std::unique_ptr<Source>> load_source(const SourceConfig& config,
                                            const std::map<std::string, std::string>& env) {
  auto source = std::make_unique<Source>();
  source->name = config.name;
  source->cloudevents_source = config.cloudevents_source;
  source->profile = *parse_verification_profile(config.profile);
  source->id = config.id;
  source->type = config.type;
  source->time = config.time;
  std::vector<Route> routes;
  for (const auto& route : config.routes)
    routes.push_back({route.match, "", route.topic, route.key, route.schema});
  source->routes = RouteTable(std::move(routes));
  std::vector<std::string> errors;
  if (auto keys = source_keys(config, env)) {
    auto verifier = make_profile_verifier(source->profile, *keys, config.tolerance);
    if (verifier)
      source->verifier = std::move(verifier).value();
    else
      errors.push_back("keys: " + verifier.error().message());
  } else {
    errors.push_back(keys.error().message());
  }
  if (!config.schema_dir.empty()) {
    if (auto schemas = source_schemas(config))
      source->schemas = std::move(schemas).value();
    else
      errors.push_back(schemas.error().message());
  }
  if (!errors.empty())
    return Error(std::move(errors));
  return source;
}

}  // namespace

const std::vector<std::string>& documented_events() {
  static const std::vector<std::string> events = {
      "domain.order.success",
      "domain.order.failed",
      "mailbox.order.success",
      "mailbox.order.failed",
      "mailbox.created",
      "mailbox.updated",
      "subscription.renewal.success",
      "subscription.renewal.failed",
      "subscription.cancelled",
      "prewarmup.order.success",
      "prewarmup.order.failed",
  };
  return events;
}

std::string resolve_schema_dir(const std::string& configured, const std::string& executable) {
  if (!configured.empty())
    return configured;
  std::error_code ec;
  const fs::path exe = fs::weakly_canonical(fs::path(executable), ec);
  if (!ec) {
    const fs::path installed = exe.parent_path() / ".." / "share" / "cmr-bridge" / "schemas";
    if (fs::is_directory(installed, ec))
      return fs::weakly_canonical(installed, ec).string();
  }
  return CMR_BRIDGE_SOURCE_SCHEMA_DIR;
}

Result<std::unique_ptr<SchemaSet>> load_schemas(const std::string& dir, const RouteTable& routes) {
  const fs::path events = fs::path(dir) / "events";
  std::error_code ec;
  if (!fs::is_directory(events, ec))
    return Error("CMR_BRIDGE_SCHEMA_DIR: " + events.string() + " is not a directory");
  auto sources = read_schema_files(events);
  if (!sources)
    return sources.error();
  auto compiled = SchemaSet::compile(*sources);
  if (!compiled)
    return compiled.error();
  auto set = std::move(compiled).value();
  for (const auto& event : documented_events()) {
    if (!set->contains(event))
      return Error((events / (event + ".json")).string() +
                   ": missing (schema of a documented event)");
  }
  for (const auto& route : routes.routes()) {
    if (!route.schema.empty() && route.schema != "none" && !set->contains(route.schema)) {
      return Error((events / (route.schema + ".json")).string() +
                   ": missing (named by the route for \"" + route.pattern + "\")");
    }
  }
  return set;
}

Result<std::vector<Route>> load_routes(const Config& config) {
  if (config.routes_file.empty())
    return std::vector<Route>{};
  const auto text = read_file(config.routes_file);
  if (!text)
    return Error("CMR_BRIDGE_ROUTES_FILE: " + config.routes_file + " cannot be read");
  return parse_routes_file(*text, config.routes_file, config.topics);
}

Result<std::unique_ptr<SourceTable>> load_sources(const Config& config,
                                                  const std::map<std::string, std::string>& env) {
  std::vector<std::unique_ptr<Source>> sources;
  std::vector<std::string> errors;
  for (std::size_t i = 0; i < config.sources.size(); ++i) {
    auto source = load_source(config.sources[i], env);
    if (!source) {
      for (const auto& message : source.error().messages())
        errors.push_back(describe_source(i, config.sources[i].name) + ": " + message);
      continue;
    }
    sources.push_back(std::move(source).value());
  }
  if (!errors.empty())
    return Error(std::move(errors));
  return std::make_unique<SourceTable>(std::move(sources));
}

}  // namespace cmr_bridge
