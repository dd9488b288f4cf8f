// HMAC-SHA256 with a key prepared once and reused by many threads: the CMR verifier and the
// source profiles both keep one HmacKey per configured key.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string_view>

#include "cmr_bridge/result.h"

namespace cmr_bridge {

using Mac = std::array<uint8_t, 32>;

class HmacKey {
 public:
  // Fails when the key is empty or OpenSSL cannot provide HMAC-SHA256. The message never
  // contains the key; callers prefix it with the key's position.
  static Result<HmacKey> create(std::string_view key);
  ~HmacKey();
  HmacKey(HmacKey&&) noexcept;
  HmacKey& operator=(HmacKey&&) noexcept;

  // HMAC over the concatenation of `parts`, without copying them. Does not modify the prepared
  // key, so it may be called from many threads at once. nullopt if OpenSSL fails.
  std::optional<Mac> compute(std::initializer_list<std::string_view> parts) const;

 private:
  struct Context;
  explicit HmacKey(std::unique_ptr<Context> context);
  std::unique_ptr<Context> context_;
};

// Constant-time comparison (CRYPTO_memcmp): the time taken says nothing about how many leading
// bytes agree.
bool macs_equal(const Mac& a, const Mac& b);

}  // namespace cmr_bridge
