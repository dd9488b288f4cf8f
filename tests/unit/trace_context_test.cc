#include "core/trace_context.h"

#include <doctest/doctest.h>

#include <string>

using namespace cmr_bridge;

namespace {
// The W3C specification's example.
const std::string kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const std::string kState = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
}  // namespace

TEST_SUITE("trace context") {
  TEST_CASE("a valid traceparent and tracestate are carried as received") {
    const auto trace = parse_trace_context(1, kParent, kState);
    CHECK(trace.traceparent == kParent);
    CHECK(trace.tracestate == kState);
    CHECK_FALSE(trace.empty());
    // Surrounding whitespace is not part of the value.
    const std::string padded = " " + kParent + "\t";
    CHECK(parse_trace_context(1, padded, std::nullopt).traceparent == kParent);
  }

  TEST_CASE("no traceparent, or more than one, carries nothing (tracestate included)") {
    CHECK(parse_trace_context(0, std::nullopt, kState).empty());
    CHECK(parse_trace_context(0, std::nullopt, kState).tracestate.empty());
    CHECK(parse_trace_context(2, kParent, kState).empty());
  }

  TEST_CASE("invalid traceparents are ignored, never refused") {
    const std::string cases[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",         // short
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // 00 is exact
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",        // upper case
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",        // zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",        // zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // version ff
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",        // separators
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // not hex
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",       // later version, no '-'
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-" + std::string(250, 'a'),
    };
    for (const auto& value : cases) {
      CAPTURE(value);
      CHECK_FALSE(valid_traceparent(value));
      const auto trace = parse_trace_context(1, value, kState);
      CHECK(trace.empty());
      CHECK(trace.tracestate.empty());
    }
  }

  TEST_CASE("a later version's traceparent is carried with its extra fields") {
    const std::string later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever";
    CHECK(valid_traceparent(later));
    CHECK(valid_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09"));
  }

  TEST_CASE("tracestate: the list grammar, with an invalid list dropped on its own") {
    struct Case {
      std::string value;
      bool valid;
    };
    const Case cases[] = {
        {"rojo=00f067aa0ba902b7", true},
        {"rojo=1, ,congo=2,", true},  // empty members (joined headers)
        {"tenant1@vendor=x", true},
        {"a*b/c_d-e=value with spaces", true},
        {"", false},
        {" , ", false},
        {"Rojo=1", false},         // upper-case key
        {"1rojo=1", false},        // key starts with a digit (no tenant)
        {"rojo", false},           // no '='
        {"rojo=", false},          // empty value
        {"rojo=a,b", false},       // "b" is no member
        {"rojo=a=b", false},       // '=' in the value
        {"rojo=trailing ", true},  // the space is the list's optional whitespace
        {"rojo=a\tb", false},      // a tab is no value character       // value ends in a space
        {"rojo=1,rojo=2", false},  // duplicate key
        {"t@toolongsystemid=1", false},  // system id over 14 characters
        {"rojo=caf\xc3\xa9", false},     // not ASCII
    };
    for (const auto& c : cases) {
      CAPTURE(c.value);
      CHECK(valid_tracestate(c.value) == c.valid);
    }
    const auto trace = parse_trace_context(1, kParent, "Bad=1");
    CHECK(trace.traceparent == kParent);
    CHECK(trace.tracestate.empty());
  }

  TEST_CASE("tracestate: at most 32 members and 512 characters") {
    std::string members;
    for (int i = 0; i < 32; ++i)
      members += (i ? ",k" : "k") + std::to_string(i) + "=v";
    CHECK(valid_tracestate(members));
    CHECK_FALSE(valid_tracestate(members + ",k32=v"));
    const std::string long_value = "k=" + std::string(255, 'v');
    CHECK(valid_tracestate(long_value + ",l=" + std::string(250, 'v')));  // 510 characters
    CHECK_FALSE(valid_tracestate(long_value + ",l=" + std::string(253, 'v')));
  }
}
