#include "core/json_writer.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <string>

using namespace cmr_bridge;

TEST_SUITE("json writer") {
  TEST_CASE("fields of every type, in the order written") {
    const std::string json = JsonObjectWriter()
                                 .field("s", "text")
                                 .field("i", 42)
                                 .field("big", int64_t{-9007199254740993})
                                 .field("d", 0.5)
                                 .field("t", true)
                                 .field("f", false)
                                 .raw_field("raw", R"({"a":[1,2]})")
                                 .finish();
    CHECK(json == R"({"s":"text","i":42,"big":-9007199254740993,"d":0.5,"t":true,"f":false,)"
                  R"("raw":{"a":[1,2]}})");
  }

  TEST_CASE("an empty object") {
    CHECK(JsonObjectWriter().finish() == "{}");
  }

  TEST_CASE("strings are escaped, whatever bytes they hold") {
    const std::string value = std::string("quote\" backslash\\ newline\n nul", 30) + '\0' + "end";
    const std::string json = JsonObjectWriter().field("k\"ey", value).finish();
    rapidjson::Document doc;
    doc.Parse(json.c_str(), json.size());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.HasMember("k\"ey"));
    const auto& parsed = doc["k\"ey"];
    CHECK(std::string(parsed.GetString(), parsed.GetStringLength()) == value);
  }
}
