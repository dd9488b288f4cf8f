#include "core/dedup_cache.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "core/encoding.h"

namespace cmr_bridge {
namespace {

constexpr std::size_t kNotFound = static_cast<std::size_t>(-1);

// Fetched once: with OpenSSL 3, EVP_sha256() in EVP_Digest looks the algorithm up in the
// provider store on every call, which cost more than hashing a 28-byte eventId.
const EVP_MD* fetched_sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

std::array<unsigned char, 32> sha256(std::string_view data) {
  // One context per thread, reset by each init: no allocation per hash.
  thread_local const std::unique_ptr<EVP_MD_CTX, DigestContextDeleter> ctx(EVP_MD_CTX_new());
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  const EVP_MD* md = fetched_sha256();
  if (!ctx || md == nullptr || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) != 1) {
    // Unreachable unless this OpenSSL lacks SHA-256: the one-shot call, as before.
    EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
  }
  return digest;
}

uint64_t load64(const unsigned char* p) {
  uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::size_t index_size_for(std::size_t capacity) {
  std::size_t size = 16;
  while (size * 3 < capacity * 4)
    size <<= 1;  // load factor ≤ 0.75
  return size;
}

}  // namespace

EventKey event_key(std::string_view event_id) {
  const auto digest = sha256(event_id);
  return {load64(digest.data()), load64(digest.data() + 8)};
}

uint64_t body_fingerprint(std::string_view body) {
  return load64(sha256(body).data());
}

std::string fingerprint_to_hex(uint64_t fingerprint) {
  unsigned char bytes[8];
  std::memcpy(bytes, &fingerprint, sizeof bytes);
  return hex_encode(bytes, sizeof bytes);
}

std::optional<uint64_t> fingerprint_from_hex(std::string_view hex) {
  if (hex.size() != 16)
    return std::nullopt;
  const auto bytes = hex_decode(hex);
  if (!bytes)
    return std::nullopt;
  return load64(bytes->data());
}

DedupCache::DedupCache(DedupSettings settings, const Clock& clock)
    : settings_(settings), clock_(clock) {
  if (settings_.capacity == 0)
    settings_.capacity = 1;
  // Uninitialized on purpose: pages are committed only as the ring fills.
  ring_.reset(new Entry[settings_.capacity]);
  const std::size_t slots = index_size_for(settings_.capacity);
  index_ = static_cast<uint32_t*>(std::calloc(slots, sizeof(uint32_t)));
  if (index_ == nullptr)
    throw std::bad_alloc();
  index_mask_ = slots - 1;
}

DedupCache::~DedupCache() {
  std::free(index_);
}

uint32_t DedupCache::now_seconds() const {
  return static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count());
}

std::size_t DedupCache::index_find(const EventKey& key) const {
  for (std::size_t slot = key.lo & index_mask_;; slot = (slot + 1) & index_mask_) {
    const uint32_t ref = index_[slot];
    if (ref == 0)
      return kNotFound;
    const Entry& e = ring_[ref - 1];
    if (e.hi == key.hi && e.lo == key.lo)
      return slot;
  }
}

void DedupCache::index_erase(std::size_t slot) {
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  std::size_t hole = slot;
  for (std::size_t next = (hole + 1) & index_mask_;; next = (next + 1) & index_mask_) {
    const uint32_t ref = index_[next];
    if (ref == 0)
      break;
    const std::size_t home = ring_[ref - 1].lo & index_mask_;
    // Move `next` into the hole when its home is not in (hole, next] (cyclically).
    const bool home_between =
        hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (!home_between) {
      index_[hole] = ref;
      hole = next;
    }
  }
  index_[hole] = 0;
}

const DedupCache::Entry* DedupCache::find_done(const EventKey& key, uint32_t now_s) const {
  const std::size_t slot = index_find(key);
  if (slot == kNotFound)
    return nullptr;
  const Entry& e = ring_[index_[slot] - 1];
  if (now_s >= e.seen_s && now_s - e.seen_s > settings_.ttl.count())
    return nullptr;  // expired
  return &e;
}

void DedupCache::evict_oldest() {
  const Entry& oldest = ring_[head_];
  const std::size_t slot = index_find({oldest.hi, oldest.lo});
  if (slot != kNotFound && index_[slot] - 1 == head_)
    index_erase(slot);
  head_ = (head_ + 1) % settings_.capacity;
  --count_;
}

void DedupCache::insert_locked(const EventKey& key, uint64_t body, uint32_t seen_s,
                               uint32_t now_s) {
  // Expired entries leave from the head first, then the oldest makes room when full.
  while (count_ > 0 && now_s >= ring_[head_].seen_s &&
         now_s - ring_[head_].seen_s > settings_.ttl.count()) {
    evict_oldest();
  }
  const std::size_t existing = index_find(key);
  if (existing != kNotFound) {
    const Entry& known = ring_[index_[existing] - 1];
    const bool expired = now_s >= known.seen_s && now_s - known.seen_s > settings_.ttl.count();
    if (!expired)
      return;  // already known (replayed marker of our own event)
    // Expired but still in the ring behind newer entries (markers keep their original receive
    // time). Unindex it; its ring slot stays until evicted, and evict_oldest() only unindexes
    // a slot whose index entry still points at it.
    index_erase(existing);
  }
  if (count_ == settings_.capacity)
    evict_oldest();
  const std::size_t position = (head_ + count_) % settings_.capacity;
  ring_[position] = Entry{key.hi, key.lo, body, seen_s, 0};
  ++count_;
  std::size_t slot = key.lo & index_mask_;
  while (index_[slot] != 0)
    slot = (slot + 1) & index_mask_;
  index_[slot] = static_cast<uint32_t>(position + 1);
}

DedupResult DedupCache::claim_or_wait(const EventKey& key, uint64_t body,
                                      std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  while (true) {
    if (const Entry* done = find_done(key, now_seconds())) {
      return done->body == body ? DedupResult::kDuplicate : DedupResult::kConflict;
    }
    const auto held = held_.find(key);
    if (held == held_.end()) {
      held_.emplace(key, body);
      return DedupResult::kClaimed;
    }
    if (held->second != body)
      return DedupResult::kConflict;
    if (resolved_.wait_until(lock, deadline) == std::cv_status::timeout &&
        std::chrono::steady_clock::now() >= deadline) {
      // One last look: the holder may have resolved right at the deadline.
      if (const Entry* done = find_done(key, now_seconds())) {
        return done->body == body ? DedupResult::kDuplicate : DedupResult::kConflict;
      }
      if (held_.find(key) == held_.end()) {
        held_.emplace(key, body);
        return DedupResult::kClaimed;
      }
      return DedupResult::kInFlight;
    }
  }
}

std::optional<DedupResult> DedupCache::lookup_done(const EventKey& key, uint64_t body) const {
  std::lock_guard lock(mutex_);
  const Entry* done = find_done(key, now_seconds());
  if (done == nullptr)
    return std::nullopt;
  return done->body == body ? DedupResult::kDuplicate : DedupResult::kConflict;
}

void DedupCache::complete(const EventKey& key, uint64_t body) {
  {
    std::lock_guard lock(mutex_);
    held_.erase(key);
    const uint32_t now_s = now_seconds();
    insert_locked(key, body, now_s, now_s);
  }
  resolved_.notify_all();
}

void DedupCache::release(const EventKey& key) {
  {
    std::lock_guard lock(mutex_);
    held_.erase(key);
  }
  resolved_.notify_all();
}

void DedupCache::insert_done(const EventKey& key, uint64_t body,
                             std::chrono::system_clock::time_point first_seen) {
  const auto seen = std::chrono::duration_cast<std::chrono::seconds>(first_seen.time_since_epoch());
  std::lock_guard lock(mutex_);
  const uint32_t now_s = now_seconds();
  const uint32_t seen_s = static_cast<uint32_t>(std::max<int64_t>(0, seen.count()));
  if (now_s >= seen_s && now_s - seen_s > settings_.ttl.count())
    return;  // already expired
  insert_locked(key, body, seen_s, now_s);
}

std::size_t DedupCache::size() const {
  std::lock_guard lock(mutex_);
  return count_;
}

std::size_t DedupCache::in_flight() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

void DedupCache::report_gauges(GaugeSink& sink) const {
  sink.set(Gauge::kDedupEntries, static_cast<double>(size()));
  sink.set(Gauge::kDedupInFlight, static_cast<double>(in_flight()));
}

std::size_t DedupCache::reserved_bytes() const {
  return settings_.capacity * sizeof(Entry) + (index_mask_ + 1) * sizeof(uint32_t);
}

}  // namespace cmr_bridge
