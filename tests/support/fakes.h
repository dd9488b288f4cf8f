// Test doubles for the core's seams.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <vector>

#include "cmr_bridge/clock.h"
#include "cmr_bridge/dedup_store.h"
#include "cmr_bridge/publisher.h"
#include "cmr_bridge/spool.h"

namespace cmr_bridge::test {

class FixedClock final : public Clock {
 public:
  explicit FixedClock(std::chrono::system_clock::time_point now) : now_(now) {}
  std::chrono::system_clock::time_point now() const override { return now_; }

 private:
  std::chrono::system_clock::time_point now_;
};

// A clock the test moves by hand; safe to read from other threads.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::chrono::system_clock::time_point start)
      : now_ns_(start.time_since_epoch().count()) {}
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(
        std::chrono::system_clock::duration(now_ns_.load()));
  }
  void advance(std::chrono::system_clock::duration by) { now_ns_ += by.count(); }

 private:
  std::atomic<std::chrono::system_clock::rep> now_ns_;
};

// Records every publish and answers with a scripted status.
class FakePublisher final : public Publisher {
 public:
  DeliveryReport publish(const Record& record, std::chrono::milliseconds deadline) override {
    std::lock_guard lock(mutex_);
    records.push_back(record);
    last_deadline = deadline;
    DeliveryReport report;
    report.status =
        rejected_topics.contains(record.topic) ? DeliveryStatus::kRejected : next_status;
    report.topic = record.topic;
    if (report.status == DeliveryStatus::kDelivered) {
      report.partition = 2;
      report.offset = next_offset++;
    } else {
      report.error = "Local: Message timed out";
    }
    return report;
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return records.size();
  }

  std::vector<Record> records;
  DeliveryStatus next_status = DeliveryStatus::kDelivered;
  std::set<std::string> rejected_topics;  // answered kRejected whatever next_status says
  int64_t next_offset = 41;
  std::chrono::milliseconds last_deadline{0};

 private:
  std::mutex mutex_;
};

// Holds every publish at a gate until the test opens it, then answers `status`: a Kafka that
// takes as long as the test needs, so a request can be kept in flight while another arrives.
// The caller's deadline is ignored on purpose (the test, not a clock, decides when the publish
// ends); a gate left closed gives way after a bound, so a broken test fails rather than hangs.
class GatedPublisher final : public Publisher {
 public:
  static constexpr std::chrono::seconds kForgottenGateBound{30};

  DeliveryReport publish(const Record& record, std::chrono::milliseconds) override {
    std::unique_lock lock(mutex_);
    records_.push_back(record);
    changed_.notify_all();
    const bool opened = changed_.wait_for(lock, kForgottenGateBound, [this] { return open_; });
    DeliveryReport report;
    report.topic = record.topic;
    report.status = opened ? status_ : DeliveryStatus::kTimedOut;
    if (report.status == DeliveryStatus::kDelivered) {
      report.partition = 0;
      report.offset = static_cast<int64_t>(records_.size());
    } else {
      report.error = "scripted by the test";
    }
    return report;
  }
  // Lets held and later publishes through, answering `status`.
  void open(DeliveryStatus status = DeliveryStatus::kDelivered) {
    std::lock_guard lock(mutex_);
    status_ = status;
    open_ = true;
    changed_.notify_all();
  }
  // True once `count` publishes have started (waits up to `timeout`).
  bool wait_publishes(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return records_.size() >= count; });
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return records_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Record> records_;
  bool open_ = false;
  DeliveryStatus status_ = DeliveryStatus::kDelivered;
};

class FakeMarkerSink final : public DedupMarkerSink {
 public:
  void record(const DedupMarker& marker) override {
    std::lock_guard lock(mutex_);
    markers.push_back(marker);
  }
  std::vector<DedupMarker> markers;

 private:
  std::mutex mutex_;
};

class FakeSpool final : public Spool {
 public:
  SpoolAppendResult append(const SpooledRequest& request) override {
    std::lock_guard lock(mutex_);
    if (result == SpoolAppendResult::kDurable)
      requests.push_back(request);
    return result;
  }
  bool backlogged() const override { return backlog; }

  std::vector<SpooledRequest> requests;
  SpoolAppendResult result = SpoolAppendResult::kDurable;
  bool backlog = false;

 private:
  std::mutex mutex_;
};

}  // namespace cmr_bridge::test
