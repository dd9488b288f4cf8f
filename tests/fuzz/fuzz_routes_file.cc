// Fuzzes parse_routes_file (the operator's CMR_BRIDGE_ROUTES_FILE) and the route table built
// from it.
//
// Invariants:
//   - never crashes, whatever the bytes (including comments, which the routes parser allows,
//     and deep nesting: inputs nested deeper than 1000 levels are parsed on a thread with a
//     1 MiB stack, so a recursive parser overflows reliably, whatever `ulimit -s` says);
//   - a file with problems fails with every error naming the file; otherwise every route has a
//     non-empty pattern, topic and lifecycle, and key pointers that are non-empty JSON pointers
//     ("/...");
//   - (for files that parse) overrides come first, the defaults stay behind them: every documented
//   event still finds
//     a route;
//   - glob_match agrees with a reference dynamic-programming matcher, and a pattern always
//     matches itself.
#include <pthread.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config/file_loaders.h"
#include "core/routing.h"
#include "fuzz_common.h"

using namespace cmr_bridge;

namespace {

// Reference glob: '*' matches any run (possibly empty), every other byte matches itself.
bool reference_glob(std::string_view pattern, std::string_view text) {
  std::vector<char> row(text.size() + 1, 0), next(text.size() + 1, 0);
  row[0] = 1;  // empty pattern matches empty text
  for (const char p : pattern) {
    next.assign(text.size() + 1, 0);
    if (p == '*') {
      char any = 0;
      for (std::size_t j = 0; j <= text.size(); ++j) {
        any = any || row[j];
        next[j] = any;
      }
    } else {
      for (std::size_t j = 1; j <= text.size(); ++j)
        next[j] = row[j - 1] && text[j - 1] == p;
    }
    row.swap(next);
  }
  return row[text.size()];
}

// Deeply nested input is parsed on a thread with a small, fixed stack (1 MiB), so a parser that
// recurses per nesting level fails the same way whatever `ulimit -s` the machine has.
Result<std::vector<Route>> parse_on_small_stack(std::string_view text, const TopicNames& topics) {
  struct Job {
    std::string_view text;
    const TopicNames* topics;
    Result<std::vector<Route>> result;
  } job{text, &topics, Error("not parsed")};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1 << 20);
  pthread_t thread;
  const int rc = pthread_create(
      &thread, &attr,
      [](void* arg) -> void* {
        auto* j = static_cast<Job*>(arg);
        j->result = parse_routes_file(j->text, "fuzz-routes.json", *j->topics);
        return nullptr;
      },
      &job);
  pthread_attr_destroy(&attr);
  FUZZ_CHECK(rc == 0, "pthread_create");
  pthread_join(thread, nullptr);
  return std::move(job.result);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const TopicNames topics;
  // How the routes parser will see the bytes: Document::Parse(str, len) reads through
  // EncodedInputStream, which drops a leading 0xEF, then 0xBB, then 0xBF byte, each on its own
  // (RapidJSON 1.1's BOM skip); comments are allowed.
  std::string_view json = text;
  for (const unsigned char bom : {0xEFu, 0xBBu, 0xBFu}) {
    if (!json.empty() && static_cast<unsigned char>(json.front()) == bom)
      json.remove_prefix(1);
  }
  constexpr unsigned kRoutesFlags =
      rapidjson::kParseValidateEncodingFlag | rapidjson::kParseCommentsFlag;
  const auto shape = cmr_bridge::fuzz::json_shape<kRoutesFlags>(json);
  if (cmr_bridge::fuzz::skip_known_findings()) {
    // F2: a non-object top level asserts in MemberEnd(); F3: deep nesting overflows the
    // stack (recursive parse). See tests/fuzz/regressions/fuzz_routes_file/.
    if (shape.max_depth > 512 || (shape.valid && !shape.top_level_object))
      return 0;
  }
  const bool deep = shape.max_depth > 1000;
  const Result<std::vector<Route>> result =
      deep ? parse_on_small_stack(text, topics)
           : parse_routes_file(text, "fuzz-routes.json", topics);
  if (!result) {
    for (const auto& error : result.error().messages()) {
      FUZZ_CHECK(error.rfind("fuzz-routes.json", 0) == 0, "every error names the file");
    }
    return 0;
  }
  const std::vector<Route>& routes = result.value();
  for (const Route& route : routes) {
    FUZZ_CHECK(!route.pattern.empty(), "a route has a pattern");
    FUZZ_CHECK(!route.topic.empty(), "a route has a topic");
    FUZZ_CHECK(!route.lifecycle.empty(), "a route has a lifecycle");
    FUZZ_CHECK(!route.key_pointers.empty(), "a route parsed without error has key pointers");
    for (const auto& pointer : route.key_pointers) {
      FUZZ_CHECK(!pointer.empty() && pointer.front() == '/', "key pointers are JSON pointers");
    }
  }

  const RouteTable table = RouteTable::with_overrides(routes, topics);
  FUZZ_CHECK(table.routes().size() == routes.size() + RouteTable::defaults(topics).routes().size(),
             "overrides are prepended to the defaults");
  for (const auto& event : documented_events()) {
    FUZZ_CHECK(table.find(event) != nullptr, "a documented event always has a route");
  }

  // glob_match against the reference, on patterns and texts the file supplied (the first 16
  // routes, patterns and texts ≤ 512 bytes: keeps the O(n·m) reference cheap).
  const std::size_t sample = std::min<std::size_t>(routes.size(), 16);
  for (std::size_t i = 0; i < sample; ++i) {
    const Route& route = routes[i];
    if (route.pattern.size() > 512)
      continue;
    FUZZ_CHECK(glob_match(route.pattern, route.pattern), "a pattern matches itself");
    for (std::size_t j = 0; j < sample; ++j) {
      const Route& other = routes[j];
      if (other.lifecycle.size() > 512)
        continue;
      FUZZ_CHECK(glob_match(route.pattern, other.lifecycle) ==
                     reference_glob(route.pattern, other.lifecycle),
                 "glob_match disagrees with the reference");
    }
    for (const auto& event : documented_events()) {
      FUZZ_CHECK(glob_match(route.pattern, event) == reference_glob(route.pattern, event),
                 "glob_match disagrees with the reference (documented event)");
    }
  }
  return 0;
}
