// Every command of the cmr-bridge binary. src/main.cc maps the first argument to one of these;
// `args` is argv after the command word. Each returns the process exit code; output goes to
// stdout/stderr (serve logs JSON lines).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cmr_bridge/publisher.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // e.g. port in use, Kafka failed, fatal while serving
inline constexpr int kExitConfig = 2;   // invalid configuration or usage

// Prints each message as "config error: ..." on stderr and returns kExitConfig.
int report_config_error(const Error& error);

// `cmr-bridge --help`: usage, every setting with its default, the exit codes.
int run_help_command();
// `cmr-bridge config-doc` (not in --help): prints docs/configuration.md as the settings table
// generates it.
int run_config_doc_command();
// `cmr-bridge --version`.
int run_version_command();

// `cmr-bridge [serve]`: build → bind → wait for SIGTERM/SIGINT → drain. `executable` is argv[0]
// (it locates the installed schemas).
int run_serve_command(const std::string& executable, const std::vector<std::string>& args);
// The same, with `publisher` in place of the Kafka producer (the benchmark ceiling,
// tests/bench/ceiling_main.cc): everything else is what `serve` builds.
int serve_with_publisher(const std::string& executable, std::unique_ptr<Publisher> publisher);

// `cmr-bridge check-config`: validates the configuration, routes and schemas without serving.
int run_check_config_command(const std::string& executable);

// `cmr-bridge redrive`: runs dead-lettered requests through the current schemas and routes and
// publishes what now passes (idempotency applies). Exit 0 when every record was handled, 1 when
// Kafka failed for some, 2 on usage or configuration errors.
int run_redrive_command(const std::string& executable, const std::vector<std::string>& args);

// `cmr-bridge sign` and `send`: produce the headers CMR would send, to test a deployment end to
// end.
int run_sign_command(const std::vector<std::string>& args);
int run_send_command(const std::vector<std::string>& args);

// `cmr-bridge decrypt [--event-id ID] [FILE|-]`: prints a CloudEvents record with every
// "cmr-enc:v1:" value in its data decrypted (keys from CMR_BRIDGE_ENCRYPTION_KEYS[_FILE]).
int run_decrypt_command(const std::vector<std::string>& args);

}  // namespace cmr_bridge
