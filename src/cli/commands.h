// The operator commands `sign` and `send`: produce the headers CMR would send, to test a
// deployment end to end.
#pragma once

#include <string>
#include <vector>

namespace cmr_bridge {

// argv after the command word. Return the process exit code; output goes to stdout/stderr.
int run_sign_command(const std::vector<std::string>& args);
int run_send_command(const std::vector<std::string>& args);

}  // namespace cmr_bridge

namespace cmr_bridge {
// `cmr-bridge decrypt [--event-id ID] [FILE|-]`: prints a CloudEvents record with every
// "cmr-enc:v1:" value in its data decrypted (keys from CMR_BRIDGE_ENCRYPTION_KEYS[_FILE]).
int run_decrypt_command(const std::vector<std::string>& args);
}  // namespace cmr_bridge
