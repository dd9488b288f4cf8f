#include "core/routing.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

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
      {"domain.order.*", "order", topics.order, order_key, ""},
      {"mailbox.order.*", "order", topics.order, order_key, ""},
      {"mailbox.created", "order", topics.order, order_key, ""},
      {"mailbox.updated", "order", topics.order, order_key, ""},
      {"subscription.*", "subscription", topics.subscription, subscription_key, ""},
      {"prewarmup.*", "prewarmup", topics.prewarmup, order_key, ""},
  });
}

RouteTable RouteTable::with_overrides(std::vector<Route> overrides, const TopicNames& topics) {
  auto defaults = RouteTable::defaults(topics).routes_;
  overrides.insert(overrides.end(), std::make_move_iterator(defaults.begin()),
                   std::make_move_iterator(defaults.end()));
  return RouteTable(std::move(overrides));
}

Result<std::vector<Route>> parse_routes_file(std::string_view text, std::string_view origin,
                                             const TopicNames& topics) {
  std::vector<Route> routes;
  std::vector<std::string> errors;
  const std::string where(origin);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseCommentsFlag |
            rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return Error(where + ": not valid JSON: " + rapidjson::GetParseError_En(doc.GetParseError()) +
                 " at byte " + std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject() || !doc.HasMember("routes") || !doc["routes"].IsArray()) {
    return Error(where + ": expected an object with a \"routes\" array");
  }
  const rapidjson::Value& list = doc["routes"];
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    const auto& entry = list[i];
    const std::string at = where + ": routes[" + std::to_string(i) + "]";
    if (!entry.IsObject()) {
      errors.push_back(at + ": must be an object");
      continue;
    }
    const auto text_member = [&](const char* name) -> std::optional<std::string> {
      const auto it = entry.FindMember(name);
      if (it == entry.MemberEnd())
        return std::nullopt;
      if (!it->value.IsString() || it->value.GetStringLength() == 0) {
        errors.push_back(at + "." + name + ": must be a non-empty string");
        return std::string();
      }
      return std::string(it->value.GetString(), it->value.GetStringLength());
    };
    Route route;
    const auto match = text_member("match");
    const auto topic = text_member("topic");
    const auto lifecycle = text_member("lifecycle");
    const auto schema = text_member("schema");
    if (!match)
      errors.push_back(at + ".match: is required");
    if (!topic)
      errors.push_back(at + ".topic: is required");
    if (!match || !topic || match->empty() || topic->empty())
      continue;
    route.pattern = *match;
    if (*topic == "order" || *topic == "subscription" || *topic == "prewarmup") {
      route.topic = *topic == "order"          ? topics.order
                    : *topic == "subscription" ? topics.subscription
                                               : topics.prewarmup;
      route.lifecycle = *topic;
    } else {
      route.topic = *topic;
      route.lifecycle = "other";
    }
    if (lifecycle && !lifecycle->empty())
      route.lifecycle = *lifecycle;
    if (schema)
      route.schema = *schema;
    const auto key = entry.FindMember("key");
    if (key == entry.MemberEnd()) {
      route.key_pointers = {"/userId"};
    } else if (!key->value.IsArray() || key->value.Empty()) {
      errors.push_back(at + ".key: must be a non-empty array of JSON pointers");
    } else {
      for (const auto& pointer : key->value.GetArray()) {
        if (!pointer.IsString() || pointer.GetStringLength() == 0 ||
            pointer.GetString()[0] != '/') {
          errors.push_back(at + ".key: every entry must be a JSON pointer like \"/orderId\"");
          break;
        }
        route.key_pointers.emplace_back(pointer.GetString(), pointer.GetStringLength());
      }
    }
    for (auto it = entry.MemberBegin(); it != entry.MemberEnd(); ++it) {
      const std::string_view name(it->name.GetString(), it->name.GetStringLength());
      if (name != "match" && name != "topic" && name != "lifecycle" && name != "schema" &&
          name != "key") {
        errors.push_back(at + ": unknown field \"" + std::string(name) + "\"");
      }
    }
    routes.push_back(std::move(route));
  }
  if (!errors.empty())
    return Error(std::move(errors));
  return routes;
}

const Route* RouteTable::find(std::string_view event) const {
  for (const auto& route : routes_) {
    if (glob_match(route.pattern, event))
      return &route;
  }
  return nullptr;
}

}  // namespace cmr_bridge
