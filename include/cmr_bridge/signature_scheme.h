// Which HMAC-SHA256 construction the sender used. The CMR docs leave it open, so `kAuto`
// accepts any of the concrete schemes; an operator who knows the real one pins it.
#pragma once

#include <optional>
#include <string_view>

namespace cmr_bridge {

enum class SignatureScheme {
  kAuto,
  kBodyHex,              // hex(HMAC(key, body))
  kBodyBase64,           // base64(HMAC(key, body))
  kTimestampBodyHex,     // hex(HMAC(key, timestamp + "." + body))
  kTimestampBodyBase64,  // base64(HMAC(key, timestamp + "." + body))
};

// Stable names used in configuration, logs and metric labels.
std::string_view to_string(SignatureScheme scheme);
std::optional<SignatureScheme> parse_signature_scheme(std::string_view name);

}  // namespace cmr_bridge
