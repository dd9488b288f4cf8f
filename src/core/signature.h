// HMAC-SHA256 webhook signature verification over the raw body bytes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmr_bridge/codes.h"
#include "cmr_bridge/result.h"
#include "cmr_bridge/signature_scheme.h"
#include "core/hmac.h"

namespace cmr_bridge {

enum class SignatureError {
  kNone,
  kMissing,    // no cmr-x-signature header
  kMalformed,  // not hex/base64 of 32 bytes, or not the pinned encoding
  kMismatch,   // well-formed but no configured key and scheme produces it
};
OutcomeCode error_code(SignatureError error);  // kMissingSignature, ...; kNone for kNone

struct SignatureCheck {
  SignatureError error = SignatureError::kNone;
  SignatureScheme matched = SignatureScheme::kAuto;  // the concrete scheme, when verified
  bool ok() const { return error == SignatureError::kNone; }
};

// Holds one precomputed HMAC context per key. Immutable after construction: verify() is
// safe to call from many threads at once.
class SignatureVerifier {
 public:
  // Fails when no key is given, a key is empty, or OpenSSL cannot provide HMAC; the message
  // names which (keys by position, never by value).
  static Result<std::unique_ptr<SignatureVerifier>> create(const std::vector<std::string>& keys,
                                                           SignatureScheme scheme);
  ~SignatureVerifier();
  SignatureVerifier(const SignatureVerifier&) = delete;
  SignatureVerifier& operator=(const SignatureVerifier&) = delete;

  // `signature` is the header value (nullopt when absent). `timestamp` is the raw
  // cmr-x-timestamp header value exactly as received (it is part of the signed string in
  // the timestamp-body schemes). Every configured key is tried; MACs are compared with
  // CRYPTO_memcmp.
  SignatureCheck verify(std::optional<std::string_view> signature, std::string_view timestamp,
                        std::string_view body) const;

 private:
  struct Impl;
  explicit SignatureVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Computes the header value a sender would put in cmr-x-signature (used by `sign`/`send`
// and tests). `scheme` must be concrete, not kAuto. Empty string if OpenSSL fails.
std::string compute_signature(std::string_view key, SignatureScheme scheme,
                              std::string_view timestamp, std::string_view body);

}  // namespace cmr_bridge
