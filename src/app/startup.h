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
#include "cmr_bridge/result.h"
#include "core/credentials.h"
#include "core/pipeline.h"
#include "core/routing.h"
#include "core/schema_set.h"
#include "core/signature.h"
#include "core/source.h"
#include "http/webhook_server.h"

namespace cmr_bridge {

// The process environment as a map.
std::map<std::string, std::string> read_environment();

// The credential policy, reading the key file when configured. The error names its variable.
Result<CredentialPolicy> load_credential_policy(const Config& config);

// Everything `serve`, `check-config` and `redrive` read at start.
struct StartupState {
  Config config;
  std::vector<std::string> warnings;
  CredentialPolicy credentials;
  std::unique_ptr<RouteTable> routes;    // never null
  std::unique_ptr<SchemaSet> schemas;    // never null
  std::unique_ptr<SourceTable> sources;  // never null; empty without "sources"
};

// `executable` (argv[0]) locates the installed schemas when CMR_BRIDGE_SCHEMA_DIR is unset;
// `env` is the process environment unless a test passes its own. The error lists every
// problem found, each naming its variable or file.
Result<StartupState> load_startup_state(
    const std::string& executable, std::map<std::string, std::string> env = read_environment());

// The webhook signature verifier for CMR_BRIDGE_SIGNING_KEYS and CMR_BRIDGE_SIGNATURE_SCHEME.
Result<std::unique_ptr<SignatureVerifier>> create_verifier(const Config& config);

// The pipeline settings `serve` uses for a loaded state.
PipelineSettings pipeline_settings_for(const StartupState& state);

// The webhook listener settings `serve` uses.
WebhookServerSettings webhook_settings_for(const Config& config);

// Blocks SIGTERM and SIGINT for the calling thread and every thread it starts later (call it
// before starting any), ignores SIGPIPE, and returns the set for sigwait() on that thread.
sigset_t block_stop_signals();

}  // namespace cmr_bridge
