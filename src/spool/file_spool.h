// The durable local spool: append-only segment files of checksummed frames
// (core/spool_codec.h), fsync'd with group commit before a request is acknowledged, and read
// back in arrival order by the forwarder.
//
// Threads: append() from any request thread; peek()/pop() from the single forwarder thread;
// stats() from anywhere.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cmr_bridge/spool.h"

namespace cmr_bridge {

struct SpoolSettings {
  std::string dir;
  std::size_t max_bytes = 1024ull * 1024 * 1024;  // unforwarded bytes; beyond → kFull
  std::size_t segment_bytes = 64ull * 1024 * 1024;
};

struct SpoolStats {
  std::size_t bytes = 0;                                        // unforwarded bytes on disk
  std::size_t records = 0;                                      // unforwarded records
  std::optional<std::chrono::system_clock::time_point> oldest;  // received time of the next
  uint64_t append_failures = 0;
};

struct SpoolRecovery {
  std::size_t records = 0;     // unforwarded records found at open
  std::size_t torn_bytes = 0;  // bytes cut from segment tails (torn or corrupt writes)
};

class FileSpool final : public Spool {
 public:
  // Creates the directory when missing; recovers what a previous process left (cutting torn
  // tails). nullptr with `error` naming the path when the directory cannot be used.
  static std::unique_ptr<FileSpool> open(const SpoolSettings& settings, std::string* error);
  ~FileSpool() override;
  FileSpool(const FileSpool&) = delete;
  FileSpool& operator=(const FileSpool&) = delete;

  SpoolAppendResult append(const SpooledRequest& request) override;
  bool backlogged() const override { return pending_records_.load() > 0; }

  // The next unforwarded record, in arrival order; nullopt when drained. Forwarder only.
  std::optional<SpooledRequest> peek();
  // Marks the record returned by the last peek() as forwarded. Forwarder only.
  void pop();
  // Persists the read position durably (also done periodically by pop()).
  void sync_cursor();

  SpoolStats stats() const;
  SpoolRecovery recovery() const { return recovery_; }

 private:
  struct Segment {
    uint64_t id = 0;
    std::string path;
    std::size_t size = 0;
  };
  struct FileHandle;
  explicit FileSpool(SpoolSettings settings);
  bool recover(std::string* error);
  bool open_segment_for_append(uint64_t id, std::string* error);  // requires mutex_
  void write_cursor(bool durable);                                // requires mutex_
  std::string segment_path(uint64_t id) const;

  SpoolSettings settings_;
  mutable std::mutex mutex_;
  std::deque<Segment> segments_;  // oldest first; back() is the one appended to
  std::shared_ptr<FileHandle> writer_;
  uint64_t cursor_segment_ = 0;
  std::size_t cursor_offset_ = 0;
  std::size_t peeked_size_ = 0;
  std::optional<std::chrono::system_clock::time_point> oldest_;
  std::size_t pending_bytes_ = 0;
  std::atomic<std::size_t> pending_records_{0};
  uint64_t pops_since_sync_ = 0;
  uint64_t append_failures_ = 0;

  std::mutex sync_mutex_;     // serializes fsync calls (group commit)
  uint64_t written_seq_ = 0;  // guarded by mutex_
  std::atomic<uint64_t> synced_seq_{0};
  SpoolRecovery recovery_;
};

}  // namespace cmr_bridge
