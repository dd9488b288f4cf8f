// Test doubles for the core's seams.
#pragma once

#include <atomic>
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
