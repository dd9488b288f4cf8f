// cmr-bridge: maps the command word to its command (src/cli/commands.h); src/app builds the
// running bridge.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace cmr_bridge;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::string command = args.empty() ? "serve" : args[0];
  const std::vector<std::string> rest(args.empty() ? args.begin() : args.begin() + 1, args.end());
  const std::string executable = argv[0];
  if (command == "--help" || command == "-h" || command == "help")
    return run_help_command();
  if (command == "--version" || command == "version")
    return run_version_command();
  if (command == "serve")
    return run_serve_command(executable, rest);
  if (command == "check-config")
    return run_check_config_command(executable);
  if (command == "config-doc")
    return run_config_doc_command();
  if (command == "decrypt")
    return run_decrypt_command(rest);
  if (command == "redrive")
    return run_redrive_command(executable, rest);
  if (command == "sign")
    return run_sign_command(rest);
  if (command == "send")
    return run_send_command(rest);
  std::cerr << "unknown command \"" << command << "\"; see cmr-bridge --help\n";
  return kExitConfig;
}
