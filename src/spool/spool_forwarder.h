// Replays the spool to Kafka in arrival order through the pipeline's idempotent path, and
// trims what was acknowledged. Owns one thread; joins on destruction.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/pipeline.h"
#include "spool/file_spool.h"

namespace cmr_bridge {

class SpoolForwarder {
 public:
  SpoolForwarder(FileSpool& spool, const IngestPipeline& pipeline,
                 std::chrono::milliseconds retry_backoff = std::chrono::seconds(1));
  ~SpoolForwarder();
  SpoolForwarder(const SpoolForwarder&) = delete;
  SpoolForwarder& operator=(const SpoolForwarder&) = delete;

  uint64_t forwarded() const { return forwarded_.load(); }
  uint64_t errors() const { return errors_.load(); }  // attempts Kafka did not acknowledge

 private:
  void run();
  bool pause(std::chrono::milliseconds d);

  FileSpool& spool_;
  const IngestPipeline& pipeline_;
  std::chrono::milliseconds retry_backoff_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> forwarded_{0};
  std::atomic<uint64_t> errors_{0};
  std::thread thread_;
};

}  // namespace cmr_bridge
