// Start-up file loading: the schema directory, the schemas and the routes file.
#include "config/file_loaders.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace cmr_bridge;
namespace fs = std::filesystem;

namespace {

const fs::path kSourceSchemas = CMR_BRIDGE_SOURCE_SCHEMA_DIR;

// A scratch directory removed at the end of the test.
struct ScratchDir {
  fs::path path =
      fs::temp_directory_path() /
      ("cmr_bridge_file_loaders_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  ScratchDir() { fs::create_directories(path); }
  ~ScratchDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    const fs::path file = path / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
  static inline int counter = 0;
};

// The source tree's schemas, copied without the one named `left_out`.
void copy_schemas_without(const ScratchDir& dir, const std::string& left_out) {
  fs::create_directories(dir.path / "events");
  for (const auto& entry : fs::directory_iterator(kSourceSchemas / "events")) {
    if (entry.path().filename() != left_out + ".json")
      fs::copy_file(entry.path(), dir.path / "events" / entry.path().filename());
  }
}

}  // namespace

TEST_SUITE("file loaders") {
  TEST_CASE("the configured schema directory wins; else the installed one; else the source's") {
    CHECK(resolve_schema_dir("/etc/cmr/schemas", "/usr/bin/cmr-bridge") == "/etc/cmr/schemas");
    ScratchDir prefix;
    prefix.write("bin/cmr-bridge", "");
    CHECK(resolve_schema_dir("", (prefix.path / "bin" / "cmr-bridge").string()) ==
          kSourceSchemas.string());
    fs::create_directories(prefix.path / "share" / "cmr-bridge" / "schemas");
    CHECK(resolve_schema_dir("", (prefix.path / "bin" / "cmr-bridge").string()) ==
          fs::weakly_canonical(prefix.path / "share" / "cmr-bridge" / "schemas").string());
  }

  TEST_CASE("the shipped schemas cover every documented event") {
    const auto schemas = load_schemas(kSourceSchemas.string(), RouteTable::defaults(TopicNames{}));
    REQUIRE_MESSAGE(schemas.ok(), (schemas.ok() ? "" : schemas.error().message()));
    for (const auto& event : documented_events()) {
      CAPTURE(event);
      CHECK(schemas.value()->contains(event));
    }
    CHECK(documented_events().size() == 11);
  }

  TEST_CASE("a missing schema directory names CMR_BRIDGE_SCHEMA_DIR") {
    const auto schemas = load_schemas("/nonexistent/cmr-bridge-schemas", RouteTable({}));
    REQUIRE_FALSE(schemas.ok());
    CHECK(schemas.error().message().rfind("CMR_BRIDGE_SCHEMA_DIR: ", 0) == 0);
  }

  TEST_CASE("a documented event without a schema fails, naming the missing file") {
    ScratchDir dir;
    copy_schemas_without(dir, "mailbox.created");
    const auto schemas = load_schemas(dir.path.string(), RouteTable({}));
    REQUIRE_FALSE(schemas.ok());
    CHECK(schemas.error().message() == (dir.path / "events" / "mailbox.created.json").string() +
                                           ": missing (schema of a documented event)");
  }

  TEST_CASE("a route naming a schema that does not exist fails, naming the route") {
    const RouteTable routes(
        {Route{"domain.renewal.*", "order", "t", {"/userId"}, "domain.renewal"}});
    const auto schemas = load_schemas(kSourceSchemas.string(), routes);
    REQUIRE_FALSE(schemas.ok());
    CHECK(schemas.error().message().find("domain.renewal.json: missing (named by the route for "
                                         "\"domain.renewal.*\")") != std::string::npos);
  }

  TEST_CASE("a broken schema file fails, naming the file") {
    ScratchDir dir;
    copy_schemas_without(dir, "");
    dir.write("events/extra.json", "{not json");
    const auto schemas = load_schemas(dir.path.string(), RouteTable({}));
    REQUIRE_FALSE(schemas.ok());
    CHECK(schemas.error().message().find("extra.json") != std::string::npos);
  }

  TEST_CASE("no routes file means no extra routes") {
    const auto routes = load_routes(Config{});
    REQUIRE(routes.ok());
    CHECK(routes.value().empty());
  }

  TEST_CASE("the routes file's routes are loaded with the configured topics") {
    ScratchDir dir;
    Config config;
    config.topics.order = "prod.order.events";
    config.routes_file =
        dir.write("routes.json", R"({"routes":[{"match":"domain.renewal.*","topic":"order"}]})")
            .string();
    const auto routes = load_routes(config);
    REQUIRE(routes.ok());
    REQUIRE(routes.value().size() == 1);
    CHECK(routes.value()[0].pattern == "domain.renewal.*");
    CHECK(routes.value()[0].topic == "prod.order.events");
  }

  TEST_CASE("routes file problems are all reported; an unreadable file names the variable") {
    ScratchDir dir;
    Config config;
    config.routes_file =
        dir.write("routes.json", R"({"routes":[{"topic":"order"},{"match":"a","topic":""}]})")
            .string();
    const auto broken = load_routes(config);
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().messages().size() == 2);
    config.routes_file = (dir.path / "absent.json").string();
    const auto unreadable = load_routes(config);
    REQUIRE_FALSE(unreadable.ok());
    CHECK(unreadable.error().message() ==
          "CMR_BRIDGE_ROUTES_FILE: " + config.routes_file + " cannot be read");
  }
}
