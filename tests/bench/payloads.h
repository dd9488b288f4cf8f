// Realistic CMR webhook bodies (shared/reference/cmr-webhooks.md) for the load generator: all
// 11 documented events, unique eventIds, prewarmup.order.success of ~20 KB.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cmr_bench {

inline constexpr std::array<std::string_view, 11> kEvents = {
    "domain.order.success",
    "domain.order.failed",
    "mailbox.order.success",
    "mailbox.order.failed",
    "mailbox.created",
    "mailbox.updated",
    "subscription.renewal.success",
    "subscription.renewal.failed",
    "subscription.cancelled",
    "prewarmup.order.success",
    "prewarmup.order.failed",
};

// Relative weights per event (index into kEvents). The default favours mailbox.created (one per
// mailbox) and keeps ~6 % prewarmup.order.success, the large one.
struct Mix {
  std::array<double, kEvents.size()> weights{};
  static Mix defaults();
  // "event=weight,event=weight,..." (unlisted events get 0); "uniform" = all 1. Empty error on
  // success, else the problem.
  static Mix parse(std::string_view spec, std::string* error);
  std::string describe() const;
};

// splitmix64: small, fast, good enough for payload variety. Not thread-safe: one per thread.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, n).
  uint64_t below(uint64_t n) { return next() % n; }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// One per connection thread. eventIds are 28-character Crockford base32 strings made of the
// run prefix, the connection number and a sequence number, so they are unique within a run
// and, with a fresh run prefix, across runs.
class PayloadFactory {
 public:
  PayloadFactory(uint64_t seed, std::string_view run_prefix, int connection, Mix mix);

  int pick_event();
  // Builds a body for kEvents[event] with a fresh eventId (returned in *event_id).
  std::string make(int event, std::string* event_id);

 private:
  std::string id();
  std::string next_event_id();

  Rng rng_;
  std::string prefix_;  // run prefix (6) + connection (3)
  uint64_t sequence_ = 0;
  Mix mix_;
  double total_weight_ = 0;
};

// Bodies are built from fixed vocabularies plus random ids, secrets and dates; no escaping is
// ever needed. Exposed for the self-test and the ProducerPerformance payload file.
std::string crockford(uint64_t value, int digits);

}  // namespace cmr_bench
