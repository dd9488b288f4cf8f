// Verification profiles of webhook sources (issue 16): how one provider signs its requests, and
// which identity (delivery id, event type, send time) its headers carry. Pure core: no I/O. The
// HTTP edge adapts its header map to HeaderView; `sign`/`send` and the tests use the signers.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cmr_bridge/codes.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

// Read-only view of one request's headers. Names are matched case-insensitively. Implementations
// are owned by the caller and live as long as the request.
class HeaderView {
 public:
  virtual ~HeaderView() = default;
  // How many times the header occurs (a repeated auth header is refused, never merged).
  virtual std::size_t count(std::string_view name) const = 0;
  // The first value; nullopt when absent.
  virtual std::optional<std::string_view> value(std::string_view name) const = 0;
};

enum class VerificationProfile {
  kCmr,               // cmr-x-signature / cmr-x-timestamp, the SignatureScheme set (incl. auto)
  kStandardWebhooks,  // webhook-id/-timestamp/-signature (or svix-*), "v1,<base64>" list
  kGithub,            // X-Hub-Signature-256: sha256=<hex> over the body; no timestamp
  kStripe,            // Stripe-Signature: t=<unix>,v1=<hex>[,v1=...] over "<t>.<body>"
};
// Stable names used in configuration, logs and metric labels: "cmr", "standard-webhooks",
// "github", "stripe".
std::string_view to_string(VerificationProfile profile);
std::optional<VerificationProfile> parse_verification_profile(std::string_view name);

// What a profile learnt from a verified request's headers. Views point into the HeaderView's
// storage and are valid as long as it is.
struct ProfileIdentity {
  std::optional<std::string_view> delivery_id;  // webhook-id, X-GitHub-Delivery; nullopt: none
  std::optional<std::string_view> event_type;   // X-GitHub-Event; nullopt: from the body
  std::optional<std::chrono::system_clock::time_point> sent;  // nullopt: profile has no clock
  std::string_view timestamp_header;  // the raw signed timestamp, empty when there is none
};

struct ProfileCheck {
  // kNone when verified; otherwise one of the 401 codes of codes.h (missing/malformed
  // signature, signature mismatch, missing/malformed/expired/future timestamp, duplicate auth
  // header). A failed check carries no identity.
  OutcomeCode code = OutcomeCode::kNone;
  ProfileIdentity identity;
  // For a failed check: what is wrong, naming the header, for the JSON body and the log (a
  // string literal; never contains a key or a MAC). Empty when verified.
  std::string_view message;
  bool ok() const { return code == OutcomeCode::kNone; }
};

// Verifies the requests of one non-CMR source. Immutable after construction: verify() is safe
// to call from many threads at once. Every key is tried (rotation); MACs are compared in
// constant time over the raw body bytes.
class ProfileVerifier {
 public:
  virtual ~ProfileVerifier() = default;
  virtual VerificationProfile profile() const = 0;
  virtual ProfileCheck verify(const HeaderView& headers, std::string_view body,
                              std::chrono::system_clock::time_point now) const = 0;
};

// `keys` as configured (standard-webhooks: "whsec_" + base64; github, stripe: the raw secret).
// `tolerance` bounds |now - sent| both ways where the profile has a timestamp. Fails naming the
// key by position (never its value) when a key is empty or malformed. kCmr is not built here: it
// keeps its SignatureVerifier.
Result<std::unique_ptr<ProfileVerifier>> make_profile_verifier(VerificationProfile profile,
                                                               const std::vector<std::string>& keys,
                                                               std::chrono::seconds tolerance);

// The headers a sender of `profile` would attach to `body` (for `sign --profile`, `send
// --profile` and the tests). `delivery_id` and `timestamp` are used where the profile carries
// them. Fails when the key is malformed for the profile.
using HeaderList = std::vector<std::pair<std::string, std::string>>;
Result<HeaderList> sign_for_profile(VerificationProfile profile, std::string_view key,
                                    std::string_view delivery_id, std::string_view timestamp,
                                    std::string_view body);

// A HeaderView over a HeaderList (the signers' output, `send`, the tests and the fuzz target).
// Borrows `headers`, which must outlive it.
class HeaderListView final : public HeaderView {
 public:
  explicit HeaderListView(const HeaderList& headers);
  std::size_t count(std::string_view name) const override;
  std::optional<std::string_view> value(std::string_view name) const override;

 private:
  const HeaderList& headers_;
};

}  // namespace cmr_bridge
