// Fuzzes the source profiles' header parsing and verification (src/core/source_profile.cc).
//
// Input: one control byte, then header lines "<name>:<value>" separated by '\n', then an empty
// line, then the body.
//   control bits 0-1 : profile (standard-webhooks, github, stripe, standard-webhooks)
//   control bit 2    : which of the two keys signs the round trip
//   control bits 3-4 : "now" (fixed instants)
//
// Invariants:
//   - a failed check carries a 401 code, a message and no identity;
//   - an accepted request carries, in some header value, the MAC that a configured key
//     produces over the signed content its identity names (the oracle recomputes it with
//     sign_for_profile and compares independently of the verifier's parser);
//   - a timestamped profile only accepts a send time within the tolerance of now;
//   - sign_for_profile's headers always verify, and a flipped body bit, another key or a
//     repeated signature header never does;
//   - the W3C trace context read from the same headers is bounded, carries a tracestate only
//     with a traceparent, and what it carries matches an independent check of the grammar's
//     fixed parts.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cmr_bridge/codes.h"
#include "core/source_profile.h"
#include "core/text.h"
#include "core/trace_context.h"
#include "fuzz_common.h"

using namespace cmr_bridge;

namespace {

constexpr std::chrono::seconds kTolerance(300);
constexpr VerificationProfile kProfiles[4] = {
    VerificationProfile::kStandardWebhooks, VerificationProfile::kGithub,
    VerificationProfile::kStripe, VerificationProfile::kStandardWebhooks};

// Keys each profile is configured with (the round trip signs with one of them).
std::vector<std::string> keys_of(VerificationProfile profile) {
  if (profile == VerificationProfile::kStandardWebhooks)
    return {"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_ZnV6ei1rZXktMi1yb3RhdGVk"};
  return {"fuzz-key-1", "fuzz-key-2-rotated"};
}
std::string other_key(VerificationProfile profile) {
  return profile == VerificationProfile::kStandardWebhooks ? "whsec_bm90LWNvbmZpZ3VyZWQ="
                                                           : "not-a-configured-key";
}

struct Verifiers {
  std::unique_ptr<ProfileVerifier> configured[3];
  std::unique_ptr<ProfileVerifier> other[3];
};
std::size_t index_of(VerificationProfile profile) {
  return profile == VerificationProfile::kStandardWebhooks ? 0
         : profile == VerificationProfile::kGithub         ? 1
                                                           : 2;
}

const Verifiers& verifiers() {
  static const Verifiers* v = [] {
    auto* out = new Verifiers();
    for (int i = 0; i < 3; ++i) {
      const auto profile = kProfiles[i];
      auto made = make_profile_verifier(profile, keys_of(profile), kTolerance);
      auto other = make_profile_verifier(profile, {other_key(profile)}, kTolerance);
      FUZZ_CHECK(made && other, "verifiers must be created");
      out->configured[i] = std::move(made).value();
      out->other[i] = std::move(other).value();
    }
    return out;
  }();
  return *v;
}

// The MAC text of a signer's header: base64 (standard-webhooks) or hex (github, stripe).
std::string mac_text(VerificationProfile profile, const HeaderList& signed_headers) {
  for (const auto& [name, value] : signed_headers) {
    if (profile == VerificationProfile::kStandardWebhooks && name == "webhook-signature")
      return value.substr(3);  // "v1,"
    if (profile == VerificationProfile::kGithub && name == "X-Hub-Signature-256")
      return value.substr(7);  // "sha256="
    if (profile == VerificationProfile::kStripe && name == "Stripe-Signature")
      return value.substr(value.find(",v1=") + 4);
  }
  return {};
}

// One spelling per MAC: hex lower case; base64 standard alphabet without padding.
std::string normalized(VerificationProfile profile, std::string text) {
  if (profile == VerificationProfile::kStandardWebhooks) {
    std::replace(text.begin(), text.end(), '-', '+');
    std::replace(text.begin(), text.end(), '_', '/');
    text.erase(std::remove(text.begin(), text.end(), '='), text.end());
  } else {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  return text;
}

HeaderList parse_headers(std::string_view block) {
  HeaderList headers;
  while (!block.empty()) {
    const std::size_t end = block.find('\n');
    const std::string_view line = block.substr(0, end);
    block.remove_prefix(end == std::string_view::npos ? block.size() : end + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return headers;
}

bool is_401_code(OutcomeCode code) {
  return info(code).http_status == 401;
}

void check_arbitrary(VerificationProfile profile, const HeaderList& headers, std::string_view body,
                     std::chrono::system_clock::time_point now) {
  const HeaderListView view(headers);
  const ProfileCheck check = verifiers().configured[index_of(profile)]->verify(view, body, now);
  if (!check.ok()) {
    FUZZ_CHECK(is_401_code(check.code), "a failed check must carry a 401 code");
    FUZZ_CHECK(!check.message.empty(), "a failed check must say why");
    FUZZ_CHECK(!check.identity.delivery_id && !check.identity.event_type && !check.identity.sent,
               "a failed check must carry no identity");
    return;
  }
  FUZZ_CHECK(check.message.empty(), "a verified check carries no message");
  if (profile != VerificationProfile::kGithub) {
    FUZZ_CHECK(check.identity.sent.has_value(), "a timestamped profile names the send time");
    const auto distance =
        *check.identity.sent > now ? *check.identity.sent - now : now - *check.identity.sent;
    FUZZ_CHECK(distance < kTolerance + std::chrono::seconds(1), "accepted outside the window");
  }
  // Forgery oracle: some header value carries the MAC a configured key makes.
  const std::string id(check.identity.delivery_id.value_or(""));
  const std::string timestamp(check.identity.timestamp_header);
  bool found = false;
  for (const auto& key : keys_of(profile)) {
    const auto signed_headers = sign_for_profile(profile, key, id, timestamp, body);
    FUZZ_CHECK(signed_headers.ok(), "the oracle's signer must not fail on accepted input");
    const std::string expected = normalized(profile, mac_text(profile, signed_headers.value()));
    for (const auto& [name, value] : headers) {
      found = found || normalized(profile, value).find(expected) != std::string::npos;
    }
  }
  FUZZ_CHECK(found, "accepted a signature no configured key produces (forgery)");
}

void check_round_trip(VerificationProfile profile, uint8_t control, std::string_view body,
                      std::chrono::system_clock::time_point now) {
  const std::string timestamp =
      std::to_string(std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count());
  const std::string key = keys_of(profile)[(control >> 2) & 1];
  const auto signed_headers = sign_for_profile(profile, key, "msg_fuzz", timestamp, body);
  FUZZ_CHECK(signed_headers.ok(), "sign_for_profile must not fail");
  const HeaderListView view(signed_headers.value());
  const auto index = index_of(profile);
  const ProfileCheck check = verifiers().configured[index]->verify(view, body, now);
  FUZZ_CHECK(check.ok(), "what sign_for_profile signs must verify");
  FUZZ_CHECK(!verifiers().other[index]->verify(view, body, now).ok(),
             "another key must not verify");
  if (!body.empty()) {
    std::string flipped(body);
    flipped[flipped.size() / 2] ^= 1;
    FUZZ_CHECK(verifiers().configured[index]->verify(view, flipped, now).code ==
                   OutcomeCode::kSignatureMismatch,
               "a flipped body bit must not verify");
  }
  HeaderList repeated = signed_headers.value();
  repeated.push_back(repeated.front());
  const HeaderListView repeated_view(repeated);
  FUZZ_CHECK(verifiers().configured[index]->verify(repeated_view, body, now).code ==
                 OutcomeCode::kDuplicateAuthHeader,
             "a repeated auth header must be refused");
}

void check_trace(const HeaderList& headers) {
  const HeaderListView view(headers);
  std::string joined;
  for (const auto& [name, value] : headers) {
    if (equals_ignore_case(name, "tracestate"))
      joined += (joined.empty() ? "" : ",") + value;
  }
  const std::size_t parents = view.count("traceparent");
  const TraceContext trace = parse_trace_context(
      parents, view.value("traceparent"),
      view.count("tracestate") ? std::optional<std::string_view>(joined) : std::nullopt);
  FUZZ_CHECK(trace.tracestate.empty() || !trace.traceparent.empty(),
             "a tracestate is only carried with a traceparent");
  if (trace.traceparent.empty())
    return;
  FUZZ_CHECK(parents == 1, "a repeated traceparent is never carried");
  const std::string_view parent = trace.traceparent;
  FUZZ_CHECK(parent.size() >= 55 && parent.size() <= kMaxTraceparentLength, "traceparent bounds");
  FUZZ_CHECK(parent[2] == '-' && parent[35] == '-' && parent[52] == '-', "traceparent dashes");
  FUZZ_CHECK(parent.substr(0, 2) != "ff", "version ff is invalid");
  FUZZ_CHECK(parent.substr(0, 2) != "00" || parent.size() == 55, "version 00 is 55 characters");
  FUZZ_CHECK(parent.substr(3, 32).find_first_not_of('0') != std::string_view::npos,
             "an all-zero trace id is invalid");
  FUZZ_CHECK(trace.tracestate.size() <= kMaxTracestateLength, "tracestate bounds");
  for (const char c : trace.tracestate)
    FUZZ_CHECK(c >= 0x20 && c <= 0x7e, "tracestate is printable ASCII");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  const uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = input.find("\n\n");
  const std::string_view block = input.substr(0, split);
  const std::string_view body =
      split == std::string_view::npos ? std::string_view{} : input.substr(split + 2);
  static const std::chrono::system_clock::time_point kNows[4] = {
      std::chrono::system_clock::time_point(std::chrono::seconds(1'649'367'553)),
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'999)),
      std::chrono::system_clock::time_point(std::chrono::seconds(0)),
      std::chrono::system_clock::time_point(std::chrono::seconds(4'102'444'800))};  // 2100
  const auto profile = kProfiles[control & 3];
  const auto now = kNows[(control >> 3) & 3];

  const HeaderList headers = parse_headers(block);
  check_arbitrary(profile, headers, body, now);
  check_trace(headers);
  check_round_trip(profile, control, body, now);
  return 0;
}
