#include "core/credentials.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include "core/encoding.h"

using namespace cmr_bridge;

namespace {
const std::string kData =
    R"({"userId":"U","mailboxDetails":[{"domain":"d.com","preWarmedUpMailboxes":[)"
    R"({"mailboxId":"M1","password":"p\"w 1","appPassword":"app-1","authenticatorSecret":"JBSWY3DP","isAdmin":false},)"
    R"({"mailboxId":"M2","password":null,"appPassword":"app-2"}]}],"price":15.880,"note":"password"})";

CredentialPolicy policy(CredentialMode mode) {
  CredentialPolicy p;
  p.mode = mode;
  // base64 of 32 bytes 0x01..0x20
  std::string raw;
  for (int i = 1; i <= 32; ++i)
    raw.push_back(static_cast<char>(i));
  p.keys = parse_encryption_keys(
               "k2:" + base64_encode(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()))
               .value();
  return p;
}

std::string string_at(const std::string& json, const char* pointer) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  REQUIRE(doc.IsObject());
  const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(doc);
  if (v == nullptr)
    return "<absent>";
  return v->IsString() ? v->GetString() : v->IsNull() ? "null" : "<other>";
}
}  // namespace

TEST_SUITE("credentials") {
  TEST_CASE("passthrough changes nothing") {
    CHECK(*protect_credentials(kData, policy(CredentialMode::kPassthrough), "E") == kData);
  }

  TEST_CASE("redact replaces every credential value and nothing else, byte for byte") {
    const std::string out = *protect_credentials(kData, policy(CredentialMode::kRedact), "E");
    CHECK(string_at(out, "/mailboxDetails/0/preWarmedUpMailboxes/0/password") == "[REDACTED]");
    CHECK(string_at(out, "/mailboxDetails/0/preWarmedUpMailboxes/0/appPassword") == "[REDACTED]");
    CHECK(string_at(out, "/mailboxDetails/0/preWarmedUpMailboxes/0/authenticatorSecret") ==
          "[REDACTED]");
    CHECK(string_at(out, "/mailboxDetails/0/preWarmedUpMailboxes/1/password") == "null");
    CHECK(string_at(out, "/note") == "password");  // a value that merely looks like a name
    CHECK(out.find("\"price\":15.880") != std::string::npos);  // other bytes untouched
    CHECK(out.find("app-1") == std::string::npos);
    CHECK(out.find("JBSWY3DP") == std::string::npos);
  }

  TEST_CASE("configured JSON pointers are protected too") {
    CredentialPolicy p = policy(CredentialMode::kRedact);
    p.names.clear();
    p.pointers = {"/mailboxDetails/0/domain"};
    const std::string out = *protect_credentials(kData, p, "E");
    CHECK(string_at(out, "/mailboxDetails/0/domain") == "[REDACTED]");
    CHECK(string_at(out, "/mailboxDetails/0/preWarmedUpMailboxes/0/appPassword") == "app-1");
  }

  TEST_CASE("encrypted values decrypt to the original JSON text, only for their event and field") {
    const CredentialPolicy p = policy(CredentialMode::kEncrypt);
    const std::string out = *protect_credentials(kData, p, "EVENT-1");
    const char* pointer = "/mailboxDetails/0/preWarmedUpMailboxes/0/password";
    const std::string sealed = string_at(out, pointer);
    CHECK(sealed.rfind("cmr-enc:v1:k2:", 0) == 0);
    CHECK(out.find("p\\\"w 1") == std::string::npos);
    CHECK(decrypt_credential(sealed, p.keys, "EVENT-1", pointer) ==
          std::optional<std::string>(R"("p\"w 1")"));
    CHECK_FALSE(decrypt_credential(sealed, p.keys, "EVENT-2", pointer));
    CHECK_FALSE(decrypt_credential(sealed, p.keys, "EVENT-1",
                                   "/mailboxDetails/0/preWarmedUpMailboxes/1/password"));
    std::string tampered = sealed;
    tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
    CHECK_FALSE(decrypt_credential(tampered, p.keys, "EVENT-1", pointer));
    // Two encryptions of the same value differ (random IV).
    CHECK(string_at(*protect_credentials(kData, p, "EVENT-1"), pointer) != sealed);
  }

  TEST_CASE("an object or array under a credential name or pointer is protected whole") {
    const std::string data =
        R"({"mailboxId":"M1","password":{"current":"s3cr\"et]","previous":["old}1"]},)"
        R"("recovery":[["c0de-1"],{"k":"c0de-2"}],"after":"kept"})";
    CredentialPolicy p = policy(CredentialMode::kEncrypt);
    p.pointers = {"/recovery"};
    const std::string out = *protect_credentials(data, p, "E");
    for (const char* secret : {"s3cr", "old}1", "c0de-1", "c0de-2"}) {
      CAPTURE(secret);
      CHECK(out.find(secret) == std::string::npos);
    }
    CHECK(string_at(out, "/after") == "kept");
    CHECK(string_at(out, "/mailboxId") == "M1");
    CHECK(decrypt_credential(string_at(out, "/password"), p.keys, "E", "/password") ==
          std::optional<std::string>(R"({"current":"s3cr\"et]","previous":["old}1"]})"));
    CHECK(decrypt_credential(string_at(out, "/recovery"), p.keys, "E", "/recovery") ==
          std::optional<std::string>(R"([["c0de-1"],{"k":"c0de-2"}])"));
    const std::string redacted = *protect_credentials(data, policy(CredentialMode::kRedact), "E");
    CHECK(string_at(redacted, "/password") == "[REDACTED]");
    CHECK(string_at(redacted, "/after") == "kept");
  }

  TEST_CASE("key rotation: a value sealed with an older key id still decrypts") {
    CredentialPolicy old_policy = policy(CredentialMode::kEncrypt);
    const std::string out = *protect_credentials(kData, old_policy, "E");
    std::vector<EncryptionKey> rotated =
        parse_encryption_keys("k3:" + std::string(43, 'A') + "=").value();
    rotated.push_back(old_policy.keys.front());
    const char* pointer = "/mailboxDetails/0/preWarmedUpMailboxes/1/appPassword";
    CHECK(decrypt_credential(string_at(out, pointer), rotated, "E", pointer) ==
          std::optional<std::string>("\"app-2\""));
  }

  TEST_CASE("encryption keys are validated") {
    CHECK_FALSE(parse_encryption_keys(""));
    CHECK_FALSE(parse_encryption_keys("nokey"));
    const auto short_key = parse_encryption_keys("k1:c2hvcnQ=");
    REQUIRE_FALSE(short_key);
    CHECK(short_key.error().message().find("k1") != std::string::npos);
    CHECK(parse_encryption_keys("a:" + std::string(43, 'A') + "=,b:" + std::string(42, 'B') + "Q=")
              .value()
              .size() == 2);
  }
}
