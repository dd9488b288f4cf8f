// Test vectors the webhook providers publish themselves, shared by the unit tier (the
// verification profiles) and the Kafka tier (sources end to end). A profile that accepts these
// interoperates with the provider's own signing libraries.
#pragma once

#include <string>

namespace cmr_bridge::test {

// The Standard Webhooks reference libraries' test vector (secret, message id, timestamp, body
// and the signature header they compute).
inline const std::string kStandardWebhooksSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
inline const std::string kStandardWebhooksId = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
inline const std::string kStandardWebhooksTimestamp = "1649367553";
inline const std::string kStandardWebhooksBody =
    R"({"email":"test@example.com","username":"test_user"})";
inline const std::string kStandardWebhooksSignature =
    "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

// GitHub's documented example of X-Hub-Signature-256.
inline const std::string kGithubExampleSecret = "It's a Secret to Everybody";
inline const std::string kGithubExampleBody = "Hello, World!";
inline const std::string kGithubExampleSignature =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

}  // namespace cmr_bridge::test
