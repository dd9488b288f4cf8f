// Start-up shared by the binary's commands and the benchmark ceiling: reading the environment
// (and CMR_BRIDGE_CONFIG_FILE), routes, schemas and the credential policy, and deriving the
// pipeline's and the webhook listener's settings from them. One place, so the ceiling of
// tests/bench measures exactly the configuration `serve` runs with. No threads, no sockets.
#pragma once

#include <signal.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cmr_bridge/config.h"
#include "core/credentials.h"
#include "core/pipeline.h"
#include "core/routing.h"
#include "core/schema_set.h"
#include "http/webhook_server.h"

namespace cmr_bridge {

// The process environment as a map.
std::map<std::string, std::string> read_environment();

// The credential policy, reading the key file when configured. Problems are appended to
// `errors`, each naming its variable.
CredentialPolicy load_credential_policy(const Config& config, std::vector<std::string>& errors);

// Everything `serve`, `check-config` and `redrive` read at start, with every problem found.
struct StartupState {
  Config config;
  std::vector<std::string> warnings;
  CredentialPolicy credentials;
  std::unique_ptr<RouteTable> routes;
  std::unique_ptr<SchemaSet> schemas;
  std::vector<std::string> errors;
};

// `executable` (argv[0]) locates the installed schemas when CMR_BRIDGE_SCHEMA_DIR is unset.
StartupState load_startup_state(const std::string& executable);

// The pipeline settings `serve` uses for a loaded state.
PipelineSettings pipeline_settings_for(const StartupState& state);

// The webhook listener settings `serve` uses.
WebhookServerSettings webhook_settings_for(const Config& config);

// Blocks SIGTERM and SIGINT for the calling thread and every thread it starts later (call it
// before starting any), ignores SIGPIPE, and returns the set for sigwait() on that thread.
sigset_t block_stop_signals();

}  // namespace cmr_bridge
