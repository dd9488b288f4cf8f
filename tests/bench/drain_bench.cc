// cmr_bridge_drain_bench: how fast the spool forwarder drains a backlog against the real broker.
//
//   cmr_bridge_drain_bench --brokers HOST:PORT [--records 100000]
//       [--windows 1,64] [--live-rate 2000] [--connections 8] [--max-seconds 120]
//
// For each window (CMR_BRIDGE_SPOOL_FORWARD_WINDOW), twice — without live traffic and with
// --live-rate signed requests per second arriving meanwhile — it writes a spool of --records
// realistic signed webhooks (the load generator's default mix, unique eventIds) into a fresh
// directory, starts `cmr-bridge serve` (the one built with this benchmark) on it with fresh topics,
// and measures from "listening" until the spool first holds nothing: that is the drain time (it
// includes the dedup warm-up and topic set-up, reported on their own as "start"). Live requests
// queue behind the backlog (they are spooled too), so with live traffic the drain ends only once
// the forwarder caught up with it. A case that has not drained after --max-seconds is reported with
// what it forwarded and its rate. Every case then reads its topics back and checks that each
// spooled or accepted eventId is there (missing) and nothing else (unexpected), and counts records
// (duplicates). Prints one table; figures go to docs/performance.md "Spool drain".
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cmr_bridge/signature_scheme.h"
#include "core/signature.h"
#include "kafka_check.h"
#include "log/logger.h"
#include "payloads.h"
#include "spool/file_spool.h"
#include "support/bridge_process.h"

namespace cmr_bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kSigningKey = "drain-bench-key";

struct Options {
  std::string brokers;
  uint64_t records = 100000;
  std::vector<int> windows = {1, 64};
  double live_rate = 2000;
  int connections = 8;
  double max_seconds = 120;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "cmr_bridge_drain_bench: " << message
            << " (see the header of tests/bench/drain_bench.cc)\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc)
      usage_error(name + " needs a value");
    const std::string value = argv[++i];
    try {
      if (name == "--brokers") {
        o.brokers = value;
      } else if (name == "--records") {
        o.records = std::stoull(value);
      } else if (name == "--windows") {
        o.windows.clear();
        std::stringstream list(value);
        for (std::string item; std::getline(list, item, ',');)
          o.windows.push_back(std::stoi(item));
      } else if (name == "--live-rate") {
        o.live_rate = std::stod(value);
      } else if (name == "--connections") {
        o.connections = std::stoi(value);
      } else if (name == "--max-seconds") {
        o.max_seconds = std::stod(value);
      } else {
        usage_error("unknown option " + name);
      }
    } catch (const std::exception&) {
      usage_error("bad value for " + name + ": " + value);
    }
  }
  if (o.brokers.empty())
    usage_error("--brokers is required");
  if (o.windows.empty() || o.records == 0 || o.connections < 1)
    usage_error("--windows, --records and --connections must be positive");
  return o;
}

std::string unix_seconds_now() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

// Writes `count` signed webhooks into a fresh spool at `dir` (without an fsync per record: a
// benchmark backlog need not survive a crash) and returns their eventIds.
std::unordered_set<std::string> write_backlog(const fs::path& dir, uint64_t count,
                                              const std::string& run_prefix) {
  cmr_bridge::SpoolSettings settings{dir.string()};
  settings.max_bytes = std::size_t{64} << 30;
  settings.sync_data = [](int) { return 0; };
  auto spool = cmr_bridge::FileSpool::open(settings);
  if (!spool)
    usage_error("cannot open the spool: " + spool.error().message());
  PayloadFactory factory(1, run_prefix, 999, Mix::defaults());
  std::unordered_set<std::string> ids;
  const std::string timestamp = unix_seconds_now();
  for (uint64_t i = 0; i < count; ++i) {
    std::string id;
    std::string body = factory.make(factory.pick_event(), &id);
    ids.insert(id);
    if ((*spool)->append(
            {std::move(body), timestamp, "body-hex", std::chrono::system_clock::now()}) !=
        cmr_bridge::SpoolAppendResult::kDurable)
      usage_error("cannot append to the spool in " + dir.string());
  }
  return ids;
}

// Signed requests at a fixed total rate over keep-alive connections, until stopped.
class LiveTraffic {
 public:
  LiveTraffic(int port, double rate, int connections, const std::string& run_prefix) {
    if (rate <= 0)
      return;
    const auto start = Clock::now();
    for (int c = 0; c < connections; ++c) {
      threads_.emplace_back([this, port, rate, connections, c, start, run_prefix] {
        PayloadFactory factory(static_cast<uint64_t>(c) + 7, run_prefix, c, Mix::defaults());
        httplib::Client client("127.0.0.1", port);
        client.set_keep_alive(true);
        client.set_read_timeout(30s);
        for (uint64_t k = 0; !stop_.load(); ++k) {
          const auto intended =
              start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                          (static_cast<double>(c) + static_cast<double>(k) * connections) / rate));
          std::this_thread::sleep_until(intended);
          if (stop_.load())
            break;
          std::string id;
          const std::string body = factory.make(factory.pick_event(), &id);
          const std::string ts = unix_seconds_now();
          const auto res =
              client.Post("/webhooks",
                          {{"cmr-x-timestamp", ts},
                           {"cmr-x-signature",
                            cmr_bridge::compute_signature(
                                kSigningKey, cmr_bridge::SignatureScheme::kBodyHex, ts, body)}},
                          body, "application/json");
          std::lock_guard lock(mutex_);
          ++sent_;
          if (res && res->status == 200) {
            accepted_.insert(id);
            spooled_ += res->body.find("\"spooled\":true") != std::string::npos;
          } else {
            ++failed_;
          }
        }
      });
    }
  }
  ~LiveTraffic() { stop(); }
  void stop() {
    stop_.store(true);
    for (auto& thread : threads_) {
      if (thread.joinable())
        thread.join();
    }
  }
  uint64_t sent() const { return sent_; }
  uint64_t spooled() const { return spooled_; }
  uint64_t failed() const { return failed_; }
  const std::unordered_set<std::string>& accepted() const { return accepted_; }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  uint64_t sent_ = 0;
  uint64_t spooled_ = 0;
  uint64_t failed_ = 0;
  std::unordered_set<std::string> accepted_;
};

// The value of an unlabelled gauge, or -1 when /metrics does not answer.
double gauge(int admin_port, const std::string& name) {
  httplib::Client admin("127.0.0.1", admin_port);
  const auto res = admin.Get("/metrics");
  if (!res)
    return -1;
  const auto at = res->body.find("\n" + name + " ");
  if (at == std::string::npos)
    return -1;
  return std::stod(res->body.substr(at + name.size() + 2));
}

struct CaseResult {
  int window = 0;
  double live_rate = 0;
  double start_s = -1;     // listening → first record forwarded
  double drain_s = -1;     // listening → spool empty; -1 = not within --max-seconds
  double elapsed_s = 0;    // how long the case ran
  uint64_t forwarded = 0;  // records that left the spool (backlog + live spooled)
  uint64_t live_sent = 0, live_spooled = 0, live_failed = 0;
  ConsumerCheck check;
};

std::vector<std::string> topics_of(const std::string& prefix) {
  return {prefix + "order.events", prefix + "subscription.events", prefix + "prewarmup.events",
          prefix + "webhooks.deadletter", prefix + "webhooks.dedup"};
}

CaseResult run_case(const Options& o, int window, double live_rate, int index) {
  CaseResult result;
  result.window = window;
  result.live_rate = live_rate;
  const std::string run_prefix = crockford(static_cast<uint64_t>(getpid()) * 31 + index, 6);
  const std::string prefix =
      "drainbench" + std::to_string(getpid()) + "-" + std::to_string(index) + ".";
  char templ[] = "/tmp/cmr-drain-bench-XXXXXX";
  const fs::path dir = mkdtemp(templ);
  std::cerr << "case " << index << ": window " << window << ", live " << live_rate << "/s: writing "
            << o.records << " records\n";
  const auto backlog = write_backlog(dir, o.records, run_prefix);
  {
    cmr_bridge::test::BridgeProcess bridge(
        {{"CMR_BRIDGE_SIGNING_KEYS", kSigningKey},
         {"CMR_BRIDGE_KAFKA_BROKERS", o.brokers},
         {"CMR_BRIDGE_TOPIC_PREFIX", prefix},
         {"CMR_BRIDGE_SPOOL_DIR", dir.string()},
         {"CMR_BRIDGE_SPOOL_FORWARD_WINDOW", std::to_string(window)},
         {"CMR_BRIDGE_DRAIN_DELAY_S", "0"},
         {"CMR_BRIDGE_SPOOL_DRAIN_S", "0"}});
    if (!bridge.wait_listening(60s))
      usage_error(std::string("the bridge did not start (") + CMR_BRIDGE_BINARY + ")");
    const auto listening = Clock::now();
    LiveTraffic live(bridge.port(), live_rate, o.connections, run_prefix + "L");
    double last_records = static_cast<double>(o.records);
    while (true) {
      const double seconds = std::chrono::duration<double>(Clock::now() - listening).count();
      result.elapsed_s = seconds;
      const double records = gauge(bridge.admin_port(), "cmr_bridge_spool_records");
      if (records >= 0) {
        if (result.start_s < 0 && records < static_cast<double>(o.records))
          result.start_s = seconds;
        last_records = records;
        if (records == 0) {
          result.drain_s = seconds;
          break;
        }
      }
      if (seconds >= o.max_seconds)
        break;
      std::this_thread::sleep_for(100ms);
    }
    live.stop();
    result.live_sent = live.sent();
    result.live_spooled = live.spooled();
    result.live_failed = live.failed();
    result.forwarded = o.records + live.spooled() - static_cast<uint64_t>(last_records);
    if (result.drain_s >= 0) {
      // Every spooled or accepted eventId on Kafka once: the forwarder lost nothing and, with
      // its window, sent nothing twice.
      std::unordered_set<std::string> expected = backlog;
      expected.insert(live.accepted().begin(), live.accepted().end());
      std::vector<std::string> event_topics = topics_of(prefix);
      event_topics.pop_back();  // not the marker topic
      const auto to = high_watermarks(o.brokers, event_topics, 30s);
      result.check = check_event_ids(o.brokers, {}, to, expected, 600s);
    }
  }
  delete_topics(o.brokers, topics_of(prefix), "drainbench", 60s);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return result;
}

void print(const Options& o, const std::vector<CaseResult>& results) {
  std::printf("\nSpool drain: backlog of %llu records, broker %s\n\n",
              static_cast<unsigned long long>(o.records), o.brokers.c_str());
  std::printf(
      "| window | live traffic | start (s) | drain time (s) | forwarded/s | live sent | live "
      "spooled | live not 200 | on Kafka (records / distinct / missing / unexpected) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : results) {
    const double forwarding_s = r.elapsed_s - std::max(r.start_s, 0.0);
    const double rate = forwarding_s > 0 ? static_cast<double>(r.forwarded) / forwarding_s : 0;
    char drain[96];
    if (r.drain_s >= 0) {
      std::snprintf(drain, sizeof drain, "%.1f", r.drain_s);
    } else {
      std::snprintf(drain, sizeof drain, "not drained in %.0f (%llu forwarded)", r.elapsed_s,
                    static_cast<unsigned long long>(r.forwarded));
    }
    char kafka[128] = "not checked (not drained)";
    if (r.drain_s >= 0) {
      std::snprintf(kafka, sizeof kafka, "%llu / %llu / %llu / %llu%s",
                    static_cast<unsigned long long>(r.check.records),
                    static_cast<unsigned long long>(r.check.distinct_ids),
                    static_cast<unsigned long long>(r.check.missing),
                    static_cast<unsigned long long>(r.check.unexpected),
                    r.check.error.empty() ? "" : " (check incomplete)");
    }
    std::printf(
        "| %d | %s | %.1f | %s | %.0f | %llu | %llu | %llu | %s |\n", r.window,
        r.live_rate > 0 ? (std::to_string(static_cast<int>(r.live_rate)) + "/s").c_str() : "none",
        r.start_s, drain, rate, static_cast<unsigned long long>(r.live_sent),
        static_cast<unsigned long long>(r.live_spooled),
        static_cast<unsigned long long>(r.live_failed), kafka);
  }
}

}  // namespace
}  // namespace cmr_bench

int main(int argc, char** argv) {
  using namespace cmr_bench;
  signal(SIGPIPE, SIG_IGN);
  const Options o = parse(argc, argv);
  cmr_bridge::set_log_fd(-1);
  std::vector<CaseResult> results;
  int index = 0;
  for (const int window : o.windows) {
    for (const double live : {0.0, o.live_rate}) {
      results.push_back(run_case(o, window, live, index++));
      print(o, {results.back()});
    }
  }
  print(o, results);
  bool ok = true;
  for (const auto& r : results)
    ok = ok && (r.drain_s < 0 || (r.check.missing == 0 && r.check.unexpected == 0 &&
                                  r.check.records == r.check.distinct_ids));
  return ok ? 0 : 1;
}
