// Event name → lifecycle topic and partition key. Routes are data: a default table, later
// extended from a routes file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmr_bridge/config.h"
#include "cmr_bridge/result.h"

namespace cmr_bridge {

struct Route {
  std::string pattern;    // exact event name, or a glob with '*' (matches any run of characters)
  std::string lifecycle;  // "order", "subscription", "prewarmup"
  std::string topic;
  // JSON pointers into `data`; the first that holds a non-empty string is the Kafka key.
  std::vector<std::string> key_pointers;
  // Schema that validates `data`: empty = the schema named like the event (none if there is
  // no such schema); "none" = no validation; otherwise a schema name that must exist.
  std::string schema;
};

// Parses a routes file (JSON):
//   {"routes": [{"match": "domain.renewal.*", "topic": "order", "lifecycle": "order",
//                "key": ["/domainId", "/userId"], "schema": "none"}, ...]}
// "topic" is "order", "subscription" or "prewarmup" (the configured topic of that lifecycle,
// which is then also the default lifecycle) or a literal topic name. "key" defaults to
// ["/userId"], "lifecycle" to the topic alias or "other". Fails with every problem found, each
// naming `origin` and the route.
Result<std::vector<Route>> parse_routes_file(std::string_view text, std::string_view origin,
                                             const TopicNames& topics);

bool glob_match(std::string_view pattern, std::string_view text);

class RouteTable {
 public:
  explicit RouteTable(std::vector<Route> routes) : routes_(std::move(routes)) {}
  // `overrides` first (first match wins), then the defaults.
  static RouteTable with_overrides(std::vector<Route> overrides, const TopicNames& topics);
  // The documented lifecycles (issue "Foundation"): domain.order.*, mailbox.order.*,
  // mailbox.created, mailbox.updated → order; subscription.* → subscription;
  // prewarmup.* → prewarmup.
  static RouteTable defaults(const TopicNames& topics);

  // First route whose pattern matches, in table order; nullptr when none does.
  const Route* find(std::string_view event) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace cmr_bridge
