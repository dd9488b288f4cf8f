#include "core/schema_set.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

using namespace cmr_bridge;

TEST_SUITE("schemas") {
  TEST_CASE("a broken schema fails compilation naming its origin") {
    const auto broken = SchemaSet::compile({{"a", "/x/a.json", "{oops"}});
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message().find("/x/a.json") == 0);
    const auto not_object = SchemaSet::compile({{"a", "/x/b.json", "[]"}});
    REQUIRE_FALSE(not_object);
    CHECK(not_object.error().message().find("/x/b.json") == 0);
  }

  TEST_CASE("pattern keywords are refused: RapidJSON's regex is not thread-safe") {
    const auto pattern = SchemaSet::compile(
        {{"a", "/x/a.json", R"({"properties":{"t":{"type":"string","pattern":"^[0-9]+$"}}})"}});
    REQUIRE_FALSE(pattern);
    CHECK(pattern.error().message().find("/x/a.json") == 0);
    CHECK(pattern.error().message().find("pattern") != std::string::npos);
    CHECK_FALSE(SchemaSet::compile({{"b", "b", R"({"patternProperties":{"^x":{}}})"}}));
  }

  TEST_CASE("validation reports the first violation as pointer and keyword") {
    const auto compiled = SchemaSet::compile(
        {{"e", "t", R"({"type":"object","required":["id"],"properties":{"n":{"type":"number"},
            "list":{"type":"array","items":{"type":"object","required":["k"]}}}})"}});
    REQUIRE(compiled);
    const auto& set = compiled.value();
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
