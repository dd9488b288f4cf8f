// The documented CMR payloads of schemas/examples/, read from the source tree (for tiers built
// with CMR_BRIDGE_SOURCE_DIR).
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace cmr_bridge::test {

// schemas/examples/<event>.json byte for byte. Throws std::runtime_error when it is missing.
inline std::string documented_example(const std::string& event) {
  const auto path =
      std::filesystem::path(CMR_BRIDGE_SOURCE_DIR) / "schemas/examples" / (event + ".json");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace cmr_bridge::test
