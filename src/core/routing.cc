#include "core/routing.h"

namespace cmr_bridge {

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative wildcard match with single-star backtracking: O(|pattern| * |text|) worst case.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

RouteTable RouteTable::defaults(const TopicNames& topics) {
  const std::vector<std::string> order_key = {"/orderId", "/mailboxId", "/userId"};
  const std::vector<std::string> subscription_key = {"/subscriptionId", "/mailboxId", "/userId"};
  return RouteTable({
      {"domain.order.*", "order", topics.order, order_key},
      {"mailbox.order.*", "order", topics.order, order_key},
      {"mailbox.created", "order", topics.order, order_key},
      {"mailbox.updated", "order", topics.order, order_key},
      {"subscription.*", "subscription", topics.subscription, subscription_key},
      {"prewarmup.*", "prewarmup", topics.prewarmup, order_key},
  });
}

const Route* RouteTable::find(std::string_view event) const {
  for (const auto& route : routes_) {
    if (glob_match(route.pattern, event))
      return &route;
  }
  return nullptr;
}

}  // namespace cmr_bridge
