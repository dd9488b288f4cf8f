// Hex and base64 codecs for signatures. Pure functions, no allocation beyond the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cmr_bridge {

std::string hex_encode(const uint8_t* data, std::size_t size);
// Accepts upper and lower case; nullopt on odd length or a non-hex character.
std::optional<std::vector<uint8_t>> hex_decode(std::string_view text);

std::string base64_encode(const uint8_t* data, std::size_t size);
// Accepts the standard and the URL-safe alphabet, with or without '=' padding.
// nullopt on any other character, misplaced padding or impossible length.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace cmr_bridge
