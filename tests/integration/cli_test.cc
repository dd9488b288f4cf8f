// The binary's command line as an operator uses it: sign, --help, --version, config errors.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

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
