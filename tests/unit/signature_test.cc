#include "core/signature.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>

#include "support/samples.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;

namespace {
SignatureCheck verify_with(const std::vector<std::string>& keys, SignatureScheme scheme,
                           std::optional<std::string_view> signature,
                           const std::string& body = kDomainOrderSuccess) {
  const auto verifier = SignatureVerifier::create(keys, scheme);
  REQUIRE(verifier);
  return verifier.value()->verify(signature, kTestTimestamp, body);
}
std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}
}  // namespace

TEST_SUITE("signature") {
  TEST_CASE("compute_signature reproduces the openssl known-answer vectors for every scheme") {
    CHECK(compute_signature(kTestKey, SignatureScheme::kBodyHex, kTestTimestamp,
                            kDomainOrderSuccess) == kBodyHex);
    CHECK(compute_signature(kTestKey, SignatureScheme::kBodyBase64, kTestTimestamp,
                            kDomainOrderSuccess) == kBodyBase64);
    CHECK(compute_signature(kTestKey, SignatureScheme::kTimestampBodyHex, kTestTimestamp,
                            kDomainOrderSuccess) == kTimestampBodyHex);
    CHECK(compute_signature(kTestKey, SignatureScheme::kTimestampBodyBase64, kTestTimestamp,
                            kDomainOrderSuccess) == kTimestampBodyBase64);
  }

  TEST_CASE("auto accepts every scheme and reports which one matched") {
    const std::vector<std::string> keys = {kTestKey};
    struct Case {
      std::string header;
      SignatureScheme expected;
    };
    const Case cases[] = {
        {kBodyHex, SignatureScheme::kBodyHex},
        {upper(kBodyHex), SignatureScheme::kBodyHex},
        {"sha256=" + kBodyHex, SignatureScheme::kBodyHex},
        {"SHA256=" + kBodyHex, SignatureScheme::kBodyHex},
        {kBodyBase64, SignatureScheme::kBodyBase64},
        {kBodyBase64.substr(0, 43), SignatureScheme::kBodyBase64},  // unpadded
        {"sha256=" + kBodyBase64, SignatureScheme::kBodyBase64},
        {kTimestampBodyHex, SignatureScheme::kTimestampBodyHex},
        {kTimestampBodyBase64, SignatureScheme::kTimestampBodyBase64},
        {"  " + kBodyHex + " ", SignatureScheme::kBodyHex},
    };
    for (const auto& c : cases) {
      CAPTURE(c.header);
      const auto check = verify_with(keys, SignatureScheme::kAuto, c.header);
      CHECK(check.ok());
      CHECK(check.matched == c.expected);
    }
  }

  TEST_CASE("a pinned scheme accepts only its own construction and encoding") {
    const std::vector<std::string> keys = {kTestKey};
    CHECK(verify_with(keys, SignatureScheme::kBodyHex, kBodyHex).ok());
    CHECK(verify_with(keys, SignatureScheme::kBodyHex, kTimestampBodyHex).error ==
          SignatureError::kMismatch);
    CHECK(verify_with(keys, SignatureScheme::kBodyHex, kBodyBase64).error ==
          SignatureError::kMalformed);
    CHECK(verify_with(keys, SignatureScheme::kTimestampBodyBase64, kTimestampBodyBase64).ok());
    CHECK(verify_with(keys, SignatureScheme::kTimestampBodyBase64, kBodyBase64).error ==
          SignatureError::kMismatch);
  }

  TEST_CASE("key rotation: a signature under any configured key verifies") {
    CHECK(verify_with({"other-key", kTestKey}, SignatureScheme::kAuto, kBodyHex).ok());
    CHECK(verify_with({kTestKey, "other-key"}, SignatureScheme::kAuto, kBodyHexOtherKey).ok());
    CHECK(verify_with({kTestKey}, SignatureScheme::kAuto, kBodyHexOtherKey).error ==
          SignatureError::kMismatch);
  }

  TEST_CASE("a tampered body or timestamp does not verify") {
    std::string tampered = kDomainOrderSuccess;
    tampered[tampered.find("15.88")] = '9';
    CHECK(verify_with({kTestKey}, SignatureScheme::kAuto, kBodyHex, tampered).error ==
          SignatureError::kMismatch);
    const auto verifier = SignatureVerifier::create({kTestKey}, SignatureScheme::kAuto);
    REQUIRE(verifier);
    CHECK(verifier.value()->verify(kTimestampBodyHex, "1709942400", kDomainOrderSuccess).error ==
          SignatureError::kMismatch);
  }

  TEST_CASE("auto: a timestamp-body signature does not verify the body T.body as body-only") {
    // Captured: an old request (timestamp T, body B) signed over "T.B". Replayed: body "T.B"
    // with a fresh timestamp, the same signature.
    const std::string captured_timestamp = "1709900000";
    const std::string replayed_body = captured_timestamp + "." + kDomainOrderSuccess;
    const auto verifier = SignatureVerifier::create({kTestKey}, SignatureScheme::kAuto);
    REQUIRE(verifier);
    for (auto scheme :
         {SignatureScheme::kTimestampBodyHex, SignatureScheme::kTimestampBodyBase64}) {
      const std::string captured =
          compute_signature(kTestKey, scheme, captured_timestamp, kDomainOrderSuccess);
      CAPTURE(captured);
      CHECK(verifier.value()->verify(captured, captured_timestamp, kDomainOrderSuccess).ok());
      CHECK(verifier.value()->verify(captured, kTestTimestamp, replayed_body).error ==
            SignatureError::kMismatch);
      CHECK(verifier.value()->verify(captured, " 1709942399\t", replayed_body).error ==
            SignatureError::kMismatch);
    }
  }

  TEST_CASE("auto: a body-only signature does not verify a split of its body as timestamp.body") {
    // The reverse split: body B = X + "." + R, sent as timestamp X with body R.
    const std::string body_only = kBodyHex;  // over kDomainOrderSuccess, which holds a '.'
    const std::size_t dot = kDomainOrderSuccess.find('.');
    REQUIRE(dot != std::string::npos);
    const std::string prefix = kDomainOrderSuccess.substr(0, dot);
    const std::string rest = kDomainOrderSuccess.substr(dot + 1);
    const auto verifier = SignatureVerifier::create({kTestKey}, SignatureScheme::kAuto);
    REQUIRE(verifier);
    CHECK(verifier.value()->verify(body_only, prefix, rest).error == SignatureError::kMismatch);
    // Timestamp-scheme matches need a timestamp of the accepted form (digits).
    const std::string odd_timestamp = "{";
    const std::string odd = compute_signature(kTestKey, SignatureScheme::kTimestampBodyHex,
                                              odd_timestamp, kDomainOrderSuccess);
    CHECK(verifier.value()->verify(odd, odd_timestamp, kDomainOrderSuccess).error ==
          SignatureError::kMismatch);
  }

  TEST_CASE("auto: bodies that cannot be a timestamp prefix still verify body-only") {
    const std::vector<std::string> bodies = {"{\"a\":1.5}", "12a.x", ".5", "", "1 2.x"};
    const auto verifier = SignatureVerifier::create({kTestKey}, SignatureScheme::kAuto);
    REQUIRE(verifier);
    for (const auto& body : bodies) {
      CAPTURE(body);
      const std::string sig = compute_signature(kTestKey, SignatureScheme::kBodyHex, "", body);
      CHECK(verifier.value()->verify(sig, kTestTimestamp, body).matched ==
            SignatureScheme::kBodyHex);
    }
  }

  TEST_CASE("a pinned body scheme keeps verifying any body, timestamp form or not") {
    const std::string body = "1709900000." + kDomainOrderSuccess;
    const std::string sig = compute_signature(kTestKey, SignatureScheme::kBodyHex, "", body);
    CHECK(verify_with({kTestKey}, SignatureScheme::kBodyHex, sig, body).ok());
  }

  TEST_CASE("garbled signature headers are malformed, an absent one is missing") {
    const std::vector<std::string> keys = {kTestKey};
    CHECK(verify_with(keys, SignatureScheme::kAuto, std::nullopt).error ==
          SignatureError::kMissing);
    CHECK(verify_with(keys, SignatureScheme::kAuto, "").error == SignatureError::kMissing);
    CHECK(verify_with(keys, SignatureScheme::kAuto, "   ").error == SignatureError::kMissing);
    const std::string garbled[] = {
        "sha256=",
        kBodyHex.substr(0, 63),
        kBodyHex + "00",
        std::string(64, 'g'),
        std::string("!").append(kBodyBase64, 1),
        kBodyBase64.substr(0, 40),
        std::string(300, 'a'),
        std::string("sha1=").append(kBodyHex),
        std::string("v1,").append(kBodyBase64),
    };
    for (const auto& header : garbled) {
      CAPTURE(header);
      CHECK(verify_with(keys, SignatureScheme::kAuto, header).error == SignatureError::kMalformed);
    }
  }

  TEST_CASE("the verifier refuses to be built without usable keys") {
    const auto none = SignatureVerifier::create({}, SignatureScheme::kAuto);
    REQUIRE_FALSE(none);
    CHECK(none.error().message() == "no signing key configured");
    const auto empty = SignatureVerifier::create({"k", ""}, SignatureScheme::kAuto);
    REQUIRE_FALSE(empty);
    CHECK(empty.error().message() == "signing key 2 of 2 is empty");
    CHECK_FALSE(SignatureVerifier::create({""}, SignatureScheme::kAuto));
  }

  TEST_CASE("scheme names round-trip") {
    for (auto scheme :
         {SignatureScheme::kAuto, SignatureScheme::kBodyHex, SignatureScheme::kBodyBase64,
          SignatureScheme::kTimestampBodyHex, SignatureScheme::kTimestampBodyBase64}) {
      CHECK(parse_signature_scheme(to_string(scheme)) == scheme);
    }
    CHECK_FALSE(parse_signature_scheme("hex"));
  }
}
