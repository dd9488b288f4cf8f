#include "core/signature.h"

#include <cctype>

#include "core/encoding.h"
#include "core/timestamp.h"

namespace cmr_bridge {
namespace {

constexpr std::size_t kMaxSignatureHeaderLength = 256;

enum class Encoding { kHex, kBase64 };
enum class SignedString { kBody, kTimestampBody };

bool uses_timestamp(SignatureScheme scheme) {
  return scheme == SignatureScheme::kTimestampBodyHex ||
         scheme == SignatureScheme::kTimestampBodyBase64;
}
Encoding encoding_of(SignatureScheme scheme) {
  return (scheme == SignatureScheme::kBodyHex || scheme == SignatureScheme::kTimestampBodyHex)
             ? Encoding::kHex
             : Encoding::kBase64;
}
SignatureScheme scheme_for(SignedString what, Encoding encoding) {
  if (what == SignedString::kBody) {
    return encoding == Encoding::kHex ? SignatureScheme::kBodyHex : SignatureScheme::kBodyBase64;
  }
  return encoding == Encoding::kHex ? SignatureScheme::kTimestampBodyHex
                                    : SignatureScheme::kTimestampBodyBase64;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool starts_with_ignore_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i])
      return false;
  }
  return true;
}

struct DecodedSignature {
  Mac mac{};
  Encoding encoding = Encoding::kHex;
};

// Accepts "<hex64>" or "<base64 of 32 bytes>", optionally prefixed "sha256=".
std::optional<DecodedSignature> decode_signature(std::string_view header) {
  std::string_view text = trim(header);
  if (text.size() > kMaxSignatureHeaderLength)
    return std::nullopt;
  if (starts_with_ignore_case(text, "sha256="))
    text.remove_prefix(7);
  DecodedSignature decoded;
  std::optional<std::vector<uint8_t>> bytes;
  if (text.size() == 64) {
    bytes = hex_decode(text);
    decoded.encoding = Encoding::kHex;
  }
  if (!bytes && (text.size() == 43 || text.size() == 44)) {
    bytes = base64_decode(text);
    decoded.encoding = Encoding::kBase64;
  }
  if (!bytes || bytes->size() != decoded.mac.size())
    return std::nullopt;
  std::copy(bytes->begin(), bytes->end(), decoded.mac.begin());
  return decoded;
}

// `auto` keeps the two signed-string families disjoint, so that one MAC can never be read as
// both "HMAC(body)" of one request and "HMAC(T.body)" of another. A timestamp-body match
// needs a timestamp parse_timestamp() accepts (digits; no '.'), so its signed string always
// begins "<valid timestamp>." ; a body-only match is refused for bodies that begin so.
bool has_timestamp_prefix(std::string_view signed_string) {
  const std::size_t dot = signed_string.find('.');
  return dot != std::string_view::npos && parse_timestamp(signed_string.substr(0, dot));
}

}  // namespace

OutcomeCode error_code(SignatureError error) {
  switch (error) {
    case SignatureError::kNone:
      return OutcomeCode::kNone;
    case SignatureError::kMissing:
      return OutcomeCode::kMissingSignature;
    case SignatureError::kMalformed:
      return OutcomeCode::kMalformedSignature;
    case SignatureError::kMismatch:
      return OutcomeCode::kSignatureMismatch;
  }
  return OutcomeCode::kSignatureMismatch;
}

struct SignatureVerifier::Impl {
  std::vector<HmacKey> keyed;  // one per configured key, in configuration order
  SignatureScheme scheme = SignatureScheme::kAuto;
};

SignatureVerifier::SignatureVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SignatureVerifier::~SignatureVerifier() = default;

Result<std::unique_ptr<SignatureVerifier>> SignatureVerifier::create(
    const std::vector<std::string>& keys, SignatureScheme scheme) {
  if (keys.empty())
    return Error("no signing key configured");
  auto impl = std::make_unique<Impl>();
  impl->scheme = scheme;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto keyed = HmacKey::create(keys[i]);
    if (!keyed) {
      return Error("signing key " + std::to_string(i + 1) + " of " + std::to_string(keys.size()) +
                   " " + keyed.error().message());
    }
    impl->keyed.push_back(std::move(keyed).value());
  }
  return std::unique_ptr<SignatureVerifier>(new SignatureVerifier(std::move(impl)));
}

SignatureCheck SignatureVerifier::verify(std::optional<std::string_view> signature,
                                         std::string_view timestamp, std::string_view body) const {
  if (!signature || trim(*signature).empty())
    return {SignatureError::kMissing, {}};
  const auto decoded = decode_signature(*signature);
  if (!decoded)
    return {SignatureError::kMalformed, {}};

  SignedString candidates[2] = {SignedString::kBody, SignedString::kTimestampBody};
  std::size_t candidate_count = 2;
  if (impl_->scheme == SignatureScheme::kAuto) {
    // See has_timestamp_prefix(): at most one family can match a given signature.
    candidate_count = 0;
    if (!has_timestamp_prefix(body))
      candidates[candidate_count++] = SignedString::kBody;
    if (parse_timestamp(timestamp))
      candidates[candidate_count++] = SignedString::kTimestampBody;
  } else {
    if (encoding_of(impl_->scheme) != decoded->encoding)
      return {SignatureError::kMalformed, {}};
    candidates[0] =
        uses_timestamp(impl_->scheme) ? SignedString::kTimestampBody : SignedString::kBody;
    candidate_count = 1;
  }

  // Stops at the first match. A forgery always costs every (key, candidate) pair, so the
  // time taken says nothing about how close it came; each compare is constant-time.
  for (const auto& keyed : impl_->keyed) {
    for (std::size_t i = 0; i < candidate_count; ++i) {
      const std::string_view prefix =
          candidates[i] == SignedString::kTimestampBody ? timestamp : std::string_view{};
      if (candidates[i] == SignedString::kTimestampBody && timestamp.empty())
        continue;
      const auto expected =
          prefix.empty() ? keyed.compute({body}) : keyed.compute({prefix, ".", body});
      if (expected && macs_equal(*expected, decoded->mac)) {
        return {SignatureError::kNone, scheme_for(candidates[i], decoded->encoding)};
      }
    }
  }
  return {SignatureError::kMismatch, {}};
}

std::string compute_signature(std::string_view key, SignatureScheme scheme,
                              std::string_view timestamp, std::string_view body) {
  if (scheme == SignatureScheme::kAuto || key.empty())
    return {};
  const auto keyed = HmacKey::create(key);
  if (!keyed)
    return {};
  const auto digest = uses_timestamp(scheme) && !timestamp.empty()
                          ? keyed->compute({timestamp, ".", body})
                          : keyed->compute({body});
  if (!digest)
    return {};
  return encoding_of(scheme) == Encoding::kHex ? hex_encode(digest->data(), digest->size())
                                               : base64_encode(digest->data(), digest->size());
}

std::string_view to_string(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kAuto:
      return "auto";
    case SignatureScheme::kBodyHex:
      return "body-hex";
    case SignatureScheme::kBodyBase64:
      return "body-base64";
    case SignatureScheme::kTimestampBodyHex:
      return "timestamp-body-hex";
    case SignatureScheme::kTimestampBodyBase64:
      return "timestamp-body-base64";
  }
  return "auto";
}

std::optional<SignatureScheme> parse_signature_scheme(std::string_view name) {
  for (auto scheme :
       {SignatureScheme::kAuto, SignatureScheme::kBodyHex, SignatureScheme::kBodyBase64,
        SignatureScheme::kTimestampBodyHex, SignatureScheme::kTimestampBodyBase64}) {
    if (to_string(scheme) == name)
      return scheme;
  }
  return std::nullopt;
}

}  // namespace cmr_bridge
