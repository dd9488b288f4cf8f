// The binary's command line as an operator uses it: sign, --help, --version, config errors.
#include <doctest/doctest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "core/source_profile.h"
#include "support/samples.h"

namespace {

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Run run(const std::string& command) {
  Run result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
    result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

const std::string kBinary = CMR_BRIDGE_BINARY;

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("--version and --help exit 0 and document every variable") {
    const auto version = run(kBinary + " --version");
    CHECK(version.exit_code == 0);
    CHECK(version.output.find("cmr-bridge ") == 0);
    const auto help = run(kBinary + " --help");
    CHECK(help.exit_code == 0);
    for (const char* variable :
         {"CMR_BRIDGE_SIGNING_KEYS", "CMR_BRIDGE_KAFKA_BROKERS", "CMR_BRIDGE_LISTEN",
          "CMR_BRIDGE_ADMIN_LISTEN", "CMR_BRIDGE_TIMESTAMP_TOLERANCE_S",
          "CMR_BRIDGE_SIGNATURE_SCHEME", "CMR_BRIDGE_DELIVERY_TIMEOUT_MS"}) {
      CHECK(help.output.find(variable) != std::string::npos);
    }
  }

  TEST_CASE("sign prints headers that match the openssl vectors") {
    const std::string file = "/tmp/cmr_bridge_cli_test_body.json";
    std::ofstream(file, std::ios::binary) << cmr_bridge::test::kDomainOrderSuccess;
    const auto hex = run(kBinary + " sign --key " + cmr_bridge::test::kTestKey + " --timestamp " +
                         cmr_bridge::test::kTestTimestamp + " " + file);
    CHECK(hex.exit_code == 0);
    CHECK(hex.output ==
          "cmr-x-timestamp: 1709942399\ncmr-x-signature: " + cmr_bridge::test::kBodyHex + "\n");
    const auto b64 = run(kBinary + " sign --scheme timestamp-body-base64 --key " +
                         cmr_bridge::test::kTestKey + " --timestamp 1709942399 " + file);
    CHECK(b64.output.find(cmr_bridge::test::kTimestampBodyBase64) != std::string::npos);
    std::remove(file.c_str());
  }

  TEST_CASE("sign --profile prints each profile's headers, matching the published vectors") {
    const std::string file = "/tmp/cmr_bridge_cli_test_sw_body.json";
    std::ofstream(file, std::ios::binary)
        << R"({"email":"test@example.com","username":"test_user"})";
    const auto sw =
        run(kBinary +
            " sign --profile standard-webhooks --key "
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD --id msg_27UH4WbU6Z5A5EzD8u03UvzRbpk "
            "--timestamp 1649367553 " +
            file);
    CHECK(sw.exit_code == 0);
    CHECK(sw.output ==
          "webhook-id: msg_27UH4WbU6Z5A5EzD8u03UvzRbpk\nwebhook-timestamp: 1649367553\n"
          "webhook-signature: v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=\n");
    const auto github = run("printf 'Hello, World!' | GH_KEYS=\"It's a Secret to Everybody,old\" " +
                            kBinary + " sign --profile github --key-env GH_KEYS --id d-1 -");
    CHECK(github.exit_code == 0);
    CHECK(github.output ==
          "X-Hub-Signature-256: "
          "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n"
          "X-GitHub-Delivery: d-1\n");
    std::remove(file.c_str());
  }

  TEST_CASE("sign --profile refuses options and keys the profile cannot use, exit 2") {
    struct Case {
      std::string arguments;
      std::string message;
    };
    const Case cases[] = {
        {"--profile svix --key k", "--profile must be cmr, standard-webhooks, github or stripe"},
        {"--profile github --scheme body-hex --key k", "--scheme applies to --profile cmr only"},
        {"--profile stripe --event push --key k", "--event applies to --profile github only"},
        {"--id x --key k", "--id and --event apply to the standard-webhooks and github profiles"},
        {"--profile stripe", "no key: pass --key or --key-env VAR"},
        {"--profile stripe --key-env CMR_BRIDGE_CLI_TEST_UNSET",
         "--key-env CMR_BRIDGE_CLI_TEST_UNSET: the variable is unset or empty"},
        {"--profile standard-webhooks --key whsec_!!",
         "the signing key is not whsec_ followed by valid base64"},
        {"--profile stripe --key k --timestamp soon",
         "the timestamp must be a Unix time in seconds"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.arguments);
      const auto result = run("printf x | " + kBinary + " sign " + c.arguments + " -");
      CHECK(result.exit_code == 2);
      CHECK(result.output.find(c.message) != std::string::npos);
    }
  }

  TEST_CASE("send --profile P --source NAME posts to /webhooks/NAME, signed so P verifies it") {
    struct Received {
      std::string path;
      cmr_bridge::HeaderList headers;
      std::string body;
    };
    std::mutex mutex;
    Received received;
    httplib::Server server;
    server.Post(R"(/webhooks/[a-z0-9-]+)",
                [&](const httplib::Request& req, httplib::Response& res) {
                  const std::lock_guard<std::mutex> lock(mutex);
                  received = {req.path, {}, req.body};
                  for (const auto& [name, value] : req.headers)
                    received.headers.emplace_back(name, value);
                  res.set_content(R"({"status":"accepted"})", "application/json");
                });
    const int port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    // bind_to_any_port already listens: connections queue until the accept loop runs.
    std::thread listener([&] { server.listen_after_bind(); });

    const std::string body = R"({"id":"evt_1","type":"invoice.paid"})";
    const std::string file = "/tmp/cmr_bridge_cli_test_send_body.json";
    std::ofstream(file, std::ios::binary) << body;
    struct Case {
      cmr_bridge::VerificationProfile profile;
      std::string key;
      std::string source;
    };
    const Case cases[] = {
        {cmr_bridge::VerificationProfile::kStandardWebhooks,
         "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "acme"},
        {cmr_bridge::VerificationProfile::kGithub, "gh-secret", "gh"},
        {cmr_bridge::VerificationProfile::kStripe, "whsec_stripe", "pay"},
    };
    for (const auto& c : cases) {
      const std::string profile(cmr_bridge::to_string(c.profile));
      CAPTURE(profile);
      const auto sent =
          run(kBinary + " send http://127.0.0.1:" + std::to_string(port) + " --profile " + profile +
              " --source " + c.source + " --key " + c.key + " --timestamp 1700000000 " + file);
      CHECK(sent.exit_code == 0);
      CHECK(sent.output.find("HTTP 200") == 0);
      const std::lock_guard<std::mutex> lock(mutex);
      CHECK(received.path == "/webhooks/" + c.source);
      CHECK(received.body == body);
      const auto verifier =
          cmr_bridge::make_profile_verifier(c.profile, {c.key}, std::chrono::seconds(300));
      REQUIRE(verifier);
      const cmr_bridge::HeaderListView view(received.headers);
      const auto check = verifier.value()->verify(
          view, received.body,
          std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)));
      CHECK(check.ok());
      // Standard Webhooks and GitHub deliveries get a fresh id unless --id names one.
      CHECK(check.identity.delivery_id.has_value() ==
            (c.profile != cmr_bridge::VerificationProfile::kStripe));
    }
    const auto both = run(kBinary + " send http://127.0.0.1:" + std::to_string(port) +
                          "/webhooks/x --profile github --source gh --key k " + file);
    CHECK(both.exit_code == 2);
    CHECK(both.output.find("not both") != std::string::npos);
    CHECK(run(kBinary + " send http://127.0.0.1:1 --source Bad_Name --key k " + file).exit_code ==
          2);
    server.stop();
    listener.join();
    std::remove(file.c_str());
  }

  TEST_CASE("missing or invalid configuration exits 2 naming the variable") {
    const auto missing = run("env -i " + kBinary + " serve");
    CHECK(missing.exit_code == 2);
    CHECK(missing.output.find("CMR_BRIDGE_SIGNING_KEYS") != std::string::npos);
    const auto invalid =
        run("env -i CMR_BRIDGE_SIGNING_KEYS=k CMR_BRIDGE_TIMESTAMP_TOLERANCE_S=x " + kBinary);
    CHECK(invalid.exit_code == 2);
    CHECK(invalid.output.find("CMR_BRIDGE_TIMESTAMP_TOLERANCE_S") != std::string::npos);
    const auto bad_property =
        run("env -i CMR_BRIDGE_SIGNING_KEYS=k CMR_BRIDGE_KAFKA_PROP_NO_SUCH_THING=1 " + kBinary);
    CHECK(bad_property.exit_code == 2);
    CHECK(bad_property.output.find("no.such.thing") != std::string::npos);
  }

  TEST_CASE("an unknown command exits 2") {
    CHECK(run(kBinary + " frobnicate").exit_code == 2);
  }
}
