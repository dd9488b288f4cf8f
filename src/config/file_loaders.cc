#include "config/file_loaders.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace cmr_bridge {
namespace {
namespace fs = std::filesystem;

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
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
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(events, ec)) {
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
  auto compiled = SchemaSet::compile(sources);
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

}  // namespace cmr_bridge
