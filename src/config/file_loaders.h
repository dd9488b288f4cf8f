// Start-up file loading: schemas and the routes file. Every failure names the file.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cmr_bridge/config.h"
#include "cmr_bridge/result.h"
#include "core/routing.h"
#include "core/schema_set.h"
#include "core/source.h"

namespace cmr_bridge {

// The 11 events the CMR documentation describes; each must have a schema.
const std::vector<std::string>& documented_events();

// CMR_BRIDGE_SCHEMA_DIR when set; else <dir of `executable`>/../share/cmr-bridge/schemas when
// it exists; else the source tree's schemas/ (development builds).
std::string resolve_schema_dir(const std::string& configured, const std::string& executable);

// Compiles <dir>/events/*.json (file stem = event name). Fails when the directory, a
// documented event's schema, or a schema a route names is missing, or a file is broken.
Result<std::unique_ptr<SchemaSet>> load_schemas(const std::string& dir, const RouteTable& routes);

// The routes of `config.routes_file` (none when unset), to put before the built-in ones;
// every problem found when the file cannot be read or parsed.
Result<std::vector<Route>> load_routes(const Config& config);

// The sources of `config.sources`, ready to serve: keys read from their variable in `env` or
// their file, verifiers built, schema folders (<dir>/<event type>.json) compiled. Every problem
// found, each naming the source and its field (never a key's value).
Result<std::unique_ptr<SourceTable>> load_sources(const Config& config,
                                                  const std::map<std::string, std::string>& env);

}  // namespace cmr_bridge
