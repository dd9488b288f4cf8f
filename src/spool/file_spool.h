// The durable local spool: append-only segment files of checksummed frames
// (core/spool_codec.h), fsync'd with group commit before a request is acknowledged, and read
// back in arrival order by the forwarder.
//
// Threads: append() from any request thread; read_next()/commit_oldest() from the single
// forwarder thread; stats() from anywhere.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cmr_bridge/gauges.h"
#include "cmr_bridge/result.h"
#include "cmr_bridge/spool.h"

namespace cmr_bridge {

struct SpoolSettings {
  std::string dir;
  std::size_t max_bytes = 1024ull * 1024 * 1024;  // unforwarded bytes; beyond → kFull
  std::size_t segment_bytes = 64ull * 1024 * 1024;
  // Makes a segment's written data durable: 0 on success, else -1 with errno set. Empty means
  // ::fdatasync. A seam for tests that inject write-back errors; called without the spool's
  // state lock, from whichever append thread leads the group commit.
  std::function<int(int fd)> sync_data = nullptr;
};

struct SpoolStats {
  std::size_t bytes = 0;                                        // unforwarded bytes on disk
  std::size_t records = 0;                                      // unforwarded records
  std::optional<std::chrono::system_clock::time_point> oldest;  // received time of the next
  uint64_t append_failures = 0;                                 // failed writes and failed syncs
  uint64_t sync_failures = 0;  // failed syncs alone (each one abandons its segment)
  bool accepting = true;       // false after a failed sync until a fresh segment verified
};

struct SpoolRecovery {
  std::size_t records = 0;     // unforwarded records found at open
  std::size_t torn_bytes = 0;  // bytes cut from segment tails (torn or corrupt writes)
};

class FileSpool final : public Spool, public GaugeSource {
 public:
  // Creates the directory when missing; recovers what a previous process left (cutting torn
  // tails). nullptr with `error` naming the path when the directory cannot be used.
  static Result<std::unique_ptr<FileSpool>> open(const SpoolSettings& settings);
  ~FileSpool() override;
  FileSpool(const FileSpool&) = delete;
  FileSpool& operator=(const FileSpool&) = delete;

  SpoolAppendResult append(const SpooledRequest& request) override;
  bool backlogged() const override { return pending_records_.load() > 0; }

  // Read-ahead: the record after the last one read, in arrival order; nullopt when every
  // synced record has been read. Reading does not forward: a record stays in the spool (and in
  // the backlog) until it is committed. Forwarder only.
  std::optional<SpooledRequest> read_next();
  // Commits the oldest record read and not yet committed: the spool head moves past it (its
  // bytes leave the backlog; its segment is deleted once every record in it is committed).
  // Commits are in arrival order by construction. No-op when nothing read is uncommitted.
  // Forwarder only.
  void commit_oldest();
  // Persists the commit position durably (also done periodically by commit_oldest()).
  void sync_cursor();

  SpoolStats stats() const;
  // stats(), with the oldest record's age measured against the system clock now.
  void report_gauges(GaugeSink& sink) const override;
  SpoolRecovery recovery() const { return recovery_; }

 private:
  // Only the first `durable_size` bytes (`durable_records` frames) are known to be on disk;
  // the forwarder reads no further. Every segment but the last is wholly durable.
  struct Segment {
    uint64_t id = 0;
    std::string path;
    std::size_t size = 0;
    std::size_t durable_size = 0;
    std::size_t records = 0;
    std::size_t durable_records = 0;
    std::size_t pending = 0;  // frames not yet forwarded
  };
  // Sequence numbers [first, last] of appends that a failed sync left not durable.
  struct FailedRange {
    uint64_t first = 0;
    uint64_t last = 0;
  };
  // A span read ahead of the commit position: one record, or (record == false) the unreadable
  // rest of a segment, which is committed together with the record before it.
  struct ReadSpan {
    uint64_t segment = 0;
    std::size_t size = 0;
    bool record = true;
    std::chrono::system_clock::time_point received;
  };
  struct FileHandle;
  explicit FileSpool(SpoolSettings settings);
  Status recover();
  Status open_segment_for_append(uint64_t id);  // requires mutex_
  int sync_data(int fd) const;
  // Every append since the last good sync is not durable: cut it from the segment, abandon the
  // segment and stop accepting until restore_after_sync_failure() succeeds. Requires mutex_.
  void on_sync_failure(int error);
  // Opens a fresh segment and syncs it and the directory. Requires mutex_.
  bool restore_after_sync_failure();
  bool failed_seq(uint64_t seq) const;  // requires mutex_
  void mark_durable(uint64_t segment_id, std::size_t size, std::size_t records,
                    uint64_t seq);                             // requires mutex_
  void forget_pending(Segment& segment, std::size_t records);  // requires mutex_
  Segment* segment_by_id(uint64_t id);                         // requires mutex_
  // Moves the commit position past `span`, deleting the segments it leaves. Requires mutex_.
  void commit_span(const ReadSpan& span);
  // Commits the unreadable spans at the front of read_spans_. Requires mutex_.
  void commit_leading_skips();
  void write_cursor(bool durable);  // requires mutex_
  std::string segment_path(uint64_t id) const;

  SpoolSettings settings_;
  mutable std::mutex mutex_;
  std::deque<Segment> segments_;  // oldest first; back() is the one appended to
  std::shared_ptr<FileHandle> writer_;
  // Commit position: everything before it was forwarded (persisted in the cursor file).
  uint64_t cursor_segment_ = 0;
  std::size_t cursor_offset_ = 0;
  // Read-ahead position; equals the commit position while read_spans_ is empty.
  uint64_t read_segment_ = 0;
  std::size_t read_offset_ = 0;
  std::deque<ReadSpan> read_spans_;  // read, not yet committed; oldest first
  std::optional<std::chrono::system_clock::time_point> oldest_;
  std::size_t pending_bytes_ = 0;
  std::atomic<std::size_t> pending_records_{0};
  uint64_t commits_since_sync_ = 0;
  uint64_t append_failures_ = 0;
  uint64_t sync_failures_ = 0;
  bool accepting_ = true;
  std::deque<FailedRange> failed_ranges_;  // oldest first; guarded by mutex_

  std::mutex sync_mutex_;     // serializes fsync calls (group commit)
  uint64_t written_seq_ = 0;  // guarded by mutex_
  // Every append numbered up to here was covered by a sync, which succeeded unless the number
  // is in failed_ranges_. Guarded by mutex_.
  uint64_t synced_seq_ = 0;
  SpoolRecovery recovery_;
};

}  // namespace cmr_bridge
