#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "core/spool_codec.h"
#include "log/logger.h"
#include "spool/file_spool.h"

using namespace cmr_bridge;
namespace fs = std::filesystem;
using namespace std::chrono;

namespace {

SpooledRequest request(int i, std::size_t body_size = 40) {
  std::string body = "{\"eventId\":\"E" + std::to_string(i) + "\"}";
  body.resize(std::max(body.size(), body_size), ' ');
  return {body, std::to_string(1700000000 + i), "body-hex",
          system_clock::time_point(milliseconds(1700000000000 + i))};
}

struct TempDir {
  fs::path path;
  TempDir() {
    char templ[] = "/tmp/cmr-spool-test-XXXXXX";
    path = mkdtemp(templ);
    set_log_fd(-1);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, ec);
    fs::remove_all(path, ec);
    set_log_fd(1);
  }
};

std::unique_ptr<FileSpool> open_spool(const fs::path& dir, std::size_t max_bytes = 1 << 20,
                                      std::size_t segment_bytes = 1 << 20) {
  std::string error;
  auto spool = FileSpool::open({dir.string(), max_bytes, segment_bytes}, &error);
  REQUIRE_MESSAGE(spool, error);
  return spool;
}

std::vector<std::string> drain(FileSpool& spool) {
  std::vector<std::string> bodies;
  while (auto next = spool.peek()) {
    bodies.push_back(next->body);
    spool.pop();
  }
  return bodies;
}

}  // namespace

TEST_SUITE("spool") {
  TEST_CASE("frames round-trip every field") {
    const SpooledRequest original = request(7);
    const std::string frame = encode_spool_frame(original);
    const DecodedFrame decoded = decode_spool_frame(frame + "trailing");
    REQUIRE(decoded.status == FrameStatus::kOk);
    CHECK(decoded.size == frame.size());
    CHECK(decoded.request.body == original.body);
    CHECK(decoded.request.timestamp == original.timestamp);
    CHECK(decoded.request.signature_scheme == "body-hex");
    CHECK(decoded.request.received == original.received);
  }

  TEST_CASE("a cut frame is incomplete and a flipped byte is corrupt") {
    const std::string frame = encode_spool_frame(request(1));
    for (std::size_t cut = 0; cut < frame.size(); ++cut) {
      CAPTURE(cut);
      CHECK(decode_spool_frame(frame.substr(0, cut)).status == FrameStatus::kIncomplete);
    }
    for (std::size_t at = 8; at < frame.size(); ++at) {
      std::string flipped = frame;
      flipped[at] = static_cast<char>(flipped[at] ^ 0x40);
      CAPTURE(at);
      CHECK(decode_spool_frame(flipped).status == FrameStatus::kCorrupt);
    }
  }

  TEST_CASE("records come back in arrival order and survive a reopen") {
    TempDir dir;
    {
      auto spool = open_spool(dir.path);
      CHECK_FALSE(spool->backlogged());
      for (int i = 0; i < 10; ++i)
        REQUIRE(spool->append(request(i)) == SpoolAppendResult::kDurable);
      CHECK(spool->backlogged());
      CHECK(spool->stats().records == 10);
      CHECK(spool->stats().oldest == request(0).received);
      for (int i = 0; i < 3; ++i) {
        REQUIRE(spool->peek());
        spool->pop();
      }
    }
    auto reopened = open_spool(dir.path);
    CHECK(reopened->recovery().records == 7);
    const auto bodies = drain(*reopened);
    REQUIRE(bodies.size() == 7);
    CHECK(bodies.front() == request(3).body);
    CHECK(bodies.back() == request(9).body);
    CHECK_FALSE(reopened->backlogged());
  }

  TEST_CASE("a torn tail is detected and cut; everything before it is kept") {
    TempDir dir;
    {
      auto spool = open_spool(dir.path);
      for (int i = 0; i < 5; ++i)
        spool->append(request(i));
    }
    fs::path segment;
    for (const auto& e : fs::directory_iterator(dir.path)) {
      if (e.path().extension() == ".log")
        segment = e.path();
    }
    REQUIRE_FALSE(segment.empty());
    const std::string half = encode_spool_frame(request(99)).substr(0, 20);
    std::ofstream(segment, std::ios::binary | std::ios::app) << half;
    auto reopened = open_spool(dir.path);
    CHECK(reopened->recovery().torn_bytes == half.size());
    CHECK(reopened->recovery().records == 5);
    REQUIRE(reopened->append(request(5)) == SpoolAppendResult::kDurable);
    const auto bodies = drain(*reopened);
    REQUIRE(bodies.size() == 6);
    CHECK(bodies.back() == request(5).body);
  }

  TEST_CASE("segments rotate and forwarded ones are deleted") {
    TempDir dir;
    auto spool = open_spool(dir.path, 1 << 20, 400);
    for (int i = 0; i < 30; ++i)
      REQUIRE(spool->append(request(i, 100)) == SpoolAppendResult::kDurable);
    std::size_t segments = 0;
    for (const auto& e : fs::directory_iterator(dir.path))
      segments += e.path().extension() == ".log";
    CHECK(segments > 5);
    CHECK(drain(*spool).size() == 30);
    segments = 0;
    for (const auto& e : fs::directory_iterator(dir.path))
      segments += e.path().extension() == ".log";
    CHECK(segments == 1);
  }

  TEST_CASE("the spool is bounded by bytes: full is refused, draining makes room") {
    TempDir dir;
    const std::size_t frame = encode_spool_frame(request(0, 200)).size();
    auto spool = open_spool(dir.path, frame * 3);
    for (int i = 0; i < 3; ++i)
      CHECK(spool->append(request(i, 200)) == SpoolAppendResult::kDurable);
    CHECK(spool->append(request(3, 200)) == SpoolAppendResult::kFull);
    REQUIRE(spool->peek());
    spool->pop();
    CHECK(spool->append(request(3, 200)) == SpoolAppendResult::kDurable);
  }

  TEST_CASE("concurrent appends are all durable and none is lost (group commit)") {
    TempDir dir;
    auto spool = open_spool(dir.path, 64 << 20, 64 << 10);
    std::vector<std::thread> writers;
    std::atomic<int> durable{0};
    for (int t = 0; t < 8; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          durable += spool->append(request(t * 1000 + i)) == SpoolAppendResult::kDurable;
        }
      });
    }
    for (auto& w : writers)
      w.join();
    CHECK(durable == 400);
    spool.reset();
    auto reopened = open_spool(dir.path, 64 << 20, 64 << 10);
    CHECK(reopened->recovery().records == 400);
    CHECK(drain(*reopened).size() == 400);
  }

  TEST_CASE("an unusable directory fails open, naming it") {
    if (geteuid() == 0) {
      // root ignores permissions; a path under a regular file can never be a directory
      std::ofstream("/tmp/cmr-spool-not-a-dir") << "x";
      std::string error;
      CHECK_FALSE(FileSpool::open({"/tmp/cmr-spool-not-a-dir/spool", 1 << 20, 1 << 20}, &error));
      CHECK(error.find("CMR_BRIDGE_SPOOL_DIR") == 0);
      std::remove("/tmp/cmr-spool-not-a-dir");
    } else {
      TempDir dir;
      fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
      std::string error;
      CHECK_FALSE(FileSpool::open({(dir.path / "sub").string(), 1 << 20, 1 << 20}, &error));
    }
  }
}
