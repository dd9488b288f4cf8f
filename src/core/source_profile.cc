#include "core/source_profile.h"

#include "core/encoding.h"
#include "core/hmac.h"
#include "core/text.h"
#include "core/timestamp.h"

namespace cmr_bridge {
namespace {

// Bounds on what a verifier reads, whatever the listener admitted: a signature list longer
// than this is refused before it is split, and an id longer than this is never a dedup key.
constexpr std::size_t kMaxSignatureListLength = 4096;
constexpr std::size_t kMaxIdLength = 256;

// The header names of one profile, as sent (HeaderView matches them case-insensitively).
struct StandardWebhooksNames {
  std::string_view id, timestamp, signature;
};
constexpr StandardWebhooksNames kWebhookNames{"webhook-id", "webhook-timestamp",
                                              "webhook-signature"};
constexpr StandardWebhooksNames kSvixNames{"svix-id", "svix-timestamp", "svix-signature"};
constexpr std::string_view kGithubSignature = "X-Hub-Signature-256";
constexpr std::string_view kGithubDelivery = "X-GitHub-Delivery";
constexpr std::string_view kGithubEvent = "X-GitHub-Event";
constexpr std::string_view kStripeSignature = "Stripe-Signature";
constexpr std::string_view kWhsecPrefix = "whsec_";

ProfileCheck failure(OutcomeCode code, std::string_view message) {
  ProfileCheck check;
  check.code = code;
  check.message = message;
  return check;
}

// The next `separator`-delimited field of `list`, removed from it (empty fields included).
std::string_view next_field(std::string_view& list, char separator) {
  const std::size_t end = list.find(separator);
  const std::string_view field = list.substr(0, end);
  list.remove_prefix(end == std::string_view::npos ? list.size() : end + 1);
  return field;
}

std::optional<Mac> decode_mac(std::optional<std::vector<uint8_t>> bytes) {
  if (!bytes || bytes->size() != Mac{}.size())
    return std::nullopt;
  Mac mac{};
  std::copy(bytes->begin(), bytes->end(), mac.begin());
  return mac;
}

std::string_view non_empty_or(std::optional<std::string_view> value) {
  return value ? *value : std::string_view{};
}

// A signed send time in whole Unix seconds, checked against an inclusive window of ±tolerance
// around `now` (truncated to seconds). Standard Webhooks and Stripe both send seconds, so a
// 13-digit value is a time far in the future, never milliseconds.
struct SentCheck {
  OutcomeCode code = OutcomeCode::kNone;
  std::chrono::system_clock::time_point sent;
};
SentCheck check_sent(std::string_view header, std::chrono::system_clock::time_point now,
                     std::chrono::seconds tolerance) {
  const auto parsed = parse_timestamp(header);
  if (!parsed)
    return {OutcomeCode::kMalformedTimestamp, {}};
  const int64_t now_seconds =
      std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  // Both are non-negative int64 values: neither difference can overflow.
  if (now_seconds - parsed->value > tolerance.count())
    return {OutcomeCode::kTimestampExpired, {}};
  if (parsed->value - now_seconds > tolerance.count())
    return {OutcomeCode::kTimestampInFuture, {}};
  return {OutcomeCode::kNone,
          std::chrono::system_clock::time_point(std::chrono::seconds(parsed->value))};
}

std::string key_position(std::size_t index, std::size_t count) {
  return "key " + std::to_string(index + 1) + " of " + std::to_string(count);
}

// The HMAC key a configured key stands for. Standard Webhooks keys are "whsec_" + base64 of
// the key bytes; GitHub and Stripe use the configured secret's bytes as they are (a Stripe
// "whsec_..." secret included).
Result<std::string> hmac_key_bytes(VerificationProfile profile, std::string_view key) {
  if (key.empty())
    return Error("is empty");
  if (profile != VerificationProfile::kStandardWebhooks)
    return std::string(key);
  if (key.substr(0, kWhsecPrefix.size()) != kWhsecPrefix)
    return Error("does not start with whsec_ (a Standard Webhooks key is whsec_ + base64)");
  const auto bytes = base64_decode(key.substr(kWhsecPrefix.size()));
  if (!bytes)
    return Error("is not whsec_ followed by valid base64");
  if (bytes->empty())
    return Error("is whsec_ with nothing after it");
  return std::string(bytes->begin(), bytes->end());
}

// The prepared keys of one verifier, in configuration order.
class KeyRing {
 public:
  static Result<KeyRing> create(VerificationProfile profile, const std::vector<std::string>& keys) {
    if (keys.empty())
      return Error(std::string("no key configured for a ") + std::string(to_string(profile)) +
                   " source");
    KeyRing ring;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto bytes = hmac_key_bytes(profile, keys[i]);
      if (!bytes)
        return Error(key_position(i, keys.size()) + " " + bytes.error().message());
      auto keyed = HmacKey::create(bytes.value());
      if (!keyed)
        return Error(key_position(i, keys.size()) + " " + keyed.error().message());
      ring.keys_.push_back(std::move(keyed).value());
    }
    return ring;
  }

  // Whether any key's MAC over `parts` equals any of `presented`. A forgery costs one MAC per
  // key and one constant-time compare per (key, entry) pair; a match stops early.
  bool any_matches(std::initializer_list<std::string_view> parts,
                   const std::vector<Mac>& presented) const {
    for (const auto& key : keys_) {
      const auto expected = key.compute(parts);
      if (!expected)
        continue;
      for (const auto& mac : presented) {
        if (macs_equal(*expected, mac))
          return true;
      }
    }
    return false;
  }

 private:
  std::vector<HmacKey> keys_;
};

// What every profile verifier holds: its keys and, where the profile signs a send time, the
// accepted distance from now in either direction.
class KeyedVerifier : public ProfileVerifier {
 public:
  KeyedVerifier(KeyRing keys, std::chrono::seconds tolerance)
      : keys_(std::move(keys)), tolerance_(tolerance) {}

 protected:
  KeyRing keys_;
  std::chrono::seconds tolerance_;
};

class StandardWebhooksVerifier final : public KeyedVerifier {
 public:
  using KeyedVerifier::KeyedVerifier;
  VerificationProfile profile() const override { return VerificationProfile::kStandardWebhooks; }

  ProfileCheck verify(const HeaderView& headers, std::string_view body,
                      std::chrono::system_clock::time_point now) const override {
    // The svix- names are read only when no webhook- name is present: one request, one set.
    const bool webhook_names = headers.count(kWebhookNames.id) > 0 ||
                               headers.count(kWebhookNames.timestamp) > 0 ||
                               headers.count(kWebhookNames.signature) > 0;
    const StandardWebhooksNames& names = webhook_names ? kWebhookNames : kSvixNames;
    if (headers.count(names.id) > 1 || headers.count(names.timestamp) > 1 ||
        headers.count(names.signature) > 1) {
      return failure(OutcomeCode::kDuplicateAuthHeader,
                     "webhook-id, webhook-timestamp and webhook-signature must each appear once");
    }
    const std::string_view signature = trim_spaces(non_empty_or(headers.value(names.signature)));
    if (signature.empty())
      return failure(OutcomeCode::kMissingSignature, "webhook-signature header is required");
    const std::string_view id = non_empty_or(headers.value(names.id));
    if (id.empty()) {
      return failure(OutcomeCode::kMissingSignature,
                     "webhook-id header is required (it is part of the signed content)");
    }
    if (id.size() > kMaxIdLength)
      return failure(OutcomeCode::kMalformedSignature, "webhook-id is longer than 256 bytes");
    const std::string_view timestamp = non_empty_or(headers.value(names.timestamp));
    if (timestamp.empty())
      return failure(OutcomeCode::kMissingTimestamp, "webhook-timestamp header is required");
    const SentCheck sent = check_sent(timestamp, now, tolerance_);
    if (sent.code == OutcomeCode::kMalformedTimestamp) {
      return failure(sent.code, "webhook-timestamp must be a Unix time in seconds");
    }
    if (sent.code != OutcomeCode::kNone) {
      return failure(sent.code, "webhook-timestamp is outside the accepted window");
    }
    if (signature.size() > kMaxSignatureListLength) {
      return failure(OutcomeCode::kMalformedSignature,
                     "webhook-signature is longer than 4096 bytes");
    }
    // A space-separated list of "<version>,<base64>": other versions and entries that do not
    // decode are skipped; at least one v1 entry must decode to a SHA-256 MAC.
    std::vector<Mac> presented;
    for (std::string_view list = signature; !list.empty();) {
      std::string_view entry = next_field(list, ' ');
      const std::string_view version = next_field(entry, ',');
      if (version != "v1")
        continue;
      if (const auto mac = decode_mac(base64_decode(entry)))
        presented.push_back(*mac);
    }
    if (presented.empty()) {
      return failure(OutcomeCode::kMalformedSignature,
                     "webhook-signature has no v1,<base64 of 32 bytes> entry");
    }
    if (!keys_.any_matches({id, ".", timestamp, ".", body}, presented)) {
      return failure(OutcomeCode::kSignatureMismatch,
                     "webhook-signature does not match the body under any configured key");
    }
    ProfileCheck check;
    check.identity.delivery_id = id;
    check.identity.sent = sent.sent;
    check.identity.timestamp_header = timestamp;
    return check;
  }
};

// No timestamp: the tolerance is not used.
class GithubVerifier final : public KeyedVerifier {
 public:
  using KeyedVerifier::KeyedVerifier;
  VerificationProfile profile() const override { return VerificationProfile::kGithub; }

  ProfileCheck verify(const HeaderView& headers, std::string_view body,
                      std::chrono::system_clock::time_point) const override {
    if (headers.count(kGithubSignature) > 1 || headers.count(kGithubDelivery) > 1 ||
        headers.count(kGithubEvent) > 1) {
      return failure(
          OutcomeCode::kDuplicateAuthHeader,
          "X-Hub-Signature-256, X-GitHub-Delivery and X-GitHub-Event must each appear once");
    }
    const std::string_view signature = trim_spaces(non_empty_or(headers.value(kGithubSignature)));
    if (signature.empty())
      return failure(OutcomeCode::kMissingSignature, "X-Hub-Signature-256 header is required");
    constexpr std::string_view kPrefix = "sha256=";
    std::optional<Mac> presented;
    if (signature.size() == kPrefix.size() + 64 && signature.substr(0, kPrefix.size()) == kPrefix)
      presented = decode_mac(hex_decode(signature.substr(kPrefix.size())));
    if (!presented) {
      return failure(OutcomeCode::kMalformedSignature,
                     "X-Hub-Signature-256 must be sha256=<64 hex digits>");
    }
    // Neither header is signed by GitHub; they are bounded because they become identities.
    const std::string_view delivery = non_empty_or(headers.value(kGithubDelivery));
    const std::string_view event = non_empty_or(headers.value(kGithubEvent));
    if (delivery.size() > kMaxIdLength || event.size() > kMaxIdLength) {
      return failure(OutcomeCode::kMalformedSignature,
                     "X-GitHub-Delivery and X-GitHub-Event must be at most 256 bytes");
    }
    if (!keys_.any_matches({body}, {*presented})) {
      return failure(OutcomeCode::kSignatureMismatch,
                     "X-Hub-Signature-256 does not match the body under any configured key");
    }
    ProfileCheck check;
    if (!delivery.empty())
      check.identity.delivery_id = delivery;
    if (!event.empty())
      check.identity.event_type = event;
    return check;
  }
};

// Stripe-Signature: "t=<unix seconds>,v1=<hex>[,v1=<hex>...]" in any order; other schemes
// (v0, ...) and entries without '=' are skipped, and so is a v1 value that is not 64 hex digits.
struct StripeHeader {
  std::optional<std::string_view> timestamp;
  bool repeated_timestamp = false;
  std::vector<Mac> signatures;
};
StripeHeader parse_stripe_header(std::string_view header) {
  StripeHeader parsed;
  for (std::string_view list = header; !list.empty();) {
    std::string_view entry = trim_spaces(next_field(list, ','));
    const std::size_t equals = entry.find('=');
    if (equals == std::string_view::npos)
      continue;
    const std::string_view name = entry.substr(0, equals);
    const std::string_view value = entry.substr(equals + 1);
    if (name == "t") {
      parsed.repeated_timestamp = parsed.repeated_timestamp || parsed.timestamp.has_value();
      parsed.timestamp = value;
    } else if (name == "v1") {
      if (const auto mac = decode_mac(hex_decode(value)))
        parsed.signatures.push_back(*mac);
    }
  }
  return parsed;
}

class StripeVerifier final : public KeyedVerifier {
 public:
  using KeyedVerifier::KeyedVerifier;
  VerificationProfile profile() const override { return VerificationProfile::kStripe; }

  ProfileCheck verify(const HeaderView& headers, std::string_view body,
                      std::chrono::system_clock::time_point now) const override {
    if (headers.count(kStripeSignature) > 1)
      return failure(OutcomeCode::kDuplicateAuthHeader, "Stripe-Signature must appear once");
    const std::string_view header = trim_spaces(non_empty_or(headers.value(kStripeSignature)));
    if (header.empty())
      return failure(OutcomeCode::kMissingSignature, "Stripe-Signature header is required");
    if (header.size() > kMaxSignatureListLength) {
      return failure(OutcomeCode::kMalformedSignature,
                     "Stripe-Signature is longer than 4096 bytes");
    }
    const StripeHeader parsed = parse_stripe_header(header);
    if (!parsed.timestamp || parsed.timestamp->empty()) {
      return failure(OutcomeCode::kMissingTimestamp,
                     "Stripe-Signature has no t=<Unix time in seconds>");
    }
    if (parsed.repeated_timestamp) {
      return failure(OutcomeCode::kMalformedTimestamp,
                     "Stripe-Signature carries t= more than once");
    }
    const SentCheck sent = check_sent(*parsed.timestamp, now, tolerance_);
    if (sent.code == OutcomeCode::kMalformedTimestamp)
      return failure(sent.code, "Stripe-Signature t= must be a Unix time in seconds");
    if (sent.code != OutcomeCode::kNone)
      return failure(sent.code, "Stripe-Signature t= is outside the accepted window");
    if (parsed.signatures.empty()) {
      return failure(OutcomeCode::kMalformedSignature,
                     "Stripe-Signature has no v1=<64 hex digits> entry");
    }
    if (!keys_.any_matches({*parsed.timestamp, ".", body}, parsed.signatures)) {
      return failure(OutcomeCode::kSignatureMismatch,
                     "Stripe-Signature does not match the body under any configured key");
    }
    ProfileCheck check;
    check.identity.sent = sent.sent;
    check.identity.timestamp_header = *parsed.timestamp;
    return check;
  }
};

constexpr VerificationProfile kProfiles[] = {
    VerificationProfile::kCmr, VerificationProfile::kStandardWebhooks, VerificationProfile::kGithub,
    VerificationProfile::kStripe};

}  // namespace

std::string_view to_string(VerificationProfile profile) {
  switch (profile) {
    case VerificationProfile::kCmr:
      return "cmr";
    case VerificationProfile::kStandardWebhooks:
      return "standard-webhooks";
    case VerificationProfile::kGithub:
      return "github";
    case VerificationProfile::kStripe:
      return "stripe";
  }
  return "cmr";
}

std::optional<VerificationProfile> parse_verification_profile(std::string_view name) {
  for (const auto profile : kProfiles) {
    if (to_string(profile) == name)
      return profile;
  }
  return std::nullopt;
}

Result<std::unique_ptr<ProfileVerifier>> make_profile_verifier(VerificationProfile profile,
                                                               const std::vector<std::string>& keys,
                                                               std::chrono::seconds tolerance) {
  if (profile == VerificationProfile::kCmr)
    return Error("the cmr profile is verified by SignatureVerifier, not a ProfileVerifier");
  if (tolerance.count() < 0)
    return Error("timestamp tolerance must not be negative");
  auto ring = KeyRing::create(profile, keys);
  if (!ring)
    return ring.error();
  switch (profile) {
    case VerificationProfile::kStandardWebhooks:
      return std::unique_ptr<ProfileVerifier>(
          new StandardWebhooksVerifier(std::move(ring).value(), tolerance));
    case VerificationProfile::kGithub:
      return std::unique_ptr<ProfileVerifier>(
          new GithubVerifier(std::move(ring).value(), tolerance));
    case VerificationProfile::kStripe:
      return std::unique_ptr<ProfileVerifier>(
          new StripeVerifier(std::move(ring).value(), tolerance));
    case VerificationProfile::kCmr:
      break;
  }
  return Error("unknown verification profile");
}

Result<HeaderList> sign_for_profile(VerificationProfile profile, std::string_view key,
                                    std::string_view delivery_id, std::string_view timestamp,
                                    std::string_view body) {
  if (profile == VerificationProfile::kCmr)
    return Error("the cmr profile is signed with compute_signature, not sign_for_profile");
  auto bytes = hmac_key_bytes(profile, key);
  if (!bytes)
    return Error("the signing key " + bytes.error().message());
  auto keyed = HmacKey::create(bytes.value());
  if (!keyed)
    return Error("the signing key " + keyed.error().message());
  const bool timestamped = profile != VerificationProfile::kGithub;
  if (timestamped && !parse_timestamp(timestamp))
    return Error("the timestamp must be a Unix time in seconds");
  if (profile == VerificationProfile::kStandardWebhooks && delivery_id.empty())
    return Error("a standard-webhooks request needs a message id (webhook-id)");

  const auto mac = profile == VerificationProfile::kStandardWebhooks
                       ? keyed->compute({delivery_id, ".", timestamp, ".", body})
                   : profile == VerificationProfile::kStripe
                       ? keyed->compute({timestamp, ".", body})
                       : keyed->compute({body});
  if (!mac)
    return Error("OpenSSL failed to compute HMAC-SHA256");
  HeaderList headers;
  switch (profile) {
    case VerificationProfile::kStandardWebhooks:
      headers.emplace_back(kWebhookNames.id, delivery_id);
      headers.emplace_back(kWebhookNames.timestamp, timestamp);
      headers.emplace_back(kWebhookNames.signature,
                           "v1," + base64_encode(mac->data(), mac->size()));
      break;
    case VerificationProfile::kGithub:
      headers.emplace_back(kGithubSignature, "sha256=" + hex_encode(mac->data(), mac->size()));
      if (!delivery_id.empty())
        headers.emplace_back(kGithubDelivery, delivery_id);
      break;
    case VerificationProfile::kStripe:
      headers.emplace_back(kStripeSignature, "t=" + std::string(timestamp) +
                                                 ",v1=" + hex_encode(mac->data(), mac->size()));
      break;
    case VerificationProfile::kCmr:
      break;
  }
  return headers;
}

HeaderListView::HeaderListView(const HeaderList& headers) : headers_(headers) {}

std::size_t HeaderListView::count(std::string_view name) const {
  std::size_t found = 0;
  for (const auto& [header, value] : headers_) {
    if (equals_ignore_case(header, name))
      ++found;
  }
  return found;
}

std::optional<std::string_view> HeaderListView::value(std::string_view name) const {
  for (const auto& [header, value] : headers_) {
    if (equals_ignore_case(header, name))
      return std::string_view(value);
  }
  return std::nullopt;
}

}  // namespace cmr_bridge
