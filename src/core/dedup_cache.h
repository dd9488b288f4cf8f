// Bounded memory of eventIds already published, for idempotency. Stores a 128-bit hash of
// each eventId (never the string), a 64-bit fingerprint of the body, and when it was first
// seen: 32 bytes per entry in an insertion-ordered ring plus a 4-byte open-addressing index
// slot (load ≤ 0.75), so ≤ 40 bytes per entry at capacity.
//
// Thread-safe: every method may be called from any thread. claim_or_wait() blocks the caller
// (bounded by its deadline) while another request holds the same eventId.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cmr_bridge/clock.h"
#include "cmr_bridge/codes.h"
#include "cmr_bridge/gauges.h"

namespace cmr_bridge {

struct EventKey {
  uint64_t hi = 0;
  uint64_t lo = 0;
  friend bool operator==(const EventKey&, const EventKey&) = default;
};

// First 128 bits of SHA-256(eventId): the same in every process, so replicas and restarts
// agree on identity.
EventKey event_key(std::string_view event_id);
// First 64 bits of SHA-256(body).
uint64_t body_fingerprint(std::string_view body);
// The fingerprint as 16 hex digits: the first 8 bytes of SHA-256(body) in digest order, i.e.
// what `sha256sum | cut -c1-16` prints. nullopt when `hex` is not 16 hex digits.
std::string fingerprint_to_hex(uint64_t fingerprint);
std::optional<uint64_t> fingerprint_from_hex(std::string_view hex);

struct DedupSettings {
  std::size_t capacity = 5'000'000;
  std::chrono::seconds ttl{7 * 24 * 3600};
};

class DedupCache final : public GaugeSource {
 public:
  DedupCache(DedupSettings settings, const Clock& clock);
  ~DedupCache() override;
  DedupCache(const DedupCache&) = delete;
  DedupCache& operator=(const DedupCache&) = delete;

  // Claims `key` for publishing. While another request holds it with the same body, waits
  // until that one completes (→ kDuplicate), releases (→ the caller claims it) or
  // `deadline` passes (→ kInFlight).
  DedupResult claim_or_wait(const EventKey& key, uint64_t body,
                            std::chrono::steady_clock::time_point deadline);
  // Without claiming: kDuplicate / kConflict when `key` is remembered as done, else nullopt.
  std::optional<DedupResult> lookup_done(const EventKey& key, uint64_t body) const;
  // The holder's publish was acknowledged: remember it as done.
  void complete(const EventKey& key, uint64_t body);
  // The holder's publish failed: forget the claim so a retry can succeed.
  void release(const EventKey& key);
  // A done marker learned from elsewhere (the dedup topic). Idempotent.
  void insert_done(const EventKey& key, uint64_t body,
                   std::chrono::system_clock::time_point first_seen);

  std::size_t size() const;  // done entries held (expired ones may linger until evicted)
  std::size_t capacity() const { return settings_.capacity; }
  std::size_t in_flight() const;  // claims currently held
  // Bytes reserved for entries and index (the ring is committed by the OS as it fills).
  std::size_t reserved_bytes() const;
  // Entries (size()) and claims held (in_flight()).
  void report_gauges(GaugeSink& sink) const override;

 private:
  struct Entry {
    uint64_t hi;
    uint64_t lo;
    uint64_t body;
    uint32_t seen_s;  // Unix seconds (fits until 2106)
    uint32_t unused;
  };
  static_assert(sizeof(Entry) == 32);
  struct KeyHash {
    std::size_t operator()(const EventKey& k) const { return static_cast<std::size_t>(k.lo); }
  };

  // All private helpers require mutex_ held.
  const Entry* find_done(const EventKey& key, uint32_t now_s) const;
  void insert_locked(const EventKey& key, uint64_t body, uint32_t seen_s, uint32_t now_s);
  void evict_oldest();
  std::size_t index_find(const EventKey& key) const;  // slot in index_, or npos
  void index_erase(std::size_t slot);
  uint32_t now_seconds() const;

  DedupSettings settings_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable resolved_;
  std::unique_ptr<Entry[]> ring_;  // insertion order; [head_, head_ + count_) mod capacity
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  uint32_t* index_ = nullptr;  // calloc'd: 0 = empty, else ring position + 1
  std::size_t index_mask_ = 0;
  std::unordered_map<EventKey, uint64_t, KeyHash> held_;  // claims in flight → body
};

}  // namespace cmr_bridge
