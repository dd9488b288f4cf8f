// Documented CMR payloads and independently computed HMAC vectors (openssl dgst), shared by
// the test tiers.
#pragma once

#include <string>

namespace cmr_bridge::test {

inline const std::string kTestKey = "cmr-test-api-key";
inline const std::string kTestTimestamp = "1709942399";

// The documented domain.order.success example, byte for byte.
inline const std::string kDomainOrderSuccess =
    R"({"event":"domain.order.success","eventId":"6SSHBXWR3N4JEKGRQSG3KW3D76N6","data":{"userId":"PWM7Y25RYZ450YNM8K8FX9GK5AHX","userEmail":"johndoe@company.com","orderId":"NQ682GAVFTMYC2H6C87PPKPG5WXV","domainId":"AH2BD0WYWSMQC9NQHTMES3TFK4TX","domainName":"company.com","creationTime":"2024-03-08T23:59:59Z","expiryDate":"2025-03-08T23:59:59Z","price":15.88}})";

// printf '%s' "$BODY" | openssl dgst -sha256 -hmac cmr-test-api-key [-binary | base64]
inline const std::string kBodyHex =
    "b432b7d720056731498bab73d4dfffd5e2ade5e836ef8e1a699ad3e17f073b30";
inline const std::string kBodyBase64 = "tDK31yAFZzFJi6tz1N//1eKt5eg2744aaZrT4X8HOzA=";
// printf '%s.%s' 1709942399 "$BODY" | openssl dgst -sha256 -hmac cmr-test-api-key [...]
inline const std::string kTimestampBodyHex =
    "2fc3380f636709569bc6b1e6b916b29c6843dda5a3eb11c603ed2258c586c15a";
inline const std::string kTimestampBodyBase64 = "L8M4D2NnCVabxrHmuRaynGhD3aWj6xHGA+0iWMWGwVo=";
// The same body under the key "other-key".
inline const std::string kBodyHexOtherKey =
    "7ce12f84fab5396a94461967469da28f308089654426d929f0805fc613c8c523";

}  // namespace cmr_bridge::test
