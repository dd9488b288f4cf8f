#include <iostream>

#include "app/startup.h"
#include "cli/commands.h"
#include "config/env_config.h"

namespace cmr_bridge {

int report_config_error(const Error& error) {
  for (const auto& message : error.messages())
    std::cerr << "config error: " << message << "\n";
  return kExitConfig;
}

int run_check_config_command(const std::string& executable) {
  const auto state = load_startup_state(executable);
  if (!state)
    return report_config_error(state.error());
  if (const auto verifier = create_verifier(state->config); !verifier)
    return report_config_error(verifier.error());
  for (const auto& warning : state->warnings)
    std::cerr << "config warning: " << warning << "\n";
  for (const auto& [name, value] : describe_config(state->config))
    std::cout << name << " = " << value << "\n";
  std::cout << "configuration is valid: " << state->routes->routes().size() << " routes, "
            << state->schemas->names().size() << " schemas from " << state->config.schema_dir
            << "\n";
  for (const auto& source : state->config.sources) {
    std::cout << "source " << source.name << ": profile " << source.profile << ", "
              << source.routes.size() << " routes, served at /webhooks/" << source.name << "\n";
  }
  return kExitOk;
}

}  // namespace cmr_bridge
