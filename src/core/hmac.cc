#include "core/hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace cmr_bridge {
namespace {
struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;
}  // namespace

struct HmacKey::Context {
  MacCtxPtr keyed;  // initialised with the key; only ever duplicated, never updated
};

HmacKey::HmacKey(std::unique_ptr<Context> context) : context_(std::move(context)) {}
HmacKey::~HmacKey() = default;
HmacKey::HmacKey(HmacKey&&) noexcept = default;
HmacKey& HmacKey::operator=(HmacKey&&) noexcept = default;

Result<HmacKey> HmacKey::create(std::string_view key) {
  if (key.empty())
    return Error("is empty");
  // The context holds its own reference to the algorithm.
  const std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac)
    return Error("OpenSSL cannot provide HMAC");
  MacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx)
    return Error("OpenSSL cannot allocate an HMAC context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1) {
    return Error("OpenSSL cannot key HMAC-SHA256 with it");
  }
  return HmacKey(std::make_unique<Context>(Context{std::move(ctx)}));
}

std::optional<Mac> HmacKey::compute(std::initializer_list<std::string_view> parts) const {
  MacCtxPtr ctx(EVP_MAC_CTX_dup(context_->keyed.get()));
  if (!ctx)
    return std::nullopt;
  for (const std::string_view part : parts) {
    if (EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(part.data()),
                       part.size()) != 1) {
      return std::nullopt;
    }
  }
  Mac out{};
  std::size_t written = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &written, out.size()) != 1 || written != out.size()) {
    return std::nullopt;
  }
  return out;
}

bool macs_equal(const Mac& a, const Mac& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cmr_bridge
