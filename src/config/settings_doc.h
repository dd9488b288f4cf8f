// The settings table as text: the environment section of --help and docs/configuration.md.
#pragma once

#include <string>

namespace cmr_bridge {

// One entry per setting: "  NAME (default D)\n      description\n", as plain text.
std::string settings_help();

// The whole of docs/configuration.md. `cmr-bridge config-doc` prints it; a test fails when the
// committed file differs.
std::string configuration_markdown();

}  // namespace cmr_bridge
