#include "core/source_profile.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/provider_vectors.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using std::chrono::seconds;
using std::chrono::system_clock;

namespace {

// Another valid Standard Webhooks key (base64 of "another-sw-key-bytes").
const std::string kSwOtherKey = "whsec_YW5vdGhlci1zdy1rZXktYnl0ZXM=";

// Stripe: no published vector; this one is cross-checked with Python's hmac:
//   python3 -c "import hmac,hashlib; print(hmac.new(b'whsec_test_stripe_secret',
//     b'1700000000.{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}', hashlib.sha256).hexdigest())"
// A Stripe secret is used as raw bytes, its whsec_ prefix included.
const std::string kStripeKey = "whsec_test_stripe_secret";
const std::string kStripeTimestamp = "1700000000";
const std::string kStripeBody = R"({"id":"evt_1","type":"invoice.paid"})";
const std::string kStripeV1 = "d1e8101f9589d53d409250e39dd28261a577d5636974d15a7ff70ee310647f5a";

system_clock::time_point at(int64_t unix_seconds) {
  return system_clock::time_point(seconds(unix_seconds));
}

std::unique_ptr<ProfileVerifier> verifier(VerificationProfile profile,
                                          const std::vector<std::string>& keys,
                                          seconds tolerance = seconds(300)) {
  auto made = make_profile_verifier(profile, keys, tolerance);
  REQUIRE_MESSAGE(made, (made ? "" : made.error().message()));
  return std::move(made).value();
}

ProfileCheck check(const ProfileVerifier& v, const HeaderList& headers, std::string_view body,
                   system_clock::time_point now) {
  const HeaderListView view(headers);
  return v.verify(view, body, now);
}

HeaderList sw_headers(const std::string& signature,
                      const std::string& timestamp = kStandardWebhooksTimestamp) {
  return {{"webhook-id", kStandardWebhooksId},
          {"webhook-timestamp", timestamp},
          {"webhook-signature", signature}};
}
HeaderList stripe_headers(const std::string& value) {
  return {{"Stripe-Signature", value}};
}

}  // namespace

TEST_SUITE("source profiles") {
  TEST_CASE("profile names round-trip and unknown names are refused") {
    for (const auto p : {VerificationProfile::kCmr, VerificationProfile::kStandardWebhooks,
                         VerificationProfile::kGithub, VerificationProfile::kStripe}) {
      CHECK(parse_verification_profile(to_string(p)) == p);
    }
    CHECK(to_string(VerificationProfile::kStandardWebhooks) == "standard-webhooks");
    CHECK_FALSE(parse_verification_profile("svix"));
    CHECK_FALSE(parse_verification_profile("GitHub"));
    CHECK_FALSE(parse_verification_profile(""));
  }

  TEST_CASE("header names are matched case-insensitively and counted") {
    const HeaderList list = {{"Webhook-ID", "a"}, {"webhook-id", "b"}, {"Other", "c"}};
    const HeaderListView view(list);
    CHECK(view.count("WEBHOOK-id") == 2);
    CHECK(view.value("webhook-id") == "a");
    CHECK(view.count("absent") == 0);
    CHECK_FALSE(view.value("absent"));
  }

  TEST_CASE("standard-webhooks: the reference vector verifies and names its identity") {
    const auto v = verifier(VerificationProfile::kStandardWebhooks, {kStandardWebhooksSecret});
    // The identity's views point into the headers: they must outlive it.
    const HeaderList headers = sw_headers(kStandardWebhooksSignature);
    const auto result = check(*v, headers, kStandardWebhooksBody, at(1649367553));
    REQUIRE(result.ok());
    CHECK(result.message.empty());
    CHECK(result.identity.delivery_id == kStandardWebhooksId);
    CHECK_FALSE(result.identity.event_type);
    CHECK(result.identity.sent == at(1649367553));
    CHECK(result.identity.timestamp_header == kStandardWebhooksTimestamp);
  }

  TEST_CASE("standard-webhooks: sign_for_profile reproduces the reference vector") {
    const auto headers =
        sign_for_profile(VerificationProfile::kStandardWebhooks, kStandardWebhooksSecret,
                         kStandardWebhooksId, kStandardWebhooksTimestamp, kStandardWebhooksBody);
    REQUIRE(headers);
    CHECK(headers.value() == sw_headers(kStandardWebhooksSignature));
  }

  TEST_CASE("standard-webhooks: the svix- names are accepted") {
    const auto v = verifier(VerificationProfile::kStandardWebhooks, {kStandardWebhooksSecret});
    const HeaderList svix = {{"svix-id", kStandardWebhooksId},
                             {"svix-timestamp", kStandardWebhooksTimestamp},
                             {"svix-signature", kStandardWebhooksSignature}};
    const auto result = check(*v, svix, kStandardWebhooksBody, at(1649367553));
    CHECK(result.ok());
    CHECK(result.identity.delivery_id == kStandardWebhooksId);
  }

  TEST_CASE("standard-webhooks: wrong key, changed body, id or timestamp do not verify") {
    const auto other = verifier(VerificationProfile::kStandardWebhooks, {kSwOtherKey});
    CHECK(
        check(*other, sw_headers(kStandardWebhooksSignature), kStandardWebhooksBody, at(1649367553))
            .code == OutcomeCode::kSignatureMismatch);
    const auto v = verifier(VerificationProfile::kStandardWebhooks, {kStandardWebhooksSecret});
    CHECK(check(*v, sw_headers(kStandardWebhooksSignature), kStandardWebhooksBody + " ",
                at(1649367553))
              .code == OutcomeCode::kSignatureMismatch);
    HeaderList other_id = sw_headers(kStandardWebhooksSignature);
    other_id[0].second = "msg_other";
    CHECK(check(*v, other_id, kStandardWebhooksBody, at(1649367553)).code ==
          OutcomeCode::kSignatureMismatch);
    CHECK(check(*v, sw_headers(kStandardWebhooksSignature, "1649367554"), kStandardWebhooksBody,
                at(1649367553))
              .code == OutcomeCode::kSignatureMismatch);
  }

  TEST_CASE("standard-webhooks: a second key is accepted (rotation), in either order") {
    const auto old_first =
        verifier(VerificationProfile::kStandardWebhooks, {kSwOtherKey, kStandardWebhooksSecret});
    CHECK(check(*old_first, sw_headers(kStandardWebhooksSignature), kStandardWebhooksBody,
                at(1649367553))
              .ok());
    const auto new_first =
        verifier(VerificationProfile::kStandardWebhooks, {kStandardWebhooksSecret, kSwOtherKey});
    CHECK(check(*new_first, sw_headers(kStandardWebhooksSignature), kStandardWebhooksBody,
                at(1649367553))
              .ok());
  }

  TEST_CASE("standard-webhooks: the timestamp window holds both ways, inclusive") {
    const auto v =
        verifier(VerificationProfile::kStandardWebhooks, {kStandardWebhooksSecret}, seconds(300));
    const auto headers = sw_headers(kStandardWebhooksSignature);
    CHECK(check(*v, headers, kStandardWebhooksBody, at(1649367553 + 300)).ok());
    CHECK(check(*v, headers, kStandardWebhooksBody, at(1649367553 - 300)).ok());
    const auto stale = check(*v, headers, kStandardWebhooksBody, at(1649367553 + 301));
    CHECK(stale.code == OutcomeCode::kTimestampExpired);
    CHECK(stale.message == "webhook-timestamp is outside the accepted window");
    CHECK_FALSE(stale.identity.delivery_id);
    CHECK(check(*v, headers, kStandardWebhooksBody, at(1649367553 - 301)).code ==
          OutcomeCode::kTimestampInFuture);
    // Sub-second parts of now do not widen the window.
    CHECK(check(*v, headers, kStandardWebhooksBody,
                at(1649367553 + 300) + std::chrono::milliseconds(999))
              .ok());
  }

  TEST_CASE("standard-webhooks: missing and malformed headers get their own codes") {
    const auto v = verifier(VerificationProfile::kStandardWebhooks, {kStandardWebhooksSecret});
    const auto now = at(1649367553);
    CHECK(check(*v,
                {{"webhook-id", kStandardWebhooksId},
                 {"webhook-timestamp", kStandardWebhooksTimestamp}},
                kStandardWebhooksBody, now)
              .code == OutcomeCode::kMissingSignature);
    CHECK(check(*v, {}, kStandardWebhooksBody, now).code == OutcomeCode::kMissingSignature);
    const auto no_id = check(*v,
                             {{"webhook-timestamp", kStandardWebhooksTimestamp},
                              {"webhook-signature", kStandardWebhooksSignature}},
                             kStandardWebhooksBody, now);
    CHECK(no_id.code == OutcomeCode::kMissingSignature);
    CHECK(no_id.message == "webhook-id header is required (it is part of the signed content)");
    CHECK(check(*v,
                {{"webhook-id", kStandardWebhooksId},
                 {"webhook-signature", kStandardWebhooksSignature}},
                kStandardWebhooksBody, now)
              .code == OutcomeCode::kMissingTimestamp);
    CHECK(
        check(*v, sw_headers(kStandardWebhooksSignature, "16493675x3"), kStandardWebhooksBody, now)
            .code == OutcomeCode::kMalformedTimestamp);
    CHECK(
        check(*v, sw_headers(kStandardWebhooksSignature, "-1649367553"), kStandardWebhooksBody, now)
            .code == OutcomeCode::kMalformedTimestamp);
    // Milliseconds are not seconds: a 13-digit value is far in the future.
    CHECK(check(*v, sw_headers(kStandardWebhooksSignature, "1649367553000"), kStandardWebhooksBody,
                now)
              .code == OutcomeCode::kTimestampInFuture);
    HeaderList long_id = sw_headers(kStandardWebhooksSignature);
    long_id[0].second = std::string(257, 'm');
    CHECK(check(*v, long_id, kStandardWebhooksBody, now).code == OutcomeCode::kMalformedSignature);
  }

  TEST_CASE("standard-webhooks: a repeated auth header is refused, never merged") {
    const auto v = verifier(VerificationProfile::kStandardWebhooks, {kStandardWebhooksSecret});
    for (const char* repeated : {"webhook-id", "webhook-timestamp", "webhook-signature"}) {
      CAPTURE(repeated);
      HeaderList headers = sw_headers(kStandardWebhooksSignature);
      for (const auto& [name, value] : sw_headers(kStandardWebhooksSignature)) {
        if (name == repeated)
          headers.emplace_back(name, value);
      }
      CHECK(check(*v, headers, kStandardWebhooksBody, at(1649367553)).code ==
            OutcomeCode::kDuplicateAuthHeader);
    }
    const HeaderList svix_twice = {{"svix-id", kStandardWebhooksId},
                                   {"svix-timestamp", kStandardWebhooksTimestamp},
                                   {"svix-signature", kStandardWebhooksSignature},
                                   {"SVIX-SIGNATURE", kStandardWebhooksSignature}};
    CHECK(check(*v, svix_twice, kStandardWebhooksBody, at(1649367553)).code ==
          OutcomeCode::kDuplicateAuthHeader);
  }

  TEST_CASE("standard-webhooks: the webhook- names win over svix- names in one request") {
    const auto v = verifier(VerificationProfile::kStandardWebhooks, {kStandardWebhooksSecret});
    const HeaderList mixed = {{"webhook-id", kStandardWebhooksId},
                              {"svix-timestamp", kStandardWebhooksTimestamp},
                              {"svix-signature", kStandardWebhooksSignature}};
    CHECK(check(*v, mixed, kStandardWebhooksBody, at(1649367553)).code ==
          OutcomeCode::kMissingSignature);
  }

  TEST_CASE("standard-webhooks: signature lists skip other versions and broken entries") {
    const auto v = verifier(VerificationProfile::kStandardWebhooks, {kStandardWebhooksSecret});
    const auto now = at(1649367553);
    const std::string wrong_v1 = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    struct Case {
      std::string header;
      OutcomeCode expected;
    };
    const Case cases[] = {
        {wrong_v1 + " " + kStandardWebhooksSignature, OutcomeCode::kNone},
        {"  " + kStandardWebhooksSignature + "   " + wrong_v1 + " ",
         OutcomeCode::kNone},                                                  // empty entries
        {"v2,abc v1a,xyz " + kStandardWebhooksSignature, OutcomeCode::kNone},  // unknown versions
        {"v1, v1,!!!! v1 " + kStandardWebhooksSignature, OutcomeCode::kNone},  // broken v1 entries
        {"v1,tZ1I4_hDygAJgO5TYxiSd6Sd0kDW6hPenDe-bTa3Kkw", OutcomeCode::kNone},  // URL-safe
        {wrong_v1, OutcomeCode::kSignatureMismatch},
        {"v1a,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=", OutcomeCode::kMalformedSignature},
        {"v2," + kStandardWebhooksSignature.substr(3), OutcomeCode::kMalformedSignature},
        {"v1,", OutcomeCode::kMalformedSignature},
        {"v1,not*base64", OutcomeCode::kMalformedSignature},
        {"v1,dG9vIHNob3J0", OutcomeCode::kMalformedSignature},  // base64 of 9 bytes
        {"tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=", OutcomeCode::kMalformedSignature},
        {",,, ,", OutcomeCode::kMalformedSignature},
    };
    for (const auto& c : cases) {
      CAPTURE(c.header);
      CHECK(check(*v, sw_headers(c.header), kStandardWebhooksBody, now).code == c.expected);
    }
  }

  TEST_CASE("standard-webhooks: an overlong signature list is refused before it is split") {
    const auto v = verifier(VerificationProfile::kStandardWebhooks, {kStandardWebhooksSecret});
    std::string list = kStandardWebhooksSignature;
    while (list.size() <= 4096)
      list += " v2,padding";
    const auto result = check(*v, sw_headers(list), kStandardWebhooksBody, at(1649367553));
    CHECK(result.code == OutcomeCode::kMalformedSignature);
    CHECK(result.message == "webhook-signature is longer than 4096 bytes");
  }

  TEST_CASE("standard-webhooks: keys that are not whsec_ + base64 are refused by position") {
    struct Case {
      std::vector<std::string> keys;
      std::string message;
    };
    const Case cases[] = {
        {{kStandardWebhooksSecret, "whsec_not*base64"},
         "key 2 of 2 is not whsec_ followed by valid base64"},
        {{"C2FVsBQIhrscChlQIMV+b5sSYspob7oD"},
         "key 1 of 1 does not start with whsec_ (a Standard Webhooks key is whsec_ + base64)"},
        {{kStandardWebhooksSecret, kStandardWebhooksSecret, "whsec_"},
         "key 3 of 3 is whsec_ with nothing after it"},
        {{""}, "key 1 of 1 is empty"},
        {{}, "no key configured for a standard-webhooks source"},
    };
    for (const auto& c : cases) {
      const auto made =
          make_profile_verifier(VerificationProfile::kStandardWebhooks, c.keys, seconds(300));
      REQUIRE_FALSE(made);
      CHECK(made.error().message() == c.message);
      // The message never repeats a key's value.
      for (const auto& key : c.keys) {
        if (key.size() > 6)
          CHECK(made.error().message().find(key) == std::string::npos);
      }
    }
    CHECK_FALSE(sign_for_profile(VerificationProfile::kStandardWebhooks, "whsec_!!",
                                 kStandardWebhooksId, kStandardWebhooksTimestamp,
                                 kStandardWebhooksBody));
  }

  TEST_CASE("github: the documented vector verifies and the delivery headers name the event") {
    const auto v = verifier(VerificationProfile::kGithub, {kGithubExampleSecret});
    const HeaderList headers = {{"X-Hub-Signature-256", kGithubExampleSignature},
                                {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                                {"X-GitHub-Event", "push"}};
    const auto result = check(*v, headers, kGithubExampleBody, at(0));
    REQUIRE(result.ok());
    CHECK(result.identity.delivery_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    CHECK(result.identity.event_type == "push");
    CHECK_FALSE(result.identity.sent);
    CHECK(result.identity.timestamp_header.empty());
    // Without the delivery headers the identity is left to the body.
    const auto bare =
        check(*v, {{"x-hub-signature-256", kGithubExampleSignature}}, kGithubExampleBody, at(0));
    REQUIRE(bare.ok());
    CHECK_FALSE(bare.identity.delivery_id);
    CHECK_FALSE(bare.identity.event_type);
  }

  TEST_CASE("github: sign_for_profile reproduces the documented vector") {
    const auto headers = sign_for_profile(VerificationProfile::kGithub, kGithubExampleSecret,
                                          "delivery-1", "", kGithubExampleBody);
    REQUIRE(headers);
    CHECK(headers.value() == HeaderList{{"X-Hub-Signature-256", kGithubExampleSignature},
                                        {"X-GitHub-Delivery", "delivery-1"}});
  }

  TEST_CASE("github: wrong key, rotation, malformed and repeated headers") {
    const auto now = at(1700000000);
    const HeaderList signed_headers = {{"X-Hub-Signature-256", kGithubExampleSignature}};
    CHECK(check(*verifier(VerificationProfile::kGithub, {"another secret"}), signed_headers,
                kGithubExampleBody, now)
              .code == OutcomeCode::kSignatureMismatch);
    CHECK(check(*verifier(VerificationProfile::kGithub, {"another secret", kGithubExampleSecret}),
                signed_headers, kGithubExampleBody, now)
              .ok());
    const auto v = verifier(VerificationProfile::kGithub, {kGithubExampleSecret});
    CHECK(check(*v, signed_headers, "Hello, World?", now).code == OutcomeCode::kSignatureMismatch);
    CHECK(check(*v, {}, kGithubExampleBody, now).code == OutcomeCode::kMissingSignature);
    CHECK(check(*v, {{"X-Hub-Signature-256", ""}}, kGithubExampleBody, now).code ==
          OutcomeCode::kMissingSignature);
    for (const std::string& bad :
         {kGithubExampleSignature.substr(7), "sha1=" + kGithubExampleSignature.substr(7),
          kGithubExampleSignature + "0", kGithubExampleSignature.substr(0, 70),
          "sha256=" + std::string(64, 'g'),
          std::string("sha256=dXZBB+oOslCfwhIhzOmEuKN1cLbXWGwsbfQ3nLgEPhc=")}) {
      CAPTURE(bad);
      CHECK(check(*v, {{"X-Hub-Signature-256", bad}}, kGithubExampleBody, now).code ==
            OutcomeCode::kMalformedSignature);
    }
    for (const char* repeated : {"X-Hub-Signature-256", "X-GitHub-Delivery", "X-GitHub-Event"}) {
      CAPTURE(repeated);
      HeaderList headers = {{"X-Hub-Signature-256", kGithubExampleSignature},
                            {"X-GitHub-Delivery", "d"},
                            {"X-GitHub-Event", "push"}};
      headers.emplace_back(
          repeated, repeated == std::string("X-Hub-Signature-256") ? kGithubExampleSignature : "x");
      CHECK(check(*v, headers, kGithubExampleBody, now).code == OutcomeCode::kDuplicateAuthHeader);
    }
    const auto long_delivery = check(*v,
                                     {{"X-Hub-Signature-256", kGithubExampleSignature},
                                      {"X-GitHub-Delivery", std::string(257, 'd')}},
                                     kGithubExampleBody, now);
    CHECK(long_delivery.code == OutcomeCode::kMalformedSignature);
    // Upper-case hex is the same MAC.
    std::string upper = kGithubExampleSignature;
    for (std::size_t i = 7; i < upper.size(); ++i)
      upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
    CHECK(check(*v, {{"X-Hub-Signature-256", upper}}, kGithubExampleBody, now).ok());
  }

  TEST_CASE("github: an empty secret is refused by position") {
    const auto made = make_profile_verifier(VerificationProfile::kGithub,
                                            {kGithubExampleSecret, ""}, seconds(300));
    REQUIRE_FALSE(made);
    CHECK(made.error().message() == "key 2 of 2 is empty");
  }

  TEST_CASE("stripe: the Python-checked vector verifies and names the signed time") {
    const auto v = verifier(VerificationProfile::kStripe, {kStripeKey});
    const HeaderList headers = stripe_headers("t=" + kStripeTimestamp + ",v1=" + kStripeV1);
    const auto result = check(*v, headers, kStripeBody, at(1700000000));
    REQUIRE(result.ok());
    CHECK_FALSE(result.identity.delivery_id);
    CHECK_FALSE(result.identity.event_type);
    CHECK(result.identity.sent == at(1700000000));
    CHECK(result.identity.timestamp_header == kStripeTimestamp);
  }

  TEST_CASE("stripe: sign_for_profile reproduces the vector") {
    const auto headers = sign_for_profile(VerificationProfile::kStripe, kStripeKey, "",
                                          kStripeTimestamp, kStripeBody);
    REQUIRE(headers);
    CHECK(headers.value() == stripe_headers("t=" + kStripeTimestamp + ",v1=" + kStripeV1));
    CHECK_FALSE(
        sign_for_profile(VerificationProfile::kStripe, kStripeKey, "", "soon", kStripeBody));
  }

  TEST_CASE("stripe: wrong key, rotation and the timestamp window both ways") {
    const std::string header = "t=" + kStripeTimestamp + ",v1=" + kStripeV1;
    const auto now = at(1700000000);
    CHECK(check(*verifier(VerificationProfile::kStripe, {"whsec_other"}), stripe_headers(header),
                kStripeBody, now)
              .code == OutcomeCode::kSignatureMismatch);
    CHECK(check(*verifier(VerificationProfile::kStripe, {"whsec_other", kStripeKey}),
                stripe_headers(header), kStripeBody, now)
              .ok());
    const auto v = verifier(VerificationProfile::kStripe, {kStripeKey}, seconds(300));
    CHECK(check(*v, stripe_headers(header), kStripeBody, at(1700000300)).ok());
    CHECK(check(*v, stripe_headers(header), kStripeBody, at(1699999700)).ok());
    CHECK(check(*v, stripe_headers(header), kStripeBody, at(1700000301)).code ==
          OutcomeCode::kTimestampExpired);
    CHECK(check(*v, stripe_headers(header), kStripeBody, at(1699999699)).code ==
          OutcomeCode::kTimestampInFuture);
    // The timestamp is signed: another t does not verify.
    CHECK(check(*v, stripe_headers("t=1700000001,v1=" + kStripeV1), kStripeBody, now).code ==
          OutcomeCode::kSignatureMismatch);
  }

  TEST_CASE("stripe: header lists skip other schemes and broken entries") {
    const auto v = verifier(VerificationProfile::kStripe, {kStripeKey});
    const auto now = at(1700000000);
    const std::string t = "t=" + kStripeTimestamp;
    const std::string wrong = "v1=" + std::string(64, '0');
    struct Case {
      std::string header;
      OutcomeCode expected;
    };
    const Case cases[] = {
        {t + "," + wrong + ",v1=" + kStripeV1, OutcomeCode::kNone},
        {"v1=" + kStripeV1 + "," + t, OutcomeCode::kNone},  // any order
        {t + ",,v0=abc, v1=" + kStripeV1 + " ,junk", OutcomeCode::kNone},
        {t + ",v1=,v1=zz,v1=" + kStripeV1, OutcomeCode::kNone},
        {t + "," + wrong, OutcomeCode::kSignatureMismatch},
        {t, OutcomeCode::kMalformedSignature},
        {t + ",v0=" + kStripeV1, OutcomeCode::kMalformedSignature},
        {t + ",v1=" + kStripeV1.substr(1), OutcomeCode::kMalformedSignature},
        {"v1=" + kStripeV1, OutcomeCode::kMissingTimestamp},
        {"t=,v1=" + kStripeV1, OutcomeCode::kMissingTimestamp},
        {"t=17e8,v1=" + kStripeV1, OutcomeCode::kMalformedTimestamp},
        {t + "," + t + ",v1=" + kStripeV1, OutcomeCode::kMalformedTimestamp},
        {",,,", OutcomeCode::kMissingTimestamp},
    };
    for (const auto& c : cases) {
      CAPTURE(c.header);
      CHECK(check(*v, stripe_headers(c.header), kStripeBody, now).code == c.expected);
    }
    CHECK(check(*v, {}, kStripeBody, now).code == OutcomeCode::kMissingSignature);
    std::string overlong = t + ",v1=" + kStripeV1;
    while (overlong.size() <= 4096)
      overlong += ",v0=" + kStripeV1;
    CHECK(check(*v, stripe_headers(overlong), kStripeBody, now).code ==
          OutcomeCode::kMalformedSignature);
    const HeaderList twice = {{"Stripe-Signature", t + ",v1=" + kStripeV1},
                              {"stripe-signature", t + ",v1=" + kStripeV1}};
    CHECK(check(*v, twice, kStripeBody, now).code == OutcomeCode::kDuplicateAuthHeader);
  }

  TEST_CASE("every profile: what sign_for_profile signs verifies, and a flipped bit does not") {
    const std::string body = R"({"id":"evt_9","type":"invoice.created","amount":1})";
    struct Case {
      VerificationProfile profile;
      std::string key;
    };
    for (const auto& c : {Case{VerificationProfile::kStandardWebhooks, kStandardWebhooksSecret},
                          Case{VerificationProfile::kGithub, kGithubExampleSecret},
                          Case{VerificationProfile::kStripe, kStripeKey}}) {
      CAPTURE(to_string(c.profile));
      const auto headers = sign_for_profile(c.profile, c.key, "msg_1", "1700000000", body);
      REQUIRE(headers);
      const auto v = verifier(c.profile, {c.key});
      CHECK(check(*v, headers.value(), body, at(1700000000)).ok());
      std::string flipped = body;
      flipped[5] ^= 1;
      CHECK(check(*v, headers.value(), flipped, at(1700000000)).code ==
            OutcomeCode::kSignatureMismatch);
    }
  }

  TEST_CASE("the cmr profile and a negative tolerance are not built here") {
    CHECK_FALSE(make_profile_verifier(VerificationProfile::kCmr, {"k"}, seconds(300)));
    CHECK_FALSE(sign_for_profile(VerificationProfile::kCmr, "k", "", "1700000000", "{}"));
    CHECK_FALSE(make_profile_verifier(VerificationProfile::kStripe, {"k"}, seconds(-1)));
  }
}
