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
  stop();
}

void SpoolForwarder::stop_thread() {
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
  spool_.sync_cursor();
}

void SpoolForwarder::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true);
  }
  stop_thread();
}

void SpoolForwarder::report_gauges(GaugeSink& sink) const {
  sink.set(Gauge::kSpoolForwarderErrors, static_cast<double>(errors()));
}

std::size_t SpoolForwarder::drain_and_stop(std::chrono::milliseconds budget) {
  const auto started = std::chrono::steady_clock::now();
  const uint64_t forwarded_before = forwarded_.load();
  {
    std::lock_guard lock(mutex_);
    drain_deadline_ = started + budget;
    draining_.store(true);
  }
  stop_thread();
  const std::size_t left = spool_.stats().records;
  const auto took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  if (left == 0) {
    log_info("spool drained",
             {{"forwarded", static_cast<int64_t>(forwarded_.load() - forwarded_before)},
              {"took_ms", static_cast<int64_t>(took_ms)}});
  } else {
    log_warn("spool left records",
             {{"records", static_cast<int64_t>(left)},
              {"forwarded", static_cast<int64_t>(forwarded_.load() - forwarded_before)},
              {"bytes", static_cast<int64_t>(spool_.stats().bytes)},
              {"took_ms", static_cast<int64_t>(took_ms)}});
  }
  return left;
}

// False when the wait ended for a stop; true after the back-off or when a drain began (the
// loop then forwards at once).
bool SpoolForwarder::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, d, [this] { return stop_.load() || draining_.load(); });
  return !stop_.load();
}

void SpoolForwarder::run() {
  bool failing = false;
  while (!stop_.load()) {
    const bool draining = draining_.load();
    if (draining && std::chrono::steady_clock::now() >= drain_deadline_)
      return;
    auto request = spool_.peek();
    if (!request) {
      if (draining || !pause(std::chrono::milliseconds(20)))
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
      if (draining_.load() || !pause(retry_backoff_))
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
