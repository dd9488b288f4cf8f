// Replays the spool to Kafka in arrival order through the pipeline's idempotent path, and
// trims what was acknowledged. Owns one thread; joins on destruction (or in drain_and_stop or
// stop).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cmr_bridge/gauges.h"
#include "core/pipeline.h"
#include "spool/file_spool.h"

namespace cmr_bridge {

class SpoolForwarder final : public GaugeSource {
 public:
  SpoolForwarder(FileSpool& spool, const IngestPipeline& pipeline,
                 std::chrono::milliseconds retry_backoff = std::chrono::seconds(1));
  ~SpoolForwarder() override;
  SpoolForwarder(const SpoolForwarder&) = delete;
  SpoolForwarder& operator=(const SpoolForwarder&) = delete;

  // Shutdown, called once by the owner after the listener stopped (nothing is appended any
  // more): keeps forwarding until the spool is empty, Kafka does not acknowledge a record, or
  // `budget` has passed (a record started before then may take up to the delivery timeout to
  // finish), then stops the thread. Logs "spool drained" or "spool left records" with the
  // count, and returns the records left on disk for the next start.
  std::size_t drain_and_stop(std::chrono::milliseconds budget);

  uint64_t forwarded() const { return forwarded_.load(); }
  uint64_t errors() const { return errors_.load(); }  // attempts Kafka did not acknowledge
  // errors(); still readable after the thread stopped.
  void report_gauges(GaugeSink& sink) const override;

  // Stops after the current record without draining (the spool keeps the rest, fsync'd) and
  // joins the thread. Idempotent; owner's thread only.
  void stop();

 private:
  void run();
  bool pause(std::chrono::milliseconds d);
  void stop_thread();

  FileSpool& spool_;
  const IngestPipeline& pipeline_;
  std::chrono::milliseconds retry_backoff_;
  std::atomic<bool> stop_{false};
  // Set by drain_and_stop: run() forwards without back-off and ends when the spool is empty,
  // Kafka fails, or the deadline passes.
  std::atomic<bool> draining_{false};
  std::chrono::steady_clock::time_point drain_deadline_;  // written before draining_ is set
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> forwarded_{0};
  std::atomic<uint64_t> errors_{0};
  std::thread thread_;
};

}  // namespace cmr_bridge
