#include "spool/spool_forwarder.h"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "log/logger.h"
#include "log/thread_name.h"

namespace cmr_bridge {
namespace {

// The outcomes after which the same record is tried again later: Kafka did not acknowledge
// (or the record could not be prepared), or a live request is publishing the same eventId.
bool retry_later(const Outcome& outcome) {
  // A record Kafka refuses for good, dead letter included, leaves the spool only once the
  // quarantine holds it (code quarantined). Without a quarantine (code unpublishable) it stays,
  // as if Kafka were away: the spool never drops a record it answered 200 for.
  return outcome.kind == OutcomeKind::kUnavailable || outcome.kind == OutcomeKind::kInFlight ||
         outcome.code == OutcomeCode::kUnpublishable;
}

// Where the decision writes, as "<topic>\n<key>"; empty when it writes nothing or its record
// has no key (keyless records have no order to keep).
std::string order_key(const Decision& decision) {
  const Record* record = nullptr;
  if (const auto* publish = std::get_if<PublishDecision>(&decision))
    record = &publish->record;
  else if (const auto* dead = std::get_if<DeadLetterDecision>(&decision))
    record = &dead->record;
  if (record == nullptr || record->key.empty())
    return {};
  return record->topic + "\n" + record->key;
}

}  // namespace

struct SpoolForwarder::Entry {
  enum class State {
    kReady,     // read, not sent (or failed, and the back-off ended)
    kSent,      // queued for or held by a worker
    kFinished,  // a final outcome: committed once every earlier record is
    kFailed,    // to be retried after the back-off
  };
  SpooledRequest request;    // owns the bytes that `verified` points into
  VerifiedRequest verified;  // views into `request`
  Decision decision;
  std::string order_key;
  std::string event_id;
  State state = State::kReady;
  Outcome outcome;  // written by the worker that sent it
};

SpoolForwarder::SpoolForwarder(FileSpool& spool, const IngestPipeline& pipeline,
                               SpoolForwarderSettings settings)
    : spool_(spool), pipeline_(pipeline), settings_(std::move(settings)) {
  settings_.window = std::max<std::size_t>(settings_.window, 1);
  for (std::size_t i = 0; i < settings_.window; ++i)
    workers_.emplace_back([this] {
      name_this_thread("spool-forward");
      work();
    });
  dispatcher_ = std::thread([this] {
    name_this_thread("spool-dispatch");
    run();
  });
}

SpoolForwarder::~SpoolForwarder() {
  stop();
}

void SpoolForwarder::stop_threads() {
  wake_.notify_all();
  if (dispatcher_.joinable())
    dispatcher_.join();
  {
    std::lock_guard lock(mutex_);
    workers_exit_ = true;
  }
  work_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable())
      worker.join();
  }
  spool_.sync_cursor();
}

void SpoolForwarder::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true);
  }
  stop_threads();
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
  stop_threads();
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

// Logs `spool forwarding starts` exactly once per run, whether or not it had to wait: operators
// and the tests read it as "from here on, spooled records are published".
bool SpoolForwarder::wait_until_ready() {
  if (!settings_.ready_to_publish || settings_.ready_to_publish()) {
    log_info("spool forwarding starts",
             {{"records", static_cast<int64_t>(spool_.stats().records)}});
    return true;
  }
  log_info("spool forwarding waits for the dedup warm-up and the topics' metadata",
           {{"records", static_cast<int64_t>(spool_.stats().records)}});
  while (!settings_.ready_to_publish()) {
    std::unique_lock lock(mutex_);
    // A drain waits within its budget (Kafka may just have come back); after it, the records
    // stay on disk for the next start.
    if (draining_.load() && std::chrono::steady_clock::now() >= drain_deadline_)
      return false;
    if (wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stop_.load(); }))
      return false;
  }
  log_info("spool forwarding starts", {{"records", static_cast<int64_t>(spool_.stats().records)}});
  return true;
}

void SpoolForwarder::work() {
  while (true) {
    Entry* entry = nullptr;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [this] { return workers_exit_ || !jobs_.empty(); });
      if (jobs_.empty())
        return;
      entry = jobs_.front();
      jobs_.pop_front();
    }
    // The dispatcher keeps `entry` (and what it points into) alive while it is kSent.
    Outcome outcome = pipeline_.publish_once(entry->decision, entry->verified);
    {
      std::lock_guard lock(mutex_);
      const bool failed = retry_later(outcome);
      if (failed) {
        errors_.fetch_add(1);
        halted_ = true;
        failed_in_drain_ = draining_.load();
        if (!failing_) {
          log_warn("spool forwarding paused: Kafka unavailable",
                   {{"code", to_string(outcome.code)}});
          failing_ = true;
        }
      } else {
        probing_ = false;
        if (failing_) {
          log_info("spool forwarding resumed");
          failing_ = false;
        }
      }
      entry->outcome = std::move(outcome);
      entry->state = failed ? Entry::State::kFailed : Entry::State::kFinished;
      --in_flight_;
      ++completions_;
    }
    wake_.notify_all();
  }
}

void SpoolForwarder::fill(std::unique_lock<std::mutex>& lock) {
  while (!halted_ && window_.size() < settings_.window &&
         (window_.empty() || window_bytes_ < kWindowBytes)) {
    // Only this thread changes window_, so reading and deciding can run unlocked.
    lock.unlock();
    std::unique_ptr<Entry> entry;
    if (auto request = spool_.read_next()) {
      entry = std::make_unique<Entry>();
      entry->request = std::move(*request);
      entry->verified = pipeline_.reverify(entry->request);
      entry->decision = pipeline_.decide(entry->verified);
      entry->order_key = order_key(entry->decision);
      entry->event_id = identity(entry->decision).event_id;
    }
    lock.lock();
    if (!entry)
      return;
    window_bytes_ += entry->request.body.size();
    window_.push_back(std::move(entry));
  }
}

void SpoolForwarder::dispatch() {
  if (halted_)
    return;
  const std::size_t limit = probing_ ? 1 : settings_.window;
  // Keys and eventIds of earlier records that are not finished: a later record sharing one
  // waits, so it can neither overtake them nor be in flight beside them.
  std::unordered_set<std::string_view> busy_keys;
  std::unordered_set<std::string_view> busy_ids;
  for (const auto& entry : window_) {
    if (entry->state == Entry::State::kFinished)
      continue;
    const bool key_busy = !entry->order_key.empty() && busy_keys.count(entry->order_key) > 0;
    const bool id_busy = !entry->event_id.empty() && busy_ids.count(entry->event_id) > 0;
    if (entry->state == Entry::State::kReady && in_flight_ < limit && !key_busy && !id_busy) {
      entry->state = Entry::State::kSent;
      jobs_.push_back(entry.get());
      ++in_flight_;
      if (in_flight_ > peak_in_flight_.load())
        peak_in_flight_.store(in_flight_);
      work_.notify_one();
    }
    if (!entry->order_key.empty())
      busy_keys.insert(entry->order_key);
    if (!entry->event_id.empty())
      busy_ids.insert(entry->event_id);
  }
}

void SpoolForwarder::commit_finished(std::unique_lock<std::mutex>& lock) {
  std::vector<std::unique_ptr<Entry>> finished;
  while (!window_.empty() && window_.front()->state == Entry::State::kFinished) {
    window_bytes_ -= window_.front()->request.body.size();
    finished.push_back(std::move(window_.front()));
    window_.pop_front();
  }
  if (finished.empty())
    return;
  lock.unlock();
  for (const auto& entry : finished) {
    spool_.commit_oldest();
    forwarded_.fetch_add(1);
    const Outcome& outcome = entry->outcome;
    log_info("spool forwarded", {{"outcome", to_string(outcome.kind)},
                                 {"code", to_string(outcome.code)},
                                 {"event", outcome.event},
                                 {"eventId", outcome.event_id},
                                 {"topic", outcome.topic},
                                 {"partition", static_cast<int64_t>(outcome.partition)},
                                 {"offset", outcome.offset}});
  }
  lock.lock();
}

void SpoolForwarder::retry_failed() {
  for (const auto& entry : window_) {
    if (entry->state == Entry::State::kFailed)
      entry->state = Entry::State::kReady;
  }
  halted_ = false;
  probing_ = true;
}

void SpoolForwarder::run() {
  if (wait_until_ready()) {
    std::unique_lock lock(mutex_);
    while (!stop_.load()) {
      const bool draining = draining_.load();
      if (draining && std::chrono::steady_clock::now() >= drain_deadline_)
        break;
      commit_finished(lock);
      fill(lock);
      dispatch();
      if (halted_ && in_flight_ == 0) {
        if (draining) {
          // A drain retries at once what failed before it began, and ends at its first failure.
          if (failed_in_drain_)
            break;
          retry_failed();
          continue;
        }
        lock.unlock();
        const bool resume = pause(settings_.retry_backoff);
        lock.lock();
        if (!resume)
          break;
        retry_failed();
        continue;
      }
      if (window_.empty() && draining)
        break;  // the spool is empty
      // Woken when a record finishes; the timeout picks up records appended meanwhile.
      const uint64_t seen = completions_;
      wake_.wait_for(lock, std::chrono::milliseconds(20),
                     [this, seen] { return stop_.load() || completions_ != seen; });
    }
    // Send nothing more; let what is in flight finish and commit the finished prefix.
    halted_ = true;
    wake_.wait(lock, [this] { return in_flight_ == 0; });
    commit_finished(lock);
  }
}

}  // namespace cmr_bridge
