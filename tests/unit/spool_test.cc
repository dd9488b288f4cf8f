#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
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
  auto spool = FileSpool::open({dir.string(), max_bytes, segment_bytes});
  REQUIRE_MESSAGE(spool, (spool ? "" : spool.error().message()));
  return std::move(spool).value();
}

std::unique_ptr<FileSpool> open_spool_with_sync(const fs::path& dir,
                                                std::function<int(int)> sync_data,
                                                std::size_t segment_bytes = 1 << 20) {
  SpoolSettings settings{dir.string(), 64 << 20, segment_bytes};
  settings.sync_data = std::move(sync_data);
  auto spool = FileSpool::open(settings);
  REQUIRE_MESSAGE(spool, (spool ? "" : spool.error().message()));
  return std::move(spool).value();
}

int failed_sync() {
  errno = EIO;
  return -1;
}

// The spool's segment file with the highest name (the one appended to), or empty.
fs::path last_segment(const fs::path& dir) {
  fs::path last;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log" && (last.empty() || e.path().filename() > last.filename()))
      last = e.path();
  }
  return last;
}

std::size_t segment_files(const fs::path& dir) {
  std::size_t count = 0;
  for (const auto& e : fs::directory_iterator(dir))
    count += e.path().extension() == ".log";
  return count;
}

std::vector<std::string> drain(FileSpool& spool) {
  std::vector<std::string> bodies;
  while (auto next = spool.read_next()) {
    bodies.push_back(next->body);
    spool.commit_oldest();
  }
  return bodies;
}

// A frame around `payload` with a correct length and checksum (a changed payload re-framed).
std::string reframed(const std::string& payload) {
  std::string out(kSpoolFrameHeader, '\0');
  const auto length = static_cast<uint32_t>(payload.size());
  const auto crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                               reinterpret_cast<const Bytef*>(payload.data()),
                                               static_cast<uInt>(payload.size())));
  std::memcpy(out.data(), &length, 4);
  std::memcpy(out.data() + 4, &crc, 4);
  return out + payload;
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

  TEST_CASE("a trace context makes a version 2 frame; without one the frame stays version 1") {
    SpooledRequest traced = request(3);
    traced.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    traced.tracestate = "rojo=00f067aa0ba902b7";
    const std::string frame = encode_spool_frame(traced);
    CHECK(frame[kSpoolFrameHeader] == 2);
    const DecodedFrame decoded = decode_spool_frame(frame);
    REQUIRE(decoded.status == FrameStatus::kOk);
    CHECK(decoded.size == frame.size());
    CHECK(decoded.request.body == traced.body);
    CHECK(decoded.request.timestamp == traced.timestamp);
    CHECK(decoded.request.traceparent == traced.traceparent);
    CHECK(decoded.request.tracestate == traced.tracestate);
    SpooledRequest parent_only = traced;
    parent_only.tracestate.clear();
    const DecodedFrame parent_decoded = decode_spool_frame(encode_spool_frame(parent_only));
    REQUIRE(parent_decoded.status == FrameStatus::kOk);
    CHECK(parent_decoded.request.traceparent == traced.traceparent);
    CHECK(parent_decoded.request.tracestate.empty());
    // The version-1 layout, byte for byte as earlier releases wrote it, still reads.
    const std::string plain = encode_spool_frame(request(3));
    CHECK(plain[kSpoolFrameHeader] == 1);
    const DecodedFrame old = decode_spool_frame(plain);
    REQUIRE(old.status == FrameStatus::kOk);
    CHECK(old.request.traceparent.empty());
    CHECK(old.request.tracestate.empty());
  }

  TEST_CASE(
      "a version 2 frame with a repeated or empty tag is corrupt; an intact one with an unknown "
      "tag or a higher version is a newer release's format") {
    SpooledRequest traced = request(4);
    traced.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const std::string frame = encode_spool_frame(traced);
    const std::string payload = frame.substr(kSpoolFrameHeader);
    const std::size_t tag_at = payload.size() - traced.traceparent.size() - 3;
    REQUIRE(payload[tag_at] == 1);
    CHECK(decode_spool_frame(reframed(payload)).status == FrameStatus::kOk);
    std::string unknown = payload;
    unknown[tag_at] = 6;  // no release knows tag 6 yet
    const DecodedFrame newer_tag = decode_spool_frame(reframed(unknown));
    CHECK(newer_tag.status == FrameStatus::kNewerFormat);
    CHECK(newer_tag.newer == "field tag 6");
    std::string version_3 = payload;
    version_3[0] = 3;
    const DecodedFrame newer_version = decode_spool_frame(reframed(version_3));
    CHECK(newer_version.status == FrameStatus::kNewerFormat);
    CHECK(newer_version.newer == "format version 3");
    std::string version_0 = payload;
    version_0[0] = 0;
    CHECK(decode_spool_frame(reframed(version_0)).status == FrameStatus::kCorrupt);
    std::string cut_unknown = unknown.substr(0, unknown.size() - 1);  // its value is cut short
    CHECK(decode_spool_frame(reframed(cut_unknown)).status == FrameStatus::kCorrupt);
    // A damaged frame is corrupt whatever its tags say: the checksum is tested first.
    std::string damaged = reframed(unknown);
    damaged.back() = static_cast<char>(damaged.back() ^ 0x40);
    CHECK(decode_spool_frame(damaged).status == FrameStatus::kCorrupt);
    const std::string repeated = payload + payload.substr(tag_at);
    CHECK(decode_spool_frame(reframed(repeated)).status == FrameStatus::kCorrupt);
    const std::string empty_value = payload + std::string("\x02\0\0", 3);
    CHECK(decode_spool_frame(reframed(empty_value)).status == FrameStatus::kCorrupt);
    std::string as_version_1 = payload;
    as_version_1[0] = 1;  // version 1 has no tagged fields after the body
    CHECK(decode_spool_frame(reframed(as_version_1)).status == FrameStatus::kCorrupt);
  }

  TEST_CASE("a cut frame is incomplete and a flipped byte is corrupt") {
    SpooledRequest traced = request(1);
    traced.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const std::string traced_frame = encode_spool_frame(traced);
    for (std::size_t cut = 0; cut < traced_frame.size(); ++cut) {
      CAPTURE(cut);
      CHECK(decode_spool_frame(traced_frame.substr(0, cut)).status == FrameStatus::kIncomplete);
    }
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
        REQUIRE(spool->read_next());
        spool->commit_oldest();
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

  TEST_CASE(
      "records read ahead stay in the spool until committed, in order; a reopen returns "
      "every uncommitted one and segments go only once committed") {
    TempDir dir;
    {
      auto spool = open_spool(dir.path, 1 << 20, 400);
      for (int i = 0; i < 12; ++i)
        REQUIRE(spool->append(request(i, 100)) == SpoolAppendResult::kDurable);
      const std::size_t segments = segment_files(dir.path);
      REQUIRE(segments > 3);
      for (int i = 0; i < 10; ++i) {
        const auto next = spool->read_next();
        REQUIRE(next);
        CHECK(next->body == request(i, 100).body);
      }
      CHECK(spool->stats().records == 12);
      CHECK(spool->backlogged());
      CHECK(segment_files(dir.path) == segments);
      for (int i = 0; i < 4; ++i)
        spool->commit_oldest();
      CHECK(spool->stats().records == 8);
      CHECK(spool->stats().oldest == request(4, 100).received);
      CHECK(segment_files(dir.path) < segments);
      CHECK(spool->read_next()->body == request(10, 100).body);
    }
    auto reopened = open_spool(dir.path, 1 << 20, 400);
    CHECK(reopened->recovery().records == 8);
    const auto bodies = drain(*reopened);
    REQUIRE(bodies.size() == 8);
    CHECK(bodies.front() == request(4, 100).body);
    CHECK(bodies.back() == request(11, 100).body);
  }

  TEST_CASE("a torn tail is detected and cut; everything before it is kept") {
    TempDir dir;
    {
      auto spool = open_spool(dir.path);
      for (int i = 0; i < 5; ++i)
        spool->append(request(i));
    }
    const fs::path segment = last_segment(dir.path);
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

  TEST_CASE(
      "a record in a newer release's spool format stops the open, naming the segment, and "
      "nothing is cut") {
    TempDir dir;
    {
      auto spool = open_spool(dir.path);
      for (int i = 0; i < 3; ++i)
        REQUIRE(spool->append(request(i)) == SpoolAppendResult::kDurable);
    }
    const fs::path segment = last_segment(dir.path);
    REQUIRE_FALSE(segment.empty());
    // A newer release's record: intact, with a version this release does not know.
    std::string payload = encode_spool_frame(request(3)).substr(kSpoolFrameHeader);
    payload[0] = 3;
    const std::string frame = reframed(payload);
    std::ofstream(segment, std::ios::binary | std::ios::app)
        << frame << encode_spool_frame(request(4));
    const auto size_before = fs::file_size(segment);

    const auto refused = FileSpool::open({dir.path.string(), 1 << 20, 1 << 20});
    REQUIRE_FALSE(refused);
    const std::string message = refused.error().message();
    CHECK(message.find("CMR_BRIDGE_SPOOL_DIR") != std::string::npos);
    CHECK(message.find(segment.string()) != std::string::npos);
    CHECK(message.find("newer spool format (format version 3)") != std::string::npos);
    CHECK(fs::file_size(segment) == size_before);
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
    REQUIRE(spool->read_next());
    spool->commit_oldest();
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

  TEST_CASE("after a failed sync, a later successful sync does not make earlier appends durable") {
    // Thread A's sync fails (EIO) while thread B's frame is already written; B's own sync then
    // succeeds, as Linux allows once the error was reported. B must not be told durable.
    TempDir dir;
    std::mutex mutex;
    std::condition_variable changed;
    int calls = 0;
    bool release_failure = false;
    auto spool = open_spool_with_sync(dir.path, [&](int fd) {
      std::unique_lock lock(mutex);
      if (++calls == 2) {  // call 1 is request 0's sync; call 2 fails once B has written
        changed.notify_all();
        changed.wait(lock, [&] { return release_failure; });
        return failed_sync();
      }
      return ::fdatasync(fd);
    });
    REQUIRE(spool->append(request(0)) == SpoolAppendResult::kDurable);
    SpoolAppendResult first = SpoolAppendResult::kDurable;
    SpoolAppendResult second = SpoolAppendResult::kDurable;
    std::thread a([&] { first = spool->append(request(1)); });
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return calls >= 2; });
    }
    std::thread b([&] { second = spool->append(request(2)); });
    while (spool->stats().records < 3)
      std::this_thread::yield();
    {
      std::lock_guard lock(mutex);
      release_failure = true;
    }
    changed.notify_all();
    a.join();
    b.join();
    CHECK(first == SpoolAppendResult::kFailed);
    CHECK(second == SpoolAppendResult::kFailed);
    CHECK(spool->stats().records == 1);
    CHECK(spool->stats().sync_failures == 1);
    CHECK(spool->stats().accepting);
    REQUIRE(spool->append(request(3)) == SpoolAppendResult::kDurable);
    spool.reset();
    auto reopened = open_spool(dir.path);
    CHECK(drain(*reopened) == std::vector<std::string>{request(0).body, request(3).body});
  }

  TEST_CASE("concurrent appends with injected sync failures: exactly the durable ones survive") {
    TempDir dir;
    std::atomic<int> calls{0};
    auto spool = open_spool_with_sync(
        dir.path, [&](int fd) { return ++calls % 7 == 0 ? failed_sync() : ::fdatasync(fd); },
        4 << 10);
    std::mutex mutex;
    std::set<std::string> durable;
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < 40; ++i) {
          const SpooledRequest r = request(t * 1000 + i, 100);
          if (spool->append(r) == SpoolAppendResult::kDurable) {
            std::lock_guard lock(mutex);
            durable.insert(r.body);
          }
        }
      });
    }
    for (auto& w : writers)
      w.join();
    CHECK(spool->stats().sync_failures > 0);
    CHECK(durable.size() < 320);
    CHECK(spool->stats().records == durable.size());
    spool.reset();
    auto reopened = open_spool(dir.path, 64 << 20, 4 << 10);
    const auto bodies = drain(*reopened);
    CHECK(std::set<std::string>(bodies.begin(), bodies.end()) == durable);
    CHECK(bodies.size() == durable.size());
  }

  TEST_CASE("after a failed sync the spool refuses appends until a fresh segment syncs") {
    TempDir dir;
    std::atomic<bool> disk_failing{false};
    auto spool = open_spool_with_sync(
        dir.path, [&](int fd) { return disk_failing ? failed_sync() : ::fdatasync(fd); });
    REQUIRE(spool->append(request(0)) == SpoolAppendResult::kDurable);
    disk_failing = true;
    CHECK(spool->append(request(1)) == SpoolAppendResult::kFailed);
    CHECK_FALSE(spool->stats().accepting);
    CHECK(spool->append(request(2)) == SpoolAppendResult::kFailed);
    CHECK(spool->stats().records == 1);
    disk_failing = false;
    CHECK(spool->append(request(3)) == SpoolAppendResult::kDurable);
    CHECK(spool->stats().accepting);
    CHECK(segment_files(dir.path) >= 2);
    CHECK(drain(*spool) == std::vector<std::string>{request(0).body, request(3).body});
    CHECK_FALSE(spool->backlogged());
  }

  TEST_CASE("the forwarder reads only synced records") {
    TempDir dir;
    std::atomic<int> failing_calls{0};
    std::atomic<bool> peeked_unsynced{false};
    std::atomic<FileSpool*> self{nullptr};
    auto spool = open_spool_with_sync(dir.path, [&](int fd) {
      FileSpool* forwarder_view = self.load();
      if (forwarder_view == nullptr)
        return ::fdatasync(fd);
      // The first call is the group commit's, made without the spool's lock.
      if (++failing_calls == 1)
        peeked_unsynced = forwarder_view->read_next().has_value();
      return failed_sync();
    });
    self = spool.get();
    CHECK(spool->append(request(0)) == SpoolAppendResult::kFailed);
    self = nullptr;
    CHECK_FALSE(peeked_unsynced);
    CHECK_FALSE(spool->backlogged());
  }

  TEST_CASE("an unreadable record skipped by the reader leaves no phantom backlog") {
    TempDir dir;
    auto spool = open_spool(dir.path);
    for (int i = 0; i < 3; ++i)
      REQUIRE(spool->append(request(i)) == SpoolAppendResult::kDurable);
    const fs::path segment = last_segment(dir.path);
    const std::size_t frame = encode_spool_frame(request(0)).size();
    {
      std::fstream file(segment, std::ios::binary | std::ios::in | std::ios::out);
      file.seekp(static_cast<std::streamoff>(frame + 12));
      file.put('#');
    }
    CHECK(drain(*spool) == std::vector<std::string>{request(0).body});
    CHECK(spool->stats().records == 0);
    CHECK(spool->stats().bytes == 0);
    CHECK_FALSE(spool->backlogged());
    REQUIRE(spool->append(request(3)) == SpoolAppendResult::kDurable);
    CHECK(drain(*spool) == std::vector<std::string>{request(3).body});
    CHECK_FALSE(spool->backlogged());
  }

  TEST_CASE("an unusable directory fails open, naming it") {
    if (geteuid() == 0) {
      // root ignores permissions; a path under a regular file can never be a directory
      std::ofstream("/tmp/cmr-spool-not-a-dir") << "x";
      const auto opened = FileSpool::open({"/tmp/cmr-spool-not-a-dir/spool", 1 << 20, 1 << 20});
      REQUIRE_FALSE(opened);
      CHECK(opened.error().message().find("CMR_BRIDGE_SPOOL_DIR") == 0);
      std::remove("/tmp/cmr-spool-not-a-dir");
    } else {
      TempDir dir;
      fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
      CHECK_FALSE(FileSpool::open({(dir.path / "sub").string(), 1 << 20, 1 << 20}));
    }
  }
}
