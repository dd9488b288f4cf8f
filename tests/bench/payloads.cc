#include "payloads.h"

#include <cstdio>
#include <stdexcept>

namespace cmr_bench {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford base32

constexpr std::array<std::string_view, 16> kFirstNames = {
    "Olivia", "Liam",  "Emma",  "Noah",  "Amelia", "Oliver", "Sophia", "Elijah",
    "Mia",    "Lucas", "Chloe", "Mateo", "Harper", "Levi",   "Aria",   "Ethan"};
constexpr std::array<std::string_view, 16> kLastNames = {
    "Smith",  "Johnson", "Garcia", "Miller",  "Davis",  "Martinez", "Lopez",  "Wilson",
    "Taylor", "Thomas",  "Moore",  "Jackson", "Martin", "Lee",      "Harris", "Clark"};
constexpr std::array<std::string_view, 8> kWords = {"outreach", "growth", "leadgen", "pipeline",
                                                    "revenue",  "scale",  "signal",  "prospect"};
constexpr std::array<std::string_view, 4> kTlds = {".com", ".io", ".co", ".net"};
constexpr std::array<std::string_view, 4> kDomainFailures = {
    "Domain name is not available for registration",
    "Domain name contains restricted words",
    "Registrar returned an error while registering the domain",
    "Insufficient wallet balance to complete the order",
};
constexpr std::array<std::string_view, 3> kMailboxFailures = {
    "Insufficient wallet balance to complete the order",
    "Workspace provisioning failed at the provider; the order was refunded",
    "Domain verification did not complete in time",
};

// Minimal JSON writer for the fixed vocabulary above (no escaping needed, by construction).
class Json {
 public:
  explicit Json(std::size_t reserve) { out_.reserve(reserve); }
  Json& open(std::string_view key = {}) { return start(key, '{'); }
  Json& open_array(std::string_view key) { return start(key, '['); }
  Json& close() {
    out_.push_back('}');
    comma_ = true;
    return *this;
  }
  Json& close_array() {
    out_.push_back(']');
    comma_ = true;
    return *this;
  }
  Json& str(std::string_view key, std::string_view value) {
    field(key);
    out_.push_back('"');
    out_.append(value);
    out_.push_back('"');
    return *this;
  }
  Json& raw(std::string_view key, std::string_view literal) {
    field(key);
    out_.append(literal);
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  Json& start(std::string_view key, char bracket) {
    if (!key.empty()) {
      field(key);
    } else if (comma_) {
      out_.push_back(',');
    }
    out_.push_back(bracket);
    comma_ = false;
    return *this;
  }
  void field(std::string_view key) {
    if (comma_)
      out_.push_back(',');
    out_.push_back('"');
    out_.append(key);
    out_.append("\":");
    comma_ = true;
  }
  std::string out_;
  bool comma_ = false;
};

template <typename Array>
std::string_view pick(Rng& rng, const Array& values) {
  return values[rng.below(values.size())];
}

std::string iso_date(Rng& rng, int year, bool millis) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", year,
                static_cast<int>(rng.below(12) + 1), static_cast<int>(rng.below(28) + 1),
                static_cast<int>(rng.below(24)), static_cast<int>(rng.below(60)),
                static_cast<int>(rng.below(60)), millis ? ".000" : "");
  return buffer;
}

std::string price(Rng& rng) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%d.%02d", static_cast<int>(rng.below(90) + 3),
                static_cast<int>(rng.below(100)));
  return buffer;
}

std::string secret(Rng& rng, std::size_t length, std::string_view alphabet) {
  std::string s(length, ' ');
  for (auto& c : s)
    c = alphabet[rng.below(alphabet.size())];
  return s;
}

std::string password(Rng& rng) {
  return secret(rng, 16, "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%*+-=?@");
}

std::string app_password(Rng& rng) {
  const std::string_view lower = "abcdefghijklmnopqrstuvwxyz";
  return secret(rng, 4, lower) + " " + secret(rng, 4, lower) + " " + secret(rng, 4, lower) + " " +
         secret(rng, 4, lower);
}

std::string domain_name(Rng& rng) {
  std::string name = std::string(pick(rng, kWords)) + "-" + std::string(pick(rng, kLastNames)) +
                     std::to_string(rng.below(100)) + std::string(pick(rng, kTlds));
  for (auto& c : name)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return name;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

std::string crockford(uint64_t value, int digits) {
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kAlphabet[value & 31];
    value >>= 5;
  }
  return out;
}

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Mix Mix::defaults() {
  Mix mix;
  mix.weights = {14, 3, 12, 2, 30, 12, 12, 3, 3, 6, 3};
  return mix;
}

Mix Mix::parse(std::string_view spec, std::string* error) {
  Mix mix;
  if (spec == "uniform") {
    mix.weights.fill(1);
    return mix;
  }
  if (spec.empty() || spec == "default")
    return defaults();
  std::size_t start = 0;
  while (start <= spec.size()) {
    const auto end = std::min(spec.find(',', start), spec.size());
    const auto item = spec.substr(start, end - start);
    const auto eq = item.find('=');
    bool found = false;
    if (eq != std::string_view::npos) {
      for (std::size_t i = 0; i < kEvents.size(); ++i) {
        if (kEvents[i] == item.substr(0, eq)) {
          try {
            mix.weights[i] = std::stod(std::string(item.substr(eq + 1)));
            found = mix.weights[i] >= 0;
          } catch (const std::exception&) {
          }
        }
      }
    }
    if (!found) {
      *error = "bad --mix entry \"" + std::string(item) + "\" (expected event=weight)";
      return mix;
    }
    start = end + 1;
  }
  double total = 0;
  for (double w : mix.weights)
    total += w;
  if (total <= 0)
    *error = "--mix has no positive weight";
  return mix;
}

std::string Mix::describe() const {
  double total = 0;
  for (double w : weights)
    total += w;
  std::string out;
  char buffer[96];
  for (std::size_t i = 0; i < kEvents.size(); ++i) {
    if (weights[i] <= 0)
      continue;
    std::snprintf(buffer, sizeof buffer, "%s%.*s=%.1f%%", out.empty() ? "" : ",",
                  static_cast<int>(kEvents[i].size()), kEvents[i].data(),
                  100.0 * weights[i] / total);
    out += buffer;
  }
  return out;
}

PayloadFactory::PayloadFactory(uint64_t seed, std::string_view run_prefix, int connection, Mix mix)
    : rng_(seed ^ (0x51ed270b27a1f3c5ULL * static_cast<uint64_t>(connection + 1))),
      prefix_(std::string(run_prefix.substr(0, 6)) +
              std::string(6 - std::min<std::size_t>(6, run_prefix.size()), '0') +
              crockford(static_cast<uint64_t>(connection), 3)),
      mix_(mix) {
  for (double w : mix_.weights)
    total_weight_ += w;
}

int PayloadFactory::pick_event() {
  double x = rng_.unit() * total_weight_;
  for (std::size_t i = 0; i < kEvents.size(); ++i) {
    if (x < mix_.weights[i])
      return static_cast<int>(i);
    x -= mix_.weights[i];
  }
  return static_cast<int>(kEvents.size() - 1);
}

std::string PayloadFactory::id() {
  return crockford(rng_.next(), 13) + crockford(rng_.next(), 13) + crockford(rng_.next(), 2);
}

std::string PayloadFactory::next_event_id() {
  // 9 (prefix+connection) + 8 (sequence) + 11 (random) = 28 characters.
  return prefix_ + crockford(sequence_++, 8) + crockford(rng_.next(), 11);
}

std::string PayloadFactory::make(int event, std::string* event_id) {
  Rng& r = rng_;
  *event_id = next_event_id();
  const std::string_view name = kEvents.at(static_cast<std::size_t>(event));
  const std::string first(pick(r, kFirstNames));
  const std::string last(pick(r, kLastNames));
  const std::string user_email = lower(first) + "." + lower(last) + "@" + domain_name(r);
  const std::string workspace = r.below(2) ? "GOOGLE" : "MICROSOFT";
  const int year = 2024 + static_cast<int>(r.below(2));

  Json j(name.starts_with("prewarmup.order.success") ? 24 * 1024 : 1024);
  j.open().str("event", name).str("eventId", *event_id).open("data");
  switch (event) {
    case 0: {  // domain.order.success (complete in the docs)
      j.str("userId", id())
          .str("userEmail", user_email)
          .str("orderId", id())
          .str("domainId", id())
          .str("domainName", domain_name(r))
          .str("creationTime", iso_date(r, year, false))
          .str("expiryDate", iso_date(r, year + 1, false))
          .raw("price", price(r));
      break;
    }
    case 1: {  // domain.order.failed
      j.str("userId", id())
          .str("userEmail", user_email)
          .str("orderId", id())
          .str("domainName", domain_name(r))
          .str("reason", pick(r, kDomainFailures))
          .str("failedAt", iso_date(r, year, false));
      break;
    }
    case 2: {  // mailbox.order.success (complete in the docs)
      j.str("domainId", id())
          .str("domainName", domain_name(r))
          .str("userId", id())
          .str("userEmail", user_email)
          .str("subscriptionId", id())
          .str("orderId", id())
          .str("workspaceType", workspace)
          .str("creationTime", iso_date(r, year, false))
          .str("expiryDate", iso_date(r, year + 1, false))
          .raw("price", price(r))
          .raw("quantity", std::to_string(r.below(20) + 1));
      break;
    }
    case 3: {  // mailbox.order.failed
      j.str("domainId", id())
          .str("domainName", domain_name(r))
          .str("userId", id())
          .str("userEmail", user_email)
          .str("orderId", id())
          .str("workspaceType", workspace)
          .raw("quantity", std::to_string(r.below(20) + 1))
          .str("error", pick(r, kMailboxFailures));
      break;
    }
    case 4: {  // mailbox.created: full credentials and account details
      const std::string domain = domain_name(r);
      j.str("userId", id())
          .str("orderId", id())
          .str("mailboxId", id())
          .str("email", lower(first) + "." + lower(last) + "@" + domain)
          .str("firstName", first)
          .str("lastName", last)
          .str("password", password(r))
          .str("appPassword", app_password(r))
          .str("authenticatorSecret", secret(r, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
          .str("domainId", id())
          .str("domainName", domain)
          .str("subscriptionId", id())
          .str("workspaceType", workspace)
          .str("creationTime", iso_date(r, year, true));
      break;
    }
    case 5: {  // mailbox.updated: only the changed fields
      j.str("mailboxId", id()).str("userId", id()).open("updatedFields");
      j.str("firstName", first).str("lastName", last);
      if (r.below(2))
        j.str("profilePicture", "https://cdn.coldmailreseller.com/avatars/" + id() + ".png");
      j.close().str("updatedAt", iso_date(r, year, true));
      break;
    }
    case 6:    // subscription.renewal.success (newer docs' optional fields included)
    case 7:    // subscription.renewal.failed
    case 8: {  // subscription.cancelled
      j.str("userId", id())
          .str("userEmail", user_email)
          .str("subscriptionId", id())
          .str("workspaceType", workspace)
          .raw("quantity", std::to_string(r.below(50) + 1))
          .str("domainId", id())
          .str("domain", domain_name(r))
          .str("periodStart", iso_date(r, year, false))
          .str("periodEnd", iso_date(r, year + 1, false))
          .raw("autoRenew", event == 8 ? "false" : "true")
          .str("description", "Monthly mailbox subscription");
      if (event == 6)
        j.str("subscriptionStatus", "ACTIVE");
      if (event == 7) {
        j.str("subscriptionStatus", "PAST_DUE")
            .str("domainStatus", r.below(2) ? "GRACE_PERIOD" : "EXPIRED")
            .str("reason", "Insufficient wallet balance for the renewal");
      }
      if (event == 8)
        j.str("subscriptionStatus", "CANCELLED").str("cancelledAt", iso_date(r, year, false));
      break;
    }
    case 9: {  // prewarmup.order.success: one entry per domain, ~20 KB in total
      j.str("userId", id())
          .str("userEmail", user_email)
          .str("orderId", id())
          .str("serviceProvider", workspace)
          .open_array("mailboxDetails");
      const int domains = 3 + static_cast<int>(r.below(3));  // 3..5
      for (int d = 0; d < domains; ++d) {
        const std::string domain = domain_name(r);
        j.open().str("domain", domain).str("subscriptionId", id());
        j.open_array("preWarmedUpMailboxes");
        const int mailboxes = 9 + static_cast<int>(r.below(5));  // 9..13
        for (int m = 0; m < mailboxes; ++m) {
          const std::string mf(pick(r, kFirstNames));
          const std::string ml(pick(r, kLastNames));
          j.open()
              .str("mailboxId", id())
              .str("email", lower(mf) + "." + lower(ml) + "@" + domain)
              .str("firstName", mf)
              .str("lastName", ml)
              .str("profilePicture", "https://cdn.coldmailreseller.com/avatars/" + id() + ".png")
              .str("password", password(r))
              .str("appPassword", app_password(r))
              .str("authenticatorSecret", secret(r, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
              .raw("isAdmin", m == 0 ? "true" : "false")
              .str("warmingUpFrom", iso_date(r, year - 1, true))
              .str("expiryDate", iso_date(r, year + 1, true))
              .close();
        }
        j.close_array().close();
      }
      j.close_array();
      break;
    }
    case 10: {  // prewarmup.order.failed
      j.str("userId", id())
          .str("userEmail", user_email)
          .str("orderId", id())
          .str("serviceProvider", workspace)
          .open_array("failedDomains");
      const int domains = 1 + static_cast<int>(r.below(3));
      for (int d = 0; d < domains; ++d)
        j.open().str("domain", domain_name(r)).str("reason", pick(r, kMailboxFailures)).close();
      j.close_array().str("error", "Some domains could not be pre-warmed");
      break;
    }
    default:
      throw std::out_of_range("no such event");
  }
  j.close().close();
  return j.take();
}

}  // namespace cmr_bench
