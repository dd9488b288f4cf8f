// Protection of credential fields (mailbox passwords, app passwords, TOTP seeds) in the `data`
// that goes to Kafka: passed through, redacted, or encrypted with AES-256-GCM per value.
//
// Encrypted value: "cmr-enc:v1:<key id>:<base64 iv>:<base64 ciphertext+tag>", where the
// additional authenticated data is "<eventId>|<JSON pointer of the value in data>", so a value
// cannot be moved to another event or field without failing to decrypt.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmr_bridge/credential_mode.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

struct EncryptionKey {
  std::string id;
  std::array<uint8_t, 32> key{};
};

struct CredentialPolicy {
  CredentialMode mode = CredentialMode::kPassthrough;
  // Field names matched at any depth, and JSON pointers into `data` matched exactly.
  std::vector<std::string> names = {"password", "appPassword", "authenticatorSecret"};
  std::vector<std::string> pointers;
  std::vector<EncryptionKey> keys;  // the first encrypts; all decrypt (rotation by key id)
};

inline constexpr std::string_view kRedacted = "[REDACTED]";
inline constexpr std::string_view kEncryptedPrefix = "cmr-enc:v1:";

// Parses "id:base64key,id2:base64key2" (each key 32 bytes). Errors name the entry.
Result<std::vector<EncryptionKey>> parse_encryption_keys(std::string_view text);

// Returns `raw_data` (valid JSON, e.g. Envelope::raw_data) with every credential value
// replaced, all other bytes unchanged; nullopt only if encryption fails.
std::optional<std::string> protect_credentials(std::string_view raw_data,
                                               const CredentialPolicy& policy,
                                               std::string_view event_id);

// Decrypts one "cmr-enc:v1:..." value found at `pointer` in the data of event `event_id`.
// Returns the value's original JSON text, byte for byte (a string keeps its quotes).
std::optional<std::string> decrypt_credential(std::string_view value,
                                              const std::vector<EncryptionKey>& keys,
                                              std::string_view event_id, std::string_view pointer);

}  // namespace cmr_bridge
