// Hostile clients against the real binary (no broker: every case is decided before Kafka). Each
// case asserts the answer (status, or the connection closed) and that the bridge's resident
// memory, sampled from /proc while the case runs, stays under a bound. The figures are printed
// (MESSAGE) for the hostile-input table of docs/http-api.md.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/signature.h"
#include "support/bridge_process.h"
#include "support/samples.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The bridge's read timeout. A request queued behind idle connections would be answered only
// after they are cut at this timeout, so the idle-connection case's bound is this value; under
// TSan the unqueued answer alone takes over 5 s here, hence a longer timeout there.
#if defined(__SANITIZE_THREAD__)
constexpr int kReadTimeoutS = 10;
#else
constexpr int kReadTimeoutS = 3;
#endif

std::size_t rss_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// Samples the bridge's RSS every 10 ms while it lives.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid) : pid_(pid), thread_([this] { run(); }) {}
  ~RssSampler() {
    stop_ = true;
    thread_.join();
  }
  std::size_t peak() const { return peak_.load(); }

 private:
  void run() {
    while (!stop_) {
      peak_ = std::max(peak_.load(), rss_bytes(pid_));
      std::this_thread::sleep_for(10ms);
    }
  }
  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> peak_{0};
  std::thread thread_;
};

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Answer {
  int status = 0;        // 0: no status line came back
  bool closed = false;   // the bridge closed (or reset) the connection
  std::string response;  // what came back
  std::size_t sent = 0;  // bytes the client got to send
  std::chrono::milliseconds elapsed{0};
};

// A client that sends `head`, then `body_bytes` produced by `next_chunk`, as fast as the bridge
// reads them (or one byte per `pace` when pace > 0), while reading whatever comes back. Stops at
// the first complete response, at close, or at `timeout`.
Answer attack(int port, const std::string& head, std::size_t body_bytes,
              const std::function<std::string(std::size_t offset)>& next_chunk,
              std::chrono::milliseconds timeout, std::chrono::milliseconds pace = 0ms) {
  Answer answer;
  const auto started = SteadyClock::now();
  const int fd = connect_to(port);
  REQUIRE(fd >= 0);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::string pending = head;
  std::size_t body_sent = 0;
  auto next_send = SteadyClock::now();
  char buffer[16384];
  while (SteadyClock::now() - started < timeout) {
    if (pending.empty() && body_sent < body_bytes) {
      pending = next_chunk(body_sent);
      body_sent += pending.size();
    }
    const bool paced = pace.count() > 0;
    const bool want_write = !pending.empty() && (!paced || SteadyClock::now() >= next_send);
    pollfd entry{fd, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
    ::poll(&entry, 1, paced ? 50 : 200);
    if (entry.revents & POLLIN) {
      const ssize_t received = ::recv(fd, buffer, sizeof buffer, 0);
      if (received <= 0) {
        answer.closed = true;
        break;
      }
      answer.response.append(buffer, static_cast<std::size_t>(received));
      const auto end = answer.response.find("\r\n\r\n");
      const auto length_at = answer.response.find("Content-Length: ");
      if (end != std::string::npos && length_at != std::string::npos && length_at < end &&
          answer.response.size() >= end + 4 + std::stoul(answer.response.substr(length_at + 16)))
        break;
    }
    if (entry.revents & (POLLERR | POLLHUP)) {
      answer.closed = true;
      break;
    }
    if (want_write && (entry.revents & POLLOUT)) {
      const std::size_t size = paced ? 1 : pending.size();
      const ssize_t sent = ::send(fd, pending.data(), size, MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN) {
        answer.closed = true;
        break;
      }
      if (sent > 0) {
        pending.erase(0, static_cast<std::size_t>(sent));
        answer.sent += static_cast<std::size_t>(sent);
        next_send = SteadyClock::now() + pace;
      }
    }
  }
  ::close(fd);
  answer.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
  if (answer.response.rfind("HTTP/1.1 ", 0) == 0)
    answer.status = std::atoi(answer.response.c_str() + 9);
  return answer;
}

std::string signed_request(const std::string& body) {
  const std::string timestamp =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
  return "POST /webhooks HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n"
         "cmr-x-timestamp: " +
         timestamp + "\r\ncmr-x-signature: " +
         compute_signature(kTestKey, SignatureScheme::kBodyHex, timestamp, body) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

constexpr std::size_t kMiB = 1024 * 1024;
// How much the bridge's RSS may grow during one hostile case: far below the 300 MiB the worst
// cases send. ASan multiplies what each connection touches (shadow memory, redzones, its
// quarantine; measured: 512 idle connections +42 MB under ASan against +14 MB plain), so its
// bound is four times larger, still under the attacks it guards against. Under TSan the RSS is
// TSan's own (shadow and per-thread trace memory: measured ~330 MB peak in every case, the one
// that sends 4 bytes included), so the bound is checked in the plain and ASan builds only; the
// TSan build checks the answers.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kRssGrowthBound = 128 * kMiB;
#else
constexpr std::size_t kRssGrowthBound = 32 * kMiB;
#endif
#if defined(__SANITIZE_THREAD__)
constexpr bool kRssBoundChecked = false;
#else
constexpr bool kRssBoundChecked = true;
#endif
// Unsigned, expired: a bridge that read the body first would still answer 401 at the end.
const std::string kUnsignedHeaders =
    "Host: bridge\r\ncmr-x-timestamp: 1\r\ncmr-x-signature: 00\r\nContent-Type: "
    "application/json\r\n";

struct HostileCase {
  const char* name;
  std::function<Answer(int port)> run;
  int expected_status;  // 0: the connection is closed without an answer
  std::string expected_code;
  std::size_t rss_growth_bound;
};

std::vector<HostileCase> hostile_cases() {
  const auto zeros = [](std::size_t) { return std::string(64 * 1024, 'x'); };
  return {
      {"chunked body of 300 MiB",
       [=](int port) {
         return attack(
             port,
             "POST /webhooks HTTP/1.1\r\n" + kUnsignedHeaders +
                 "Transfer-Encoding: chunked\r\n\r\n",
             300 * kMiB,
             [](std::size_t) { return "10000\r\n" + std::string(0x10000, 'x') + "\r\n"; }, 20s);
       },
       411, "length_required", kRssGrowthBound},
      {"Content-Length body of 300 MiB",
       [=](int port) {
         return attack(port,
                       "POST /webhooks HTTP/1.1\r\n" + kUnsignedHeaders +
                           "Content-Length: " + std::to_string(300 * kMiB) + "\r\n\r\n",
                       300 * kMiB, zeros, 20s);
       },
       413, "payload_too_large", kRssGrowthBound},
      {"10,000 headers",
       [](int port) {
         std::string head = "POST /webhooks HTTP/1.1\r\n";
         for (int i = 0; i < 10000; ++i)
           head += "X-Filler-" + std::to_string(i) + ": v\r\n";
         return attack(port, head + "Content-Length: 0\r\n\r\n", 0, nullptr, 20s);
       },
       431, "too_many_headers", kRssGrowthBound},
      {"a header line of 1 MiB",
       [](int port) {
         return attack(port,
                       "POST /webhooks HTTP/1.1\r\nX-Big: " + std::string(kMiB, 'a') +
                           "\r\nContent-Length: 0\r\n\r\n",
                       0, nullptr, 20s);
       },
       431, "header_too_large", kRssGrowthBound},
      {"one byte every 2 s",
       [](int port) {
         return attack(port, signed_request(kDomainOrderSuccess), 0, nullptr,
                       std::chrono::seconds(kReadTimeoutS + 10), 2s);
       },
       408, "request_timeout", kRssGrowthBound},
  };
}

struct HostileFixture {
  BridgeProcess bridge{{{"CMR_BRIDGE_SIGNING_KEYS", kTestKey},
                        {"CMR_BRIDGE_KAFKA_BROKERS", "127.0.0.1:1"},
                        {"CMR_BRIDGE_DEDUP", "false"},
                        {"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "1000"},
                        {"CMR_BRIDGE_READ_TIMEOUT_S", std::to_string(kReadTimeoutS)}}};
  HostileFixture() { REQUIRE(bridge.wait_listening(20s)); }
};

}  // namespace

TEST_CASE_FIXTURE(HostileFixture,
                  "hostile clients get their documented answer and the bridge's memory stays "
                  "bounded") {
  for (const auto& hostile : hostile_cases()) {
    SUBCASE(hostile.name) {
      std::this_thread::sleep_for(200ms);
      const std::size_t before = rss_bytes(bridge.pid());
      std::size_t peak = 0;
      Answer answer;
      {
        RssSampler sampler(bridge.pid());
        answer = hostile.run(bridge.port());
        std::this_thread::sleep_for(100ms);
        peak = sampler.peak();
      }
      MESSAGE(std::string(hostile.name)
              << ": status " << answer.status << ", closed " << answer.closed << ", client sent "
              << answer.sent << " bytes in " << answer.elapsed.count() << " ms; RSS "
              << before / 1024 << " KiB before, peak " << peak / 1024 << " KiB");
      CHECK(answer.status == hostile.expected_status);
      CHECK(answer.response.find("\"error\":\"" + hostile.expected_code + "\"") !=
            std::string::npos);
      CHECK(answer.response.find("Connection: close") != std::string::npos);
      if (kRssBoundChecked)
        CHECK(peak < before + hostile.rss_growth_bound);
    }
  }
}

TEST_CASE_FIXTURE(HostileFixture,
                  "512 idle connections hold no worker: a signed request behind them is "
                  "answered") {
  const std::size_t before = rss_bytes(bridge.pid());
  std::vector<int> idle;
  for (int i = 0; i < 512; ++i) {
    const int fd = connect_to(bridge.port());
    REQUIRE(fd >= 0);
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(200ms);  // all accepted and parked
  RssSampler sampler(bridge.pid());
  // The broker is absent, so the pipeline answers 503 once the 1 s delivery timeout passes;
  // what is asserted is that no idle connection delays it (bound: kReadTimeoutS, above).
  const Answer answer = attack(bridge.port(), signed_request(kDomainOrderSuccess), 0, nullptr, 10s);
  const std::size_t peak = sampler.peak();
  for (int fd : idle)
    ::close(fd);
  MESSAGE("signed request behind 512 idle connections: status "
          << answer.status << " in " << answer.elapsed.count() << " ms; RSS " << before / 1024
          << " KiB before, peak " << peak / 1024 << " KiB");
  CHECK(answer.status == 503);
  CHECK(answer.response.find("server_busy") == std::string::npos);
  CHECK(answer.elapsed < std::chrono::seconds(kReadTimeoutS));
  if (kRssBoundChecked)
    CHECK(peak < before + kRssGrowthBound);
}
