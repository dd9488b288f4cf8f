// cmr_bridge_loadgen: load generator for cmr-bridge (issue 8).
//
//   cmr_bridge_loadgen run --target 127.0.0.1:PORT --key K [options]   send traffic, report
//   cmr_bridge_loadgen payloads --count N --out FILE [--mix M]         sample bodies, sizes
//   cmr_bridge_loadgen topics create|delete|list ...                  the bench's own topics
//   cmr_bridge_loadgen floor [--seconds S] [--mix M]                   HMAC + one JSON parse alone
//   cmr_bridge_loadgen selftest                                        histogram/payload checks
//
// `run` opens N keep-alive connections (one thread each, cpp-httplib client) and sends unique,
// correctly signed CMR webhooks drawn from a mix of all 11 events, checking every response.
// Closed loop (default): each connection sends its next request when the previous answered.
// Fixed rate (--rate R): request k of connection c is *intended* at start + (c + k*N)/R and
// its latency is measured from that intended time, not from when it could actually be sent,
// so a stall is charged to every request it delays (no coordinated omission).
// --duplicates F resends an already-accepted body (same eventId, fresh timestamp and
// signature, as CMR's retries do); --unauthorized F signs with a wrong key (expects 401).
// Every loop is bounded by --duration and --max-requests; only loopback targets are allowed.
#include <httplib.h>
#include <rapidjson/document.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cmr_bridge/signature_scheme.h"
#include "core/signature.h"
#include "histogram.h"
#include "kafka_check.h"
#include "payloads.h"

namespace cmr_bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

enum Kind { kFresh = 0, kDuplicate = 1, kUnauthorized = 2, kKinds = 3 };
constexpr const char* kKindNames[kKinds] = {"fresh", "duplicate", "unauthorized"};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "cmr_bridge_loadgen: " << message << " (see the header of tests/bench/loadgen.cc)\n";
  std::exit(2);
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string key;
  std::string wrong_key;
  cmr_bridge::SignatureScheme scheme = cmr_bridge::SignatureScheme::kBodyHex;
  int connections = 1;
  double duration_s = 10;
  double warmup_s = 0;
  double rate = 0;  // 0 = closed loop
  uint64_t max_requests = 2'000'000;
  double duplicates = 0;
  double unauthorized = 0;
  int timeout_ms = 11000;
  std::string run_prefix;
  uint64_t seed = 0;
  Mix mix = Mix::defaults();
  std::string out;
  std::string spectrum;
  std::string timeline;
  std::string label;
  // Consumer check.
  std::string brokers;
  std::vector<std::string> topics;
  int kafka_check_timeout_ms = 60000;
  // Process observation.
  int observe_pid = 0;                                // the service: CPU, peak RSS, threads
  std::vector<std::pair<std::string, int>> cpu_pids;  // name=pid: CPU only
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep))
    if (!item.empty())
      out.push_back(item);
  return out;
}

double to_double(const std::string& name, const std::string& value, double lo, double hi) {
  try {
    std::size_t used = 0;
    const double v = std::stod(value, &used);
    if (used == value.size() && v >= lo && v <= hi)
      return v;
  } catch (const std::exception&) {
  }
  usage_error(name + " must be a number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
              "], got \"" + value + "\"");
}

bool loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Options parse_run(const std::vector<std::string>& args) {
  Options o;
  std::string mix_spec;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size())
        usage_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--target") {
      const std::string t = value();
      const auto colon = t.rfind(':');
      if (colon == std::string::npos)
        usage_error("--target is HOST:PORT");
      o.host = t.substr(0, colon);
      if (o.host.size() > 2 && o.host.front() == '[')
        o.host = o.host.substr(1, o.host.size() - 2);
      o.port = static_cast<int>(to_double("--target port", t.substr(colon + 1), 1, 65535));
    } else if (a == "--key") {
      o.key = value();
    } else if (a == "--wrong-key") {
      o.wrong_key = value();
    } else if (a == "--scheme") {
      const auto s = cmr_bridge::parse_signature_scheme(value());
      if (!s || *s == cmr_bridge::SignatureScheme::kAuto)
        usage_error("--scheme must be a concrete scheme (body-hex, ...)");
      o.scheme = *s;
    } else if (a == "--connections") {
      o.connections = static_cast<int>(to_double(a, value(), 1, 2048));
    } else if (a == "--duration") {
      o.duration_s = to_double(a, value(), 0.1, 600);
    } else if (a == "--warmup") {
      o.warmup_s = to_double(a, value(), 0, 120);
    } else if (a == "--rate") {
      o.rate = to_double(a, value(), 0, 1e6);
    } else if (a == "--max-requests") {
      o.max_requests = static_cast<uint64_t>(to_double(a, value(), 1, 1e8));
    } else if (a == "--duplicates") {
      o.duplicates = to_double(a, value(), 0, 1);
    } else if (a == "--unauthorized") {
      o.unauthorized = to_double(a, value(), 0, 1);
    } else if (a == "--timeout-ms") {
      o.timeout_ms = static_cast<int>(to_double(a, value(), 10, 120000));
    } else if (a == "--run-prefix") {
      o.run_prefix = value();
    } else if (a == "--seed") {
      o.seed = static_cast<uint64_t>(to_double(a, value(), 0, 1e15));
    } else if (a == "--mix") {
      mix_spec = value();
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--spectrum") {
      o.spectrum = value();
    } else if (a == "--timeline") {
      o.timeline = value();
    } else if (a == "--label") {
      o.label = value();
    } else if (a == "--kafka-brokers") {
      o.brokers = value();
    } else if (a == "--kafka-topics") {
      o.topics = split(value(), ',');
    } else if (a == "--kafka-check-timeout-ms") {
      o.kafka_check_timeout_ms = static_cast<int>(to_double(a, value(), 1000, 600000));
    } else if (a == "--observe-pid") {
      o.observe_pid = static_cast<int>(to_double(a, value(), 1, 1e9));
    } else if (a == "--observe-cpu") {
      const std::string v = value();
      const auto eq = v.find('=');
      if (eq == std::string::npos)
        usage_error("--observe-cpu is NAME=PID");
      o.cpu_pids.emplace_back(v.substr(0, eq),
                              static_cast<int>(to_double(a, v.substr(eq + 1), 1, 1e9)));
    } else {
      usage_error("unknown option " + a);
    }
  }
  if (o.port == 0)
    usage_error("--target 127.0.0.1:PORT is required");
  if (!loopback(o.host))
    usage_error("only loopback targets are allowed, got " + o.host);
  if (o.key.empty())
    usage_error("--key is required");
  if (o.wrong_key.empty())
    o.wrong_key = o.key + "-not-the-key";
  if (o.duplicates + o.unauthorized > 1.0)
    usage_error("--duplicates + --unauthorized must not exceed 1");
  if (o.warmup_s >= o.duration_s)
    usage_error("--warmup must be shorter than --duration");
  std::string error;
  o.mix = Mix::parse(mix_spec, &error);
  if (!error.empty())
    usage_error(error);
  if (o.run_prefix.empty()) {
    const auto now = std::chrono::system_clock::now().time_since_epoch().count();
    o.run_prefix = crockford(static_cast<uint64_t>(now) ^ static_cast<uint64_t>(getpid()), 6);
  }
  if (o.seed == 0)
    o.seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  if (!o.brokers.empty() && o.topics.empty())
    usage_error("--kafka-brokers needs --kafka-topics");
  return o;
}

// ---------------------------------------------------------------------------------------------
// /proc sampling: CPU time of a process, machine-wide busy time, peak RSS.

struct ProcCpu {
  double seconds = -1;  // utime + stime, -1 when unreadable
};

ProcCpu process_cpu_of(const std::filesystem::path& stat) {
  std::ifstream in(stat);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos)
    return {};
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  // After "pid (comm) ": state is field 3; utime is field 14, stime 15.
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n == 14)
      utime = std::stoull(field);
    if (n == 15)
      stime = std::stoull(field);
  }
  return {static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK))};
}

ProcCpu process_cpu(int pid) {
  return process_cpu_of("/proc/" + std::to_string(pid) + "/stat");
}

struct MachineCpu {
  double busy = 0;   // seconds, all CPUs
  double total = 0;  // seconds, all CPUs
};

MachineCpu machine_cpu() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long v[8] = {};
  in >> cpu;
  for (auto& x : v)
    in >> x;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  unsigned long long total = 0;
  for (auto x : v)
    total += x;
  const unsigned long long idle = v[3] + v[4];
  return {static_cast<double>(total - idle) / tick, static_cast<double>(total) / tick};
}

double self_cpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::optional<long> status_field_kb(int pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + ":", 0) == 0) {
      std::istringstream fields(line.substr(name.size() + 1));
      long value = 0;
      if (fields >> value)
        return value;
    }
  }
  return std::nullopt;
}

// Context switches (voluntary + involuntary) of one thread, from /proc/<pid>/task/<tid>/status.
int64_t task_context_switches(const std::filesystem::path& task) {
  std::ifstream in(task / "status");
  std::string line;
  int64_t total = 0;
  bool any = false;
  while (std::getline(in, line)) {
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
        line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
      total += std::stoll(line.substr(line.find(':') + 1));
      any = true;
    }
  }
  return any ? total : -1;
}

// What one role of the service's threads (its threads of one name) used so far.
struct ThreadRole {
  double cpu = 0;        // seconds, utime + stime
  int64_t switches = 0;  // voluntary + involuntary
  int threads = 0;       // alive at the snapshot
};

// A thread's role: its name (cmr-bridge names its threads, log/thread_name.h), with librdkafka's
// per-broker threads ("rdk:broker1", "rdk:broker-1") folded into one.
std::string thread_role(const std::filesystem::path& task) {
  std::ifstream in(task / "comm");
  std::string name;
  std::getline(in, name);
  if (name.rfind("rdk:broker", 0) == 0)
    return "rdk:broker";
  return name.empty() ? "?" : name;
}

// Every thread of `pid`, grouped by role. Threads that exit between two snapshots are missed.
std::map<std::string, ThreadRole> thread_roles(int pid) {
  std::map<std::string, ThreadRole> roles;
  std::error_code error;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    ThreadRole& role = roles[thread_role(task.path())];
    role.cpu += std::max(process_cpu_of(task.path() / "stat").seconds, 0.0);  // -1: it exited
    role.switches += std::max<int64_t>(task_context_switches(task.path()), 0);
    ++role.threads;
  }
  return roles;
}

// Context switches of every thread of `pid`, -1 when unreadable.
int64_t context_switches(const std::map<std::string, ThreadRole>& roles) {
  if (roles.empty())
    return -1;
  int64_t total = 0;
  for (const auto& [name, role] : roles)
    total += role.switches;
  return total;
}

// TcpExt ListenOverflows from /proc/net/netstat (machine-wide): connections dropped because a
// listener's accept queue was full.
int64_t listen_overflows() {
  std::ifstream in("/proc/net/netstat");
  std::string names;
  std::string values;
  while (std::getline(in, names) && std::getline(in, values)) {
    if (names.rfind("TcpExt:", 0) != 0)
      continue;
    std::istringstream n(names);
    std::istringstream v(values);
    std::string name;
    std::string value;
    while (n >> name && v >> value) {
      if (name == "ListenOverflows")
        return std::stoll(value);
    }
  }
  return -1;
}

// Linux >= 4.0: writing 5 to clear_refs resets VmHWM to the current RSS.
bool reset_peak_rss(int pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

struct Snapshot {
  double service_cpu = -1;
  int64_t service_switches = -1;
  std::map<std::string, ThreadRole> service_threads;
  int64_t overflows = -1;
  std::vector<double> other_cpu;
  MachineCpu machine;
  double self = 0;
  Clock::time_point at;
};

Snapshot snapshot(const Options& o) {
  Snapshot s;
  if (o.observe_pid) {
    s.service_cpu = process_cpu(o.observe_pid).seconds;
    s.service_threads = thread_roles(o.observe_pid);
    s.service_switches = context_switches(s.service_threads);
  }
  s.overflows = listen_overflows();
  for (const auto& [name, pid] : o.cpu_pids)
    s.other_cpu.push_back(process_cpu(pid).seconds);
  s.machine = machine_cpu();
  s.self = self_cpu();
  s.at = Clock::now();
  return s;
}

// ---------------------------------------------------------------------------------------------
// One connection.

struct Stats {
  Histogram latency[kKinds];  // from the intended send time (what a sender experiences)
  Histogram service[kKinds];  // from the actual send time (what the server spent)
  uint64_t sent[kKinds] = {};
  uint64_t measured[kKinds] = {};     // requests intended inside the measurement window
  uint64_t measured_ok[kKinds] = {};  // ... answered as expected
  uint64_t total_ok[kKinds] = {};
  uint64_t duplicate_answered_duplicate = 0;  // dedup active: {"status":"duplicate"}
  uint64_t duplicate_answered_accepted = 0;   // no dedup: published again
  uint64_t bytes_sent = 0;
  std::map<std::string, uint64_t> errors;  // "status_503", "transport_Read", "body_mismatch", ...
  std::vector<std::string> accepted_ids;   // fresh events answered "accepted"
  Clock::time_point last_ok{};             // last expected answer to a measured request
  uint64_t behind = 0;  // fixed rate: requests that could not be sent at their intended time
  // Per second of the run (by completion time): expected answers, and the worst latency.
  std::vector<uint64_t> second_ok;
  std::vector<int64_t> second_max_us;
};

struct Shared {
  const Options& options;
  Clock::time_point start;
  Clock::time_point warm_end;
  Clock::time_point end;
  uint64_t max_per_connection;
};

struct PoolEntry {
  std::string body;
  std::string event_id;
};

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

void run_connection(const Shared& shared, int index, Stats& stats) {
  const Options& o = shared.options;
  httplib::Client client(o.host, o.port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  const auto timeout = std::chrono::milliseconds(o.timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);

  PayloadFactory factory(o.seed, o.run_prefix, index, o.mix);
  const auto seconds = static_cast<std::size_t>(std::ceil(o.duration_s)) + 2;
  stats.second_ok.assign(seconds, 0);
  stats.second_max_us.assign(seconds, 0);
  Rng rng(o.seed * 31 + static_cast<uint64_t>(index) + 7);
  std::deque<PoolEntry> pool;  // recently accepted bodies, for --duplicates
  constexpr std::size_t kPoolSize = 64;

  const double period_ns = o.rate > 0 ? 1e9 * o.connections / o.rate : 0;
  const double offset_ns = o.rate > 0 ? 1e9 * index / o.rate : 0;

  for (uint64_t k = 0; k < shared.max_per_connection; ++k) {
    // 1. Build the request before its intended time (keeps client work out of the latency).
    const double draw = rng.unit();
    Kind kind = kFresh;
    if (draw < o.unauthorized)
      kind = kUnauthorized;
    else if (draw < o.unauthorized + o.duplicates)
      kind = pool.empty() ? kFresh : kDuplicate;
    std::string body;
    std::string event_id;
    if (kind == kDuplicate) {
      const auto& entry = pool[rng.below(pool.size())];
      body = entry.body;
      event_id = entry.event_id;
    } else {
      body = factory.make(factory.pick_event(), &event_id);
    }
    const std::string timestamp =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
    const std::string signature = cmr_bridge::compute_signature(
        kind == kUnauthorized ? o.wrong_key : o.key, o.scheme, timestamp, body);

    // 2. When is it due?
    Clock::time_point intended;
    if (o.rate > 0) {
      intended = shared.start + nanoseconds(static_cast<int64_t>(offset_ns + period_ns * k));
      if (intended >= shared.end)
        break;
      const auto now = Clock::now();
      if (now < intended)
        std::this_thread::sleep_until(intended);
      else if (now - intended > std::chrono::milliseconds(1))
        ++stats.behind;
    } else {
      intended = Clock::now();
      if (intended >= shared.end)
        break;
    }

    // 3. Send and check.
    const httplib::Headers headers = {{"cmr-x-timestamp", timestamp},
                                      {"cmr-x-signature", signature}};
    const auto sent_at = Clock::now();
    auto result = client.Post("/webhooks", headers, body, "application/json");
    const auto done = Clock::now();
    ++stats.sent[kind];
    stats.bytes_sent += body.size();

    bool ok = false;
    if (!result) {
      ++stats.errors["transport_" + httplib::to_string(result.error())];
      // Nothing listening: do not spin (the loop stays bounded by time and count).
      if (result.error() == httplib::Error::Connection)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } else {
      const int status = result->status;
      const std::string& answer = result->body;
      const bool id_matches = contains(answer, "\"eventId\":\"" + event_id + "\"");
      if (kind == kUnauthorized) {
        ok = status == 401 && contains(answer, "signature_mismatch");
      } else if (status == 200 && id_matches && contains(answer, "\"status\":\"accepted\"")) {
        ok = true;
        if (kind == kDuplicate)
          ++stats.duplicate_answered_accepted;
      } else if (kind == kDuplicate && status == 200 && id_matches &&
                 contains(answer, "\"status\":\"duplicate\"")) {
        ok = true;
        ++stats.duplicate_answered_duplicate;
      }
      if (!ok)
        ++stats.errors[status == 200 ? std::string("body_mismatch")
                                     : "status_" + std::to_string(status)];
    }
    if (ok) {
      ++stats.total_ok[kind];
      if (kind == kFresh) {
        stats.accepted_ids.push_back(event_id);
        if (o.duplicates > 0) {
          pool.push_back({std::move(body), event_id});
          if (pool.size() > kPoolSize)
            pool.pop_front();
        }
      }
    }
    if (intended >= shared.warm_end) {
      ++stats.measured[kind];
      stats.latency[kind].record((done - intended).count() / 1000);
      stats.service[kind].record((done - sent_at).count() / 1000);
      if (ok) {
        ++stats.measured_ok[kind];
        stats.last_ok = std::max(stats.last_ok, done);
      }
      const auto second = static_cast<std::size_t>(
          std::chrono::duration_cast<std::chrono::seconds>(done - shared.start).count());
      if (second < stats.second_ok.size()) {
        stats.second_ok[second] += ok ? 1 : 0;
        stats.second_max_us[second] =
            std::max(stats.second_max_us[second], (done - intended).count() / 1000);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

struct Report {
  std::vector<std::pair<std::string, std::string>> lines;
  void add(const std::string& key, const std::string& value) { lines.emplace_back(key, value); }
  void add(const std::string& key, double value, int decimals = 2) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    add(key, std::string(buffer));
  }
  void add_int(const std::string& key, uint64_t value) { add(key, std::to_string(value)); }
};

int run(const Options& o) {
  const std::string brokers = o.brokers;
  PartitionOffsets from;
  if (!brokers.empty()) {
    try {
      from = high_watermarks(brokers, o.topics, std::chrono::seconds(15));
    } catch (const std::exception& e) {
      std::cerr << "cmr_bridge_loadgen: Kafka watermarks before the run: " << e.what() << "\n";
      return 1;
    }
  }

  const auto start = Clock::now() + std::chrono::milliseconds(50);
  Shared shared{o, start, start + nanoseconds(static_cast<int64_t>(o.warmup_s * 1e9)),
                start + nanoseconds(static_cast<int64_t>(o.duration_s * 1e9)),
                (o.max_requests + static_cast<uint64_t>(o.connections) - 1) /
                    static_cast<uint64_t>(o.connections)};
  const int64_t overflows_at_start = listen_overflows();  // connects happen in the warm-up
  std::vector<Stats> stats(static_cast<std::size_t>(o.connections));
  std::vector<std::thread> threads;
  threads.reserve(stats.size());
  for (int c = 0; c < o.connections; ++c)
    threads.emplace_back(run_connection, std::cref(shared), c, std::ref(stats[c]));

  // Measurement window: from the end of the warm-up until every measured request answered.
  std::this_thread::sleep_until(shared.warm_end);
  bool rss_reset = false;
  if (o.observe_pid)
    rss_reset = reset_peak_rss(o.observe_pid);
  const Snapshot before = snapshot(o);
  for (auto& t : threads)
    t.join();
  const Snapshot after = snapshot(o);
  std::optional<long> peak_rss_kb;
  std::optional<long> threads_now;
  if (o.observe_pid) {
    peak_rss_kb = status_field_kb(o.observe_pid, "VmHWM");
    threads_now = status_field_kb(o.observe_pid, "Threads");
  }

  // Merge.
  Stats all;
  std::vector<uint64_t> per_connection_ok;
  std::unordered_set<std::string> accepted;
  for (auto& s : stats) {
    uint64_t ok = 0;
    for (int k = 0; k < kKinds; ++k) {
      all.latency[k].merge(s.latency[k]);
      all.service[k].merge(s.service[k]);
      all.sent[k] += s.sent[k];
      all.measured[k] += s.measured[k];
      all.measured_ok[k] += s.measured_ok[k];
      all.total_ok[k] += s.total_ok[k];
      ok += s.measured_ok[k];
    }
    per_connection_ok.push_back(ok);
    all.duplicate_answered_accepted += s.duplicate_answered_accepted;
    all.duplicate_answered_duplicate += s.duplicate_answered_duplicate;
    all.bytes_sent += s.bytes_sent;
    all.behind += s.behind;
    all.last_ok = std::max(all.last_ok, s.last_ok);
    if (all.second_ok.size() < s.second_ok.size()) {
      all.second_ok.resize(s.second_ok.size(), 0);
      all.second_max_us.resize(s.second_max_us.size(), 0);
    }
    for (std::size_t i = 0; i < s.second_ok.size(); ++i) {
      all.second_ok[i] += s.second_ok[i];
      all.second_max_us[i] = std::max(all.second_max_us[i], s.second_max_us[i]);
    }
    for (const auto& [name, count] : s.errors)
      all.errors[name] += count;
    for (auto& id : s.accepted_ids)
      accepted.insert(std::move(id));
    s.accepted_ids.clear();
  }

  const double window_s =
      std::chrono::duration<double>(std::max(all.last_ok, shared.end) - shared.warm_end).count();
  const double cpu_window_s = std::chrono::duration<double>(after.at - before.at).count();
  uint64_t measured_ok = 0;
  uint64_t measured = 0;
  uint64_t sent = 0;
  for (int k = 0; k < kKinds; ++k) {
    measured_ok += all.measured_ok[k];
    measured += all.measured[k];
    sent += all.sent[k];
  }
  uint64_t error_count = 0;
  for (const auto& [name, count] : all.errors)
    error_count += count;

  Report r;
  r.add("label", o.label.empty() ? std::string("run") : o.label);
  r.add("mode", o.rate > 0 ? std::string("fixed-rate") : std::string("closed-loop"));
  r.add_int("connections", static_cast<uint64_t>(o.connections));
  r.add("target_rate", o.rate, 1);
  r.add("duration_s", o.duration_s, 1);
  r.add("warmup_s", o.warmup_s, 1);
  r.add("window_s", window_s, 3);
  r.add("mix", o.mix.describe());
  r.add_int("requests_sent", sent);
  r.add_int("requests_measured", measured);
  r.add_int("ok_measured", measured_ok);
  r.add("throughput_rps", static_cast<double>(measured_ok) / window_s, 1);
  r.add("avg_body_bytes",
        sent ? static_cast<double>(all.bytes_sent) / static_cast<double>(sent) : 0.0, 0);
  r.add_int("errors", error_count);
  std::string error_list;
  for (const auto& [name, count] : all.errors)
    error_list += (error_list.empty() ? "" : ",") + name + ":" + std::to_string(count);
  r.add("error_kinds", error_list.empty() ? std::string("none") : error_list);
  if (o.rate > 0)
    r.add_int("sent_late", all.behind);
  // Whole seconds inside the measurement window: the slowest one shows stalls (GC, noisy
  // neighbours) that an average hides.
  {
    // The first second after the warm-up is skipped: requests sent before the window ends
    // complete in it without being counted.
    const auto last = static_cast<std::size_t>(std::floor(o.duration_s));  // exclusive
    auto first = static_cast<std::size_t>(std::ceil(o.warmup_s));
    if (first + 1 < last)
      ++first;
    uint64_t worst = UINT64_MAX;
    int64_t worst_latency = 0;
    for (std::size_t i = first; i < last && i < all.second_ok.size(); ++i) {
      worst = std::min(worst, all.second_ok[i]);
      worst_latency = std::max(worst_latency, all.second_max_us[i]);
    }
    r.add_int("slowest_second_ok", worst == UINT64_MAX ? 0 : worst);
    r.add("slowest_second_max_latency_ms", static_cast<double>(worst_latency) / 1000.0, 1);
  }

  // Which class is "the" latency of this run: the one with the most measured requests.
  int main_kind = kFresh;
  for (int k = 0; k < kKinds; ++k) {
    if (all.measured[k] > all.measured[main_kind])
      main_kind = k;
  }
  r.add("main_kind", kKindNames[main_kind]);
  for (int k = 0; k < kKinds; ++k) {
    const std::string p = kKindNames[k];
    r.add_int(p + "_sent", all.sent[k]);
    r.add_int(p + "_ok", all.total_ok[k]);
    r.add_int(p + "_measured", all.measured[k]);
    r.add(p + "_rps", static_cast<double>(all.measured_ok[k]) / window_s, 1);
    const Histogram& h = all.latency[k];
    const Histogram& sv = all.service[k];
    auto ms = [](int64_t us) { return static_cast<double>(us) / 1000.0; };
    r.add(p + "_p50_ms", ms(h.value_at_percentile(50)), 3);
    r.add(p + "_p90_ms", ms(h.value_at_percentile(90)), 3);
    r.add(p + "_p99_ms", ms(h.value_at_percentile(99)), 3);
    r.add(p + "_p999_ms", ms(h.value_at_percentile(99.9)), 3);
    r.add(p + "_max_ms", ms(h.max()), 3);
    r.add(p + "_mean_ms", h.mean() / 1000.0, 3);
    r.add(p + "_service_p50_ms", ms(sv.value_at_percentile(50)), 3);
    r.add(p + "_service_p99_ms", ms(sv.value_at_percentile(99)), 3);
  }
  r.add_int("duplicate_answered_duplicate", all.duplicate_answered_duplicate);
  r.add_int("duplicate_answered_accepted", all.duplicate_answered_accepted);

  // Fairness across connections: starved = a connection with no expected answer at all.
  std::sort(per_connection_ok.begin(), per_connection_ok.end());
  const auto starved = static_cast<uint64_t>(
      std::count(per_connection_ok.begin(), per_connection_ok.end(), uint64_t{0}));
  r.add_int("connections_starved", starved);
  r.add_int("per_connection_ok_min", per_connection_ok.front());
  r.add_int("per_connection_ok_median", per_connection_ok[per_connection_ok.size() / 2]);
  r.add_int("per_connection_ok_max", per_connection_ok.back());

  // CPU and memory over the measurement window.
  r.add("cpu_window_s", cpu_window_s, 3);
  const double per_k = measured_ok ? 1000.0 / static_cast<double>(measured_ok) : 0.0;
  if (o.observe_pid) {
    const double cpu = after.service_cpu - before.service_cpu;
    r.add("service_cpu_s", cpu, 3);
    r.add("service_cores", cpu / cpu_window_s, 2);
    r.add("service_cpu_ms_per_1k", cpu * 1000.0 * per_k, 1);
    if (before.service_switches >= 0 && after.service_switches >= 0) {
      r.add("service_context_switches_per_request",
            static_cast<double>(after.service_switches - before.service_switches) * per_k / 1000.0,
            1);
    }
    r.add("service_peak_rss_mb", peak_rss_kb ? static_cast<double>(*peak_rss_kb) / 1024.0 : -1.0,
          1);
    r.add("service_peak_rss_reset", rss_reset ? std::string("yes") : std::string("no"));
    r.add_int("service_threads", threads_now ? static_cast<uint64_t>(*threads_now) : 0);
    // Per thread role over the window: "thread_role=NAME CPU_US_PER_EVENT SWITCHES_PER_EVENT
    // THREADS", one line per role alive at the end.
    for (const auto& [name, role] : after.service_threads) {
      const auto earlier = before.service_threads.find(name);
      const ThreadRole zero;
      const ThreadRole& at_start = earlier == before.service_threads.end() ? zero : earlier->second;
      char line[160];
      std::snprintf(line, sizeof line, "%s %.1f %.2f %d", name.c_str(),
                    (role.cpu - at_start.cpu) * 1e6 * per_k / 1000.0,
                    static_cast<double>(role.switches - at_start.switches) * per_k / 1000.0,
                    role.threads);
      r.add("thread_role", std::string(line));
    }
  }
  for (std::size_t i = 0; i < o.cpu_pids.size(); ++i) {
    const double cpu = after.other_cpu[i] - before.other_cpu[i];
    r.add(o.cpu_pids[i].first + "_cores", cpu / cpu_window_s, 2);
    r.add(o.cpu_pids[i].first + "_cpu_ms_per_1k", cpu * 1000.0 * per_k, 1);
  }
  const double self = after.self - before.self;
  r.add("loadgen_cores", self / cpu_window_s, 2);
  r.add("loadgen_cpu_ms_per_1k", self * 1000.0 * per_k, 1);
  const double busy = after.machine.busy - before.machine.busy;
  const double total = after.machine.total - before.machine.total;
  // Whole run, warm-up included (machine-wide counter).
  if (overflows_at_start >= 0 && after.overflows >= 0)
    r.add_int("listen_overflows", static_cast<uint64_t>(after.overflows - overflows_at_start));
  r.add("machine_busy_cores", busy / cpu_window_s, 2);
  r.add("machine_cores", total / cpu_window_s, 2);
  {
    double known = self + (o.observe_pid ? after.service_cpu - before.service_cpu : 0.0);
    for (std::size_t i = 0; i < o.cpu_pids.size(); ++i)
      known += after.other_cpu[i] - before.other_cpu[i];
    r.add("other_processes_cores", std::max(0.0, busy - known) / cpu_window_s, 2);
  }

  // Consumer check: every eventId answered "accepted" must be on Kafka.
  if (!brokers.empty()) {
    PartitionOffsets to;
    ConsumerCheck check;
    try {
      to = high_watermarks(brokers, o.topics, std::chrono::seconds(15));
      check = check_event_ids(brokers, from, to, accepted,
                              std::chrono::milliseconds(o.kafka_check_timeout_ms));
    } catch (const std::exception& e) {
      check.error = e.what();
    }
    r.add("kafka_check",
          check.error.empty() && check.missing == 0 ? std::string("pass") : std::string("FAIL"));
    r.add_int("kafka_expected_ids", check.expected);
    r.add_int("kafka_records", check.records);
    r.add_int("kafka_distinct_ids", check.distinct_ids);
    r.add_int("kafka_missing_ids", check.missing);
    r.add_int("kafka_unexpected_records", check.unexpected);
    r.add_int("kafka_records_without_id", check.without_id);
    std::string sample;
    for (const auto& id : check.sample)
      sample += (sample.empty() ? "" : ",") + id;
    r.add("kafka_missing_sample", sample.empty() ? std::string("none") : sample);
    r.add("kafka_error", check.error.empty() ? std::string("none") : check.error);
  }

  std::ostringstream text;
  for (const auto& [key, value] : r.lines)
    text << key << "=" << value << "\n";
  std::cout << text.str();
  if (!o.out.empty()) {
    std::ofstream out(o.out);
    out << text.str();
  }
  if (!o.timeline.empty()) {
    std::ofstream out(o.timeline);
    out << "# second_of_run ok_answers max_latency_ms (measured requests, by completion time)\n";
    for (std::size_t i = 0; i < all.second_ok.size(); ++i)
      out << i << " " << all.second_ok[i] << " "
          << static_cast<double>(all.second_max_us[i]) / 1000.0 << "\n";
  }
  if (!o.spectrum.empty()) {
    std::ofstream out(o.spectrum);
    out << "# " << (o.label.empty() ? "run" : o.label) << ": latency of '" << kKindNames[main_kind]
        << "' requests in ms, measured from the "
        << (o.rate > 0 ? "intended send time (fixed rate)" : "send time (closed loop)") << "\n";
    out << all.latency[main_kind].percentile_distribution(1000.0);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------

int payloads(const std::vector<std::string>& args) {
  uint64_t count = 1000;
  std::string out;
  std::string mix_spec;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i + 1 >= args.size())
      usage_error(args[i] + " needs a value");
    if (args[i] == "--count")
      count = static_cast<uint64_t>(to_double("--count", args[++i], 1, 1e6));
    else if (args[i] == "--out")
      out = args[++i];
    else if (args[i] == "--mix")
      mix_spec = args[++i];
    else
      usage_error("unknown option " + args[i]);
  }
  std::string error;
  const Mix mix = Mix::parse(mix_spec, &error);
  if (!error.empty())
    usage_error(error);
  PayloadFactory factory(12345, "SAMPLE", 0, mix);
  std::ofstream file;
  if (!out.empty())
    file.open(out);
  uint64_t bytes = 0;
  std::array<uint64_t, kEvents.size()> per_event_bytes{};
  std::array<uint64_t, kEvents.size()> per_event_count{};
  for (uint64_t i = 0; i < count; ++i) {
    std::string id;
    const int event = factory.pick_event();
    const std::string body = factory.make(event, &id);
    bytes += body.size();
    per_event_bytes[static_cast<std::size_t>(event)] += body.size();
    ++per_event_count[static_cast<std::size_t>(event)];
    if (file)
      file << body << "\n";
  }
  std::cout << "avg_body_bytes=" << bytes / count << "\n";
  for (std::size_t e = 0; e < kEvents.size(); ++e) {
    if (per_event_count[e] > 0) {
      std::cout << "bytes_" << kEvents[e] << "=" << per_event_bytes[e] / per_event_count[e] << "\n";
    }
  }
  return 0;
}

volatile std::size_t observed_sink = 0;

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// The physical floor of one event (issue 19): what any receiver must spend on it, measured alone
// on one thread over the benchmark's own bodies: the HMAC-SHA256 of the body (hex, as the
// sender's signature is checked) and one parse of the body into a JSON DOM. No I/O.
int floor_cost(const std::vector<std::string>& args) {
  double seconds = 2;
  std::string mix_spec;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i + 1 >= args.size())
      usage_error(args[i] + " needs a value");
    if (args[i] == "--seconds")
      seconds = to_double("--seconds", args[++i], 0.1, 60);
    else if (args[i] == "--mix")
      mix_spec = args[++i];
    else
      usage_error("unknown option " + args[i]);
  }
  std::string error;
  const Mix mix = Mix::parse(mix_spec, &error);
  if (!error.empty())
    usage_error(error);
  PayloadFactory factory(4242, "FLOOR0", 0, mix);
  std::vector<std::string> bodies;
  for (int i = 0; i < 2000; ++i) {
    std::string id;
    bodies.push_back(factory.make(factory.pick_event(), &id));
  }
  const std::string key = "bench-floor-key";
  const std::string timestamp = "1700000000";
  // Each step timed in its own loop over the same bodies, so neither pays for the other's cache
  // misses; CPU time of this thread, not wall time.
  auto per_event_us = [&](auto&& step) {
    uint64_t events = 0;
    std::size_t sink = 0;
    const double start = thread_cpu_seconds();
    double now = start;
    while (now - start < seconds / 2) {
      for (const auto& body : bodies)
        sink += step(body);
      events += bodies.size();
      now = thread_cpu_seconds();
    }
    observed_sink = sink;  // the work has an observable result: not optimized away
    return (now - start) * 1e6 / static_cast<double>(events);
  };
  const double hmac_us = per_event_us([&](const std::string& body) {
    return cmr_bridge::compute_signature(key, cmr_bridge::SignatureScheme::kBodyHex, timestamp,
                                         body)
        .size();
  });
  const double parse_us = per_event_us([](const std::string& body) {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    return static_cast<std::size_t>(doc.HasParseError() ? 0 : doc.MemberCount());
  });
  uint64_t bytes = 0;
  for (const auto& body : bodies)
    bytes += body.size();
  std::cout << "avg_body_bytes=" << bytes / bodies.size() << "\n";
  std::cout << "hmac_us_per_event=" << hmac_us << "\n";
  std::cout << "json_parse_us_per_event=" << parse_us << "\n";
  std::cout << "floor_us_per_event=" << hmac_us + parse_us << "\n";
  return 0;
}

int topics(const std::vector<std::string>& args) {
  if (args.empty())
    usage_error("topics create|delete|list");
  const std::string command = args[0];
  std::string brokers = "127.0.0.1:9092";
  std::string prefix;
  int partitions = 6;
  std::vector<std::string> names;
  for (std::size_t i = 1; i < args.size(); ++i) {
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size())
        usage_error(args[i] + " needs a value");
      return args[++i];
    };
    if (args[i] == "--brokers")
      brokers = value();
    else if (args[i] == "--prefix")
      prefix = value();
    else if (args[i] == "--partitions")
      partitions = static_cast<int>(to_double("--partitions", value(), 1, 64));
    else
      names.push_back(args[i]);
  }
  const auto timeout = std::chrono::seconds(30);
  try {
    std::string error;
    if (command == "create") {
      error = create_topics(brokers, names, partitions, timeout);
    } else if (command == "delete") {
      if (prefix.size() < 8)
        usage_error("topics delete needs --prefix (at least 8 characters)");
      if (names.empty())
        names = list_topics(brokers, prefix, timeout);
      error = delete_topics(brokers, names, prefix, timeout);
      if (error.empty())
        std::cout << "deleted " << names.size() << " topic(s)\n";
    } else if (command == "list") {
      for (const auto& name : list_topics(brokers, prefix, timeout))
        std::cout << name << "\n";
    } else {
      usage_error("topics create|delete|list");
    }
    if (!error.empty()) {
      std::cerr << "cmr_bridge_loadgen topics " << command << ": " << error << "\n";
      return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "cmr_bridge_loadgen topics " << command << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

// Deterministic checks of the parts the figures rest on; no timing involved.
int selftest() {
  int failures = 0;
  auto expect = [&](bool condition, const std::string& what) {
    if (!condition) {
      std::cerr << "selftest FAILED: " << what << "\n";
      ++failures;
    }
  };
  // Bucket arithmetic: every value lies within its bucket, buckets are < 1/128 wide.
  for (int64_t v : {0LL, 1LL, 255LL, 256LL, 257LL, 1000LL, 123456LL, 99999999LL, 1LL << 35}) {
    const int i = Histogram::index_of(v);
    expect(Histogram::lowest_equivalent(i) <= v && v <= Histogram::highest_equivalent(i),
           "value " + std::to_string(v) + " inside its bucket");
    expect(Histogram::highest_equivalent(i) - Histogram::lowest_equivalent(i) <=
               std::max<int64_t>(0, Histogram::lowest_equivalent(i) / 128),
           "bucket of " + std::to_string(v) + " narrower than 1/128");
  }
  for (int i = 1; i < 3000; ++i)
    expect(Histogram::lowest_equivalent(i) == Histogram::highest_equivalent(i - 1) + 1,
           "buckets contiguous at " + std::to_string(i));
  // Percentiles of 1..100000: within the bucket precision, never below the true value.
  Histogram h;
  for (int64_t v = 1; v <= 100000; ++v)
    h.record(v);
  for (double p : {50.0, 90.0, 99.0, 99.9, 100.0}) {
    const double truth = p / 100.0 * 100000.0;
    const double got = static_cast<double>(h.value_at_percentile(p));
    expect(
        got >= truth && got <= truth * 1.008 + 1,
        "p" + std::to_string(p) + " = " + std::to_string(got) + ", truth " + std::to_string(truth));
  }
  expect(h.max() == 100000 && h.min() == 1 && std::abs(h.mean() - 50000.5) < 1e-6, "min/max/mean");
  // Merge equals recording everything in one.
  Histogram a;
  Histogram b;
  for (int64_t v = 1; v <= 100000; ++v)
    (v % 2 ? a : b).record(v);
  a.merge(b);
  for (double p : {1.0, 50.0, 99.99})
    expect(a.value_at_percentile(p) == h.value_at_percentile(p), "merge p" + std::to_string(p));
  // A 1 % tail of 10 s outliers must show at p99.9 but not at p98.
  Histogram tail;
  for (int i = 0; i < 9900; ++i)
    tail.record(1000);
  for (int i = 0; i < 100; ++i)
    tail.record(10'000'000);
  expect(tail.value_at_percentile(98) < 1010, "p98 of a 1 % tail");
  expect(tail.value_at_percentile(99.9) >= 10'000'000, "p99.9 of a 1 % tail");
  // Payloads: valid-looking envelopes, unique ids, prewarmup ~20 KB, all 11 events.
  PayloadFactory factory(42, "SELFTS", 7, Mix::defaults());
  std::unordered_set<std::string> ids;
  for (std::size_t e = 0; e < kEvents.size(); ++e) {
    std::string id;
    const std::string body = factory.make(static_cast<int>(e), &id);
    expect(id.size() == 28, "eventId has 28 characters");
    expect(ids.insert(id).second, "eventId unique");
    expect(body.rfind("{\"event\":\"" + std::string(kEvents[e]) + "\",\"eventId\":\"" + id +
                          "\",\"data\":{",
                      0) == 0 &&
               body.ends_with("}}"),
           "envelope of " + std::string(kEvents[e]));
    if (kEvents[e] == "prewarmup.order.success")
      expect(body.size() > 12000 && body.size() < 32000,
             "prewarmup.order.success size " + std::to_string(body.size()));
  }
  std::string error;
  const Mix parsed = Mix::parse("mailbox.created=3,prewarmup.order.success=1", &error);
  expect(error.empty() && parsed.weights[4] == 3 && parsed.weights[9] == 1, "mix parse");
  Mix::parse("nope=1", &error);
  expect(!error.empty(), "mix rejects unknown events");
  std::cout << (failures == 0 ? "selftest: 1 passed, 0 failed\n"
                              : "selftest: 0 passed, 1 failed\n");
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace cmr_bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << "usage: cmr_bridge_loadgen run|payloads|topics|floor|selftest [options]\n";
    return 2;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "run")
    return cmr_bench::run(cmr_bench::parse_run(rest));
  if (args[0] == "payloads")
    return cmr_bench::payloads(rest);
  if (args[0] == "topics")
    return cmr_bench::topics(rest);
  if (args[0] == "floor")
    return cmr_bench::floor_cost(rest);
  if (args[0] == "selftest")
    return cmr_bench::selftest();
  std::cerr << "usage: cmr_bridge_loadgen run|payloads|topics|floor|selftest [options]\n";
  return 2;
}
