// Replays the spool to Kafka through the pipeline's idempotent path, many records at a time,
// and commits (trims) what was acknowledged, strictly in spool order.
//
// Ordering rule: records are read ahead into a window of at most `window` uncommitted records
// (and kWindowBytes of bodies). A record is sent only when no earlier record in the window with
// the same ordering key is unfinished or failed; the ordering key is the destination topic and
// Kafka key of its record, and separately its eventId. So two records of one key are never in
// flight together, and a later record can never overtake an earlier one of its key that
// failed — whatever the producer does with retries, timeouts or epoch bumps. Records of other
// keys proceed meanwhile. The spool head advances only over a prefix of finished records.
//
// A transient failure (Kafka unavailable, the eventId in flight elsewhere) stops the window:
// nothing new is sent, the records in flight finish, and after the back-off the oldest
// unfinished record is retried alone; the window reopens once it is acknowledged. Records that
// were already delivered stay finished in memory and are never sent again (a restart that
// replays them finds their dedup markers and answers them as duplicates).
//
// Threads: one dispatcher thread plus `window` workers, each running the pipeline's blocking
// publish for one record. All join in stop(), drain_and_stop() or on destruction.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cmr_bridge/gauges.h"
#include "core/pipeline.h"
#include "spool/file_spool.h"

namespace cmr_bridge {

struct SpoolForwarderSettings {
  // Uncommitted records at most (read ahead, in flight, or finished behind an unfinished one);
  // also the number of worker threads. 1 forwards one Kafka round trip at a time.
  std::size_t window = 64;
  std::chrono::milliseconds retry_backoff{1000};
  // True once publishing may start: the dedup marker topic was read to its end and the topics'
  // metadata is known. Polled by the dispatcher; empty means at once. Must be thread-safe.
  std::function<bool()> ready_to_publish;
};

class SpoolForwarder final : public GaugeSource {
 public:
  // Bodies held by the window at most, besides `window` (at least one record is always read).
  static constexpr std::size_t kWindowBytes = 32ull * 1024 * 1024;

  SpoolForwarder(FileSpool& spool, const IngestPipeline& pipeline, SpoolForwarderSettings settings);
  ~SpoolForwarder() override;
  SpoolForwarder(const SpoolForwarder&) = delete;
  SpoolForwarder& operator=(const SpoolForwarder&) = delete;

  // Shutdown, called once by the owner after the listener stopped (nothing is appended any
  // more): keeps forwarding until the spool is empty, Kafka does not acknowledge a record, or
  // `budget` has passed (records sent before then may take up to the delivery timeout to
  // finish), then stops the threads. Waits for publishing to be ready within `budget`. Logs
  // "spool drained" or "spool left records" with the count, and returns the records left on
  // disk for the next start.
  std::size_t drain_and_stop(std::chrono::milliseconds budget);

  uint64_t forwarded() const { return forwarded_.load(); }  // records committed
  uint64_t errors() const { return errors_.load(); }        // attempts Kafka did not acknowledge
  // Most records that were in flight together since start (for tests and the benchmark).
  std::size_t peak_in_flight() const { return peak_in_flight_.load(); }
  // errors(); still readable after the threads stopped.
  void report_gauges(GaugeSink& sink) const override;

  // Sends nothing more, lets the records in flight finish (bounded by the delivery timeout),
  // commits what finished in order (the rest stays in the spool, fsync'd) and joins the
  // threads. Idempotent; owner's thread only.
  void stop();

 private:
  struct Entry;
  void run();
  void work();
  bool wait_until_ready();
  bool pause(std::chrono::milliseconds d);
  void stop_threads();
  // The steps of run(); all require mutex_ held by `lock`.
  void fill(std::unique_lock<std::mutex>& lock);
  void dispatch();
  void commit_finished(std::unique_lock<std::mutex>& lock);
  void retry_failed();

  FileSpool& spool_;
  const IngestPipeline& pipeline_;
  SpoolForwarderSettings settings_;
  std::atomic<bool> stop_{false};
  // Set by drain_and_stop: run() forwards without back-off and ends when the spool is empty,
  // Kafka fails, or the deadline passes.
  std::atomic<bool> draining_{false};
  std::chrono::steady_clock::time_point drain_deadline_;  // written before draining_ is set

  std::mutex mutex_;
  std::condition_variable wake_;  // the dispatcher: a record finished, a stop or a drain
  std::condition_variable work_;  // the workers: a record to send, or the end
  // Guarded by mutex_ (the entries' state and outcome too). Oldest first; front() is the
  // oldest uncommitted record of the spool.
  std::deque<std::unique_ptr<Entry>> window_;
  std::deque<Entry*> jobs_;  // sent, not yet picked up by a worker
  std::size_t window_bytes_ = 0;
  std::size_t in_flight_ = 0;
  uint64_t completions_ = 0;  // records finished or failed, ever
  bool halted_ = false;       // a failure stopped the window: send nothing until the back-off ends
  bool probing_ = false;      // after the back-off: only the oldest record until one is delivered
  bool failing_ = false;      // logged "paused", not yet "resumed"
  bool failed_in_drain_ = false;  // the last failure came after drain_and_stop began
  bool workers_exit_ = false;

  std::atomic<uint64_t> forwarded_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<std::size_t> peak_in_flight_{0};
  std::vector<std::thread> workers_;
  std::thread dispatcher_;
};

}  // namespace cmr_bridge
