// Fuzzes SignatureVerifier::verify and check_timestamp_window.
//
// Input: one control byte, then "<cmr-x-signature>\n<cmr-x-timestamp>\n<body>".
//   control bit 0     : signature header absent (nullopt) for the arbitrary-header check
//   control bits 1-2  : which concrete scheme to sign with for the round-trip invariants
//   control bit 3     : which of the two keys signs
//   control bits 4-5  : timestamp tolerance (1 s, 300 s, 86400 s, 300 s)
//   control bits 6-7  : "now" (fixed instants, one of them in milliseconds precision)
//
// Invariants:
//   - an arbitrary header is only ever accepted when it decodes to the MAC that the matched
//     scheme and one configured key produce (the oracle recomputes it with compute_signature);
//   - a pinned verifier that accepts implies the auto verifier accepts with the same scheme;
//   - compute_signature(key, scheme, ts, body) always verifies (auto and pinned, and in every
//     accepted spelling: "sha256=" prefix, upper-case hex, URL-safe / unpadded base64,
//     surrounding whitespace), with the expected matched scheme;
//   - a flipped body bit, a changed timestamp (timestamp schemes), a changed signature
//     character or another key never verifies;
//   - check_timestamp_window agrees with an independent 128-bit reimplementation.
#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>
#include <string>

#include "core/encoding.h"
#include "core/signature.h"
#include "core/timestamp.h"
#include "fuzz_common.h"

using namespace cmr_bridge;
using cmr_bridge::fuzz::auto_admits;
using cmr_bridge::fuzz::split3;

namespace {

const std::vector<std::string> kKeys = {"fuzz-key-1", "fuzz-key-2-rotated"};
constexpr SignatureScheme kConcrete[4] = {SignatureScheme::kBodyHex, SignatureScheme::kBodyBase64,
                                          SignatureScheme::kTimestampBodyHex,
                                          SignatureScheme::kTimestampBodyBase64};

struct Verifiers {
  std::unique_ptr<SignatureVerifier> automatic;
  std::unique_ptr<SignatureVerifier> pinned[4];
  std::unique_ptr<SignatureVerifier> other_key;
};

const Verifiers& verifiers() {
  static const Verifiers* v = [] {
    auto* out = new Verifiers();
    out->automatic = SignatureVerifier::create(kKeys, SignatureScheme::kAuto).value();
    for (int i = 0; i < 4; ++i)
      out->pinned[i] = SignatureVerifier::create(kKeys, kConcrete[i]).value();
    out->other_key =
        SignatureVerifier::create({"not-a-configured-key"}, SignatureScheme::kAuto).value();
    FUZZ_CHECK(out->automatic && out->other_key, "verifiers must be created");
    for (const auto& p : out->pinned)
      FUZZ_CHECK(p != nullptr, "pinned verifiers must be created");
    return out;
  }();
  return *v;
}

bool uses_timestamp(SignatureScheme s) {
  return s == SignatureScheme::kTimestampBodyHex || s == SignatureScheme::kTimestampBodyBase64;
}
bool is_hex(SignatureScheme s) {
  return s == SignatureScheme::kBodyHex || s == SignatureScheme::kTimestampBodyHex;
}
SignatureScheme body_variant(SignatureScheme s) {
  return is_hex(s) ? SignatureScheme::kBodyHex : SignatureScheme::kBodyBase64;
}

// Independent decoding of a header into MAC bytes (the documented accepted spellings).
std::optional<std::vector<uint8_t>> decode_header(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.size() >= 7) {
    std::string prefix(text.substr(0, 7));
    std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (prefix == "sha256=")
      text.remove_prefix(7);
  }
  std::optional<std::vector<uint8_t>> bytes;
  if (text.size() == 64)
    bytes = hex_decode(text);
  if (!bytes && (text.size() == 43 || text.size() == 44))
    bytes = base64_decode(text);
  return bytes;
}

// The verdict check_timestamp_window must give, computed with 128-bit arithmetic.
TimestampError expected_window(std::optional<std::string_view> header,
                               std::chrono::system_clock::time_point now,
                               std::chrono::seconds tolerance) {
  if (!header || header->empty())
    return TimestampError::kMissing;
  std::string_view text = *header;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  if (text.empty() || text.size() > 19)
    return TimestampError::kMalformed;
  __int128 value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return TimestampError::kMalformed;
    value = value * 10 + (c - '0');
  }
  if (value > INT64_MAX)
    return TimestampError::kMalformed;
  const bool millis = value >= 1'000'000'000'000;
  const auto ns = static_cast<__int128>(now.time_since_epoch().count()) *
                  std::chrono::system_clock::period::num * 1'000'000'000 /
                  std::chrono::system_clock::period::den;
  const __int128 now_units = millis ? ns / 1'000'000 : ns / 1'000'000'000;
  const __int128 tol = millis ? static_cast<__int128>(tolerance.count()) * 1000 : tolerance.count();
  if (now_units - value > tol)
    return TimestampError::kExpired;
  if (value - now_units > tol)
    return TimestampError::kInFuture;
  return TimestampError::kNone;
}

void check_arbitrary_header(const Verifiers& v, std::optional<std::string_view> header,
                            std::string_view timestamp, std::string_view body) {
  const SignatureCheck check = v.automatic->verify(header, timestamp, body);
  if (!header) {
    FUZZ_CHECK(check.error == SignatureError::kMissing, "absent header must be missing_signature");
  }
  if (check.ok()) {
    // Accepted: the header must carry exactly the MAC of the matched scheme under some key.
    FUZZ_CHECK(check.matched != SignatureScheme::kAuto, "matched scheme must be concrete");
    const auto presented = decode_header(*header);
    FUZZ_CHECK(presented.has_value(), "accepted header must decode as hex or base64");
    bool found = false;
    for (const auto& key : kKeys) {
      const auto expected = decode_header(compute_signature(key, check.matched, timestamp, body));
      found = found || (expected && *expected == *presented);
    }
    FUZZ_CHECK(found, "accepted a signature no configured key produces (forgery)");
    FUZZ_CHECK(!uses_timestamp(check.matched) || !timestamp.empty(),
               "timestamp scheme matched without a timestamp");
  }
  for (int i = 0; i < 4; ++i) {
    const SignatureCheck pinned = v.pinned[i]->verify(header, timestamp, body);
    if (pinned.ok()) {
      FUZZ_CHECK(pinned.matched == kConcrete[i], "pinned verifier matched another scheme");
      if (auto_admits(kConcrete[i], timestamp, body)) {
        FUZZ_CHECK(check.ok() && check.matched == kConcrete[i],
                   "pinned verifier accepts but auto does not");
      } else {
        FUZZ_CHECK(!check.ok(), "auto accepted a signed string its rule refuses");
      }
    }
  }
  const SignatureCheck other = v.other_key->verify(header, timestamp, body);
  FUZZ_CHECK(!other.ok() || !check.ok(), "one header verified under disjoint key sets");
}

void check_round_trip(const Verifiers& v, uint8_t control, std::string_view timestamp,
                      std::string_view body) {
  const int scheme_index = (control >> 1) & 3;
  const SignatureScheme scheme = kConcrete[scheme_index];
  const std::string& key = kKeys[(control >> 3) & 1];
  const std::string signature = compute_signature(key, scheme, timestamp, body);
  FUZZ_CHECK(!signature.empty(), "compute_signature must not fail");
  FUZZ_CHECK(signature.size() == (is_hex(scheme) ? 64u : 44u), "signature length");

  // Without a timestamp a timestamp scheme signs the body alone: the body scheme matches.
  const bool degenerate = uses_timestamp(scheme) && timestamp.empty();
  const SignatureScheme expected = degenerate ? body_variant(scheme) : scheme;

  std::vector<std::string> spellings = {signature, "sha256=" + signature, "SHA256=" + signature,
                                        " \t" + signature + " "};
  if (is_hex(scheme)) {
    std::string upper = signature;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    spellings.push_back(upper);
  } else {
    std::string url = signature;
    std::replace(url.begin(), url.end(), '+', '-');
    std::replace(url.begin(), url.end(), '/', '_');
    spellings.push_back(url);
    std::string unpadded = url;
    while (!unpadded.empty() && unpadded.back() == '=')
      unpadded.pop_back();
    spellings.push_back(unpadded);
  }
  const bool admitted = auto_admits(expected, timestamp, body);
  for (const auto& spelling : spellings) {
    const SignatureCheck check = v.automatic->verify(spelling, timestamp, body);
    if (admitted) {
      FUZZ_CHECK(check.ok(), "a correctly computed signature must verify (auto)");
      FUZZ_CHECK(check.matched == expected, "auto verifier reported the wrong scheme");
    } else {
      FUZZ_CHECK(check.error == SignatureError::kMismatch,
                 "auto must refuse a signed string of the other family's form");
    }
    const SignatureCheck pinned = v.pinned[scheme_index]->verify(spelling, timestamp, body);
    if (degenerate) {
      FUZZ_CHECK(pinned.error == SignatureError::kMismatch,
                 "pinned timestamp scheme without timestamp must mismatch");
    } else {
      FUZZ_CHECK(pinned.ok() && pinned.matched == scheme, "pinned verifier must accept");
    }
    // The pinned verifier of the other encoding refuses the spelling outright.
    const int other_encoding = scheme_index ^ 1;
    FUZZ_CHECK(v.pinned[other_encoding]->verify(spelling, timestamp, body).error ==
                   SignatureError::kMalformed,
               "other encoding must be malformed under a pinned scheme");
    FUZZ_CHECK(!v.other_key->verify(spelling, timestamp, body).ok(), "unknown key must not verify");
  }

  // A flipped body bit never verifies.
  if (!body.empty()) {
    std::string flipped(body);
    const std::size_t at = (static_cast<std::size_t>(control) * 7919u) % flipped.size();
    flipped[at] = static_cast<char>(flipped[at] ^ (1u << (control % 8)));
    FUZZ_CHECK(!v.automatic->verify(signature, timestamp, flipped).ok(),
               "flipped body byte verified");
  }
  // A changed timestamp never verifies a timestamp scheme.
  if (uses_timestamp(scheme) && !timestamp.empty()) {
    const std::string changed = std::string(timestamp) + "0";
    FUZZ_CHECK(!v.automatic->verify(signature, changed, body).ok(), "changed timestamp verified");
  }
  // A changed signature character (a different value, not a case/alphabet alias) never does.
  {
    std::string changed = signature;
    if (is_hex(scheme)) {
      const std::size_t at = control % 64;
      const int value = changed[at] <= '9' ? changed[at] - '0' : changed[at] - 'a' + 10;
      changed[at] = "0123456789abcdef"[(value + 1) % 16];
    } else {
      static constexpr std::string_view kAlphabet =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const std::size_t at = control % 42;  // chars 0..41 carry whole bits only
      const auto value = kAlphabet.find(changed[at]);
      changed[at] = kAlphabet[(value + 1) % 64];
    }
    FUZZ_CHECK(!v.automatic->verify(changed, timestamp, body).ok(), "changed signature verified");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  const Verifiers& v = verifiers();
  const uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto parts = split3(input);
  const std::optional<std::string_view> header =
      (control & 1) ? std::nullopt : std::optional<std::string_view>(parts.first);

  check_arbitrary_header(v, header, parts.second, parts.rest);

  // Timestamp window against the oracle.
  static constexpr std::chrono::seconds kTolerances[4] = {
      std::chrono::seconds(1), std::chrono::seconds(300), std::chrono::seconds(86400),
      std::chrono::seconds(300)};
  static const std::chrono::system_clock::time_point kNows[4] = {
      std::chrono::system_clock::time_point(std::chrono::seconds(1'709'942'399)),
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'709'942'399'999)),
      std::chrono::system_clock::time_point(std::chrono::seconds(0)),
      std::chrono::system_clock::time_point(std::chrono::seconds(4'102'444'800))};  // 2100
  const auto tolerance = kTolerances[(control >> 4) & 3];
  const auto now = kNows[(control >> 6) & 3];
  for (const std::optional<std::string_view> ts :
       {std::optional<std::string_view>(parts.second), std::optional<std::string_view>(),
        std::optional<std::string_view>(parts.first)}) {
    FUZZ_CHECK(check_timestamp_window(ts, now, tolerance) == expected_window(ts, now, tolerance),
               "check_timestamp_window disagrees with the oracle");
  }

  check_round_trip(v, control, parts.second, parts.rest);
  return 0;
}
