#include "core/schema_set.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

using namespace cmr_bridge;

TEST_SUITE("schemas") {
  TEST_CASE("a broken schema fails compilation naming its origin") {
    std::string error;
    CHECK_FALSE(SchemaSet::compile({{"a", "/x/a.json", "{oops"}}, &error));
    CHECK(error.find("/x/a.json") == 0);
    CHECK_FALSE(SchemaSet::compile({{"a", "/x/b.json", "[]"}}, &error));
    CHECK(error.find("/x/b.json") == 0);
  }

  TEST_CASE("pattern keywords are refused: RapidJSON's regex is not thread-safe") {
    std::string error;
    CHECK_FALSE(SchemaSet::compile(
        {{"a", "/x/a.json", R"({"properties":{"t":{"type":"string","pattern":"^[0-9]+$"}}})"}},
        &error));
    CHECK(error.find("/x/a.json") == 0);
    CHECK(error.find("pattern") != std::string::npos);
    CHECK_FALSE(SchemaSet::compile({{"b", "b", R"({"patternProperties":{"^x":{}}})"}}, &error));
  }

  TEST_CASE("validation reports the first violation as pointer and keyword") {
    std::string error;
    const auto set = SchemaSet::compile(
        {{"e", "t", R"({"type":"object","required":["id"],"properties":{"n":{"type":"number"},
            "list":{"type":"array","items":{"type":"object","required":["k"]}}}})"}},
        &error);
    REQUIRE(set);
    const auto check = [&](const char* json) {
      rapidjson::Document doc;
      doc.Parse(json);
      return set->validate("e", doc);
    };
    CHECK_FALSE(check(R"({"id":"x","n":1,"unknown":true})"));
    CHECK(check(R"({"n":1})") == std::optional<std::string>("/: required"));
    CHECK(check(R"({"id":"x","n":"1"})") == std::optional<std::string>("/n: type"));
    CHECK(check(R"({"id":"x","list":[{"k":1},{}]})") ==
          std::optional<std::string>("/list/1: required"));
  }
}
