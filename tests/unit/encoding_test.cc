#include "core/encoding.h"

#include <doctest/doctest.h>

using namespace cmr_bridge;

TEST_SUITE("encoding") {
  TEST_CASE("hex round-trips and accepts either case") {
    const uint8_t bytes[] = {0x00, 0xab, 0xff, 0x10};
    CHECK(hex_encode(bytes, 4) == "00abff10");
    const auto decoded = hex_decode("00ABff10");
    REQUIRE(decoded);
    CHECK(*decoded == std::vector<uint8_t>(bytes, bytes + 4));
  }

  TEST_CASE("hex rejects odd length and non-hex characters") {
    CHECK_FALSE(hex_decode("abc"));
    CHECK_FALSE(hex_decode("zz"));
    CHECK_FALSE(hex_decode("0g"));
  }

  TEST_CASE("base64 matches RFC 4648 test vectors") {
    const std::string inputs[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const std::string expected[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (std::size_t i = 0; i < 7; ++i) {
      const auto* data = reinterpret_cast<const uint8_t*>(inputs[i].data());
      CHECK(base64_encode(data, inputs[i].size()) == expected[i]);
      const auto decoded = base64_decode(expected[i]);
      REQUIRE(decoded);
      CHECK(std::string(decoded->begin(), decoded->end()) == inputs[i]);
    }
  }

  TEST_CASE("base64 accepts missing padding and the URL-safe alphabet") {
    const auto unpadded = base64_decode("Zm9vYg");
    REQUIRE(unpadded);
    CHECK(std::string(unpadded->begin(), unpadded->end()) == "foob");
    const auto url_safe = base64_decode("-_8=");
    REQUIRE(url_safe);
    CHECK(*url_safe == std::vector<uint8_t>{0xfb, 0xff});
  }

  TEST_CASE("base64 rejects garbage, bad padding and non-canonical trailing bits") {
    CHECK_FALSE(base64_decode("Zm9v!"));
    CHECK_FALSE(base64_decode("Z"));
    CHECK_FALSE(base64_decode("Zm9=v"));
    CHECK_FALSE(base64_decode("Zh=="));  // 'h' leaves non-zero bits after the last byte
  }
}
