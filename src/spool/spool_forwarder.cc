#include "spool/spool_forwarder.h"

#include "log/logger.h"

namespace cmr_bridge {

SpoolForwarder::SpoolForwarder(FileSpool& spool, const IngestPipeline& pipeline,
                               std::chrono::milliseconds retry_backoff)
    : spool_(spool),
      pipeline_(pipeline),
      retry_backoff_(retry_backoff),
      thread_([this] { run(); }) {}

SpoolForwarder::~SpoolForwarder() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  thread_.join();
  spool_.sync_cursor();
}

bool SpoolForwarder::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, d, [this] { return stop_.load(); });
}

void SpoolForwarder::run() {
  bool failing = false;
  while (!stop_.load()) {
    auto request = spool_.peek();
    if (!request) {
      if (!pause(std::chrono::milliseconds(20)))
        return;
      continue;
    }
    const Outcome outcome = pipeline_.forward(*request);
    if (outcome.kind == OutcomeKind::kUnavailable) {
      errors_.fetch_add(1);
      if (!failing) {
        log_warn("spool forwarding paused: Kafka unavailable", {{"code", to_string(outcome.code)}});
        failing = true;
      }
      if (!pause(retry_backoff_))
        return;
      continue;
    }
    if (failing) {
      log_info("spool forwarding resumed");
      failing = false;
    }
    spool_.pop();
    forwarded_.fetch_add(1);
    log_info("spool forwarded", {{"outcome", to_string(outcome.kind)},
                                 {"code", to_string(outcome.code)},
                                 {"event", outcome.event},
                                 {"eventId", outcome.event_id},
                                 {"topic", outcome.topic},
                                 {"partition", static_cast<int64_t>(outcome.partition)},
                                 {"offset", outcome.offset}});
  }
}

}  // namespace cmr_bridge
