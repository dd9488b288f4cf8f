#include "spool/file_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/spool_codec.h"
#include "log/logger.h"
#include "spool/durable_io.h"

namespace cmr_bridge {
namespace fs = std::filesystem;

namespace {
constexpr const char* kCursorFile = "cursor";
constexpr uint64_t kCursorSyncEvery = 64;

bool read_exact(int fd, std::size_t offset, std::size_t size, std::string& out) {
  out.resize(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<uint64_t> segment_id(const fs::path& path) {
  const std::string name = path.filename().string();
  if (name.size() != 28 || name.rfind("segment-", 0) != 0 || name.substr(24) != ".log") {
    return std::nullopt;
  }
  uint64_t id = 0;
  for (char c : name.substr(8, 16)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    id = id * 10 + static_cast<uint64_t>(c - '0');
  }
  return id;
}
}  // namespace

// Owns one file descriptor (RAII). Shared so that a group-commit fsync in flight keeps the
// descriptor of a segment that was just rotated away from valid.
struct FileSpool::FileHandle {
  int fd = -1;
  explicit FileHandle(int f) : fd(f) {}
  ~FileHandle() {
    if (fd >= 0)
      ::close(fd);
  }
};

FileSpool::FileSpool(SpoolSettings settings) : settings_(std::move(settings)) {}

FileSpool::~FileSpool() {
  std::lock_guard lock(mutex_);
  if (writer_)
    sync_data(writer_->fd);
  write_cursor(true);
}

int FileSpool::sync_data(int fd) const {
  return settings_.sync_data ? settings_.sync_data(fd) : ::fdatasync(fd);
}

std::string FileSpool::segment_path(uint64_t id) const {
  char name[32];
  std::snprintf(name, sizeof name, "segment-%016llu.log", static_cast<unsigned long long>(id));
  return (fs::path(settings_.dir) / name).string();
}

Result<std::unique_ptr<FileSpool>> FileSpool::open(const SpoolSettings& settings) {
  std::unique_ptr<FileSpool> spool(new FileSpool(settings));
  std::error_code ec;
  fs::create_directories(settings.dir, ec);
  if (ec)
    return Error("CMR_BRIDGE_SPOOL_DIR: cannot create " + settings.dir + ": " + ec.message());
  std::lock_guard lock(spool->mutex_);
  if (Status recovered = spool->recover(); !recovered)
    return recovered.error();
  return spool;
}

Status FileSpool::recover() {
  // Where the forwarder stopped: "<segment id> <offset>".
  {
    std::ifstream cursor(fs::path(settings_.dir) / kCursorFile);
    unsigned long long id = 0;
    std::size_t offset = 0;
    if (cursor >> id >> offset) {
      cursor_segment_ = id;
      cursor_offset_ = offset;
    }
  }
  std::vector<std::pair<uint64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(settings_.dir, ec)) {
    if (const auto id = segment_id(entry.path()))
      found.emplace_back(*id, entry.path());
  }
  if (ec) {
    return Error("CMR_BRIDGE_SPOOL_DIR: cannot list " + settings_.dir + ": " + ec.message());
  }
  std::sort(found.begin(), found.end());
  for (const auto& [id, path] : found) {
    if (id < cursor_segment_) {  // fully forwarded before the last stop
      fs::remove(path, ec);
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t offset = 0;
    std::size_t records = 0;
    std::size_t frames = 0;
    while (offset < bytes.size()) {
      const DecodedFrame frame = decode_spool_frame(std::string_view(bytes).substr(offset));
      if (frame.status == FrameStatus::kNewerFormat) {
        // A record answered "200 spooled" by a newer release: refuse to start rather than cut
        // it (as a torn write would be) or misread it.
        return Error("CMR_BRIDGE_SPOOL_DIR: " + path.string() + " at byte " +
                     std::to_string(offset) + " holds a record in a newer spool format (" +
                     frame.newer +
                     ") than this release reads; nothing was cut. Run the release that wrote "
                     "it until the spool drains, then this one (docs/operations.md#upgrading)");
      }
      if (frame.status != FrameStatus::kOk)
        break;
      const bool unforwarded = id > cursor_segment_ || offset >= cursor_offset_;
      if (unforwarded) {
        ++records;
        pending_bytes_ += frame.size;
        if (!oldest_)
          oldest_ = frame.request.received;
      }
      offset += frame.size;
      ++frames;
    }
    if (offset < bytes.size()) {
      // A torn write (crash mid-append) or corruption: everything from here on was never
      // acknowledged as durable, so it is cut.
      recovery_.torn_bytes += bytes.size() - offset;
      if (::truncate(path.c_str(), static_cast<off_t>(offset)) != 0) {
        return Error("CMR_BRIDGE_SPOOL_DIR: cannot truncate " + path.string() + ": " +
                     std::strerror(errno));
      }
      log_warn("spool tail cut", {{"segment", path.filename().string()},
                                  {"bytes", static_cast<int64_t>(bytes.size() - offset)}});
    }
    recovery_.records += records;
    segments_.push_back({id, path.string(), offset, offset, frames, frames, records});
  }
  pending_records_.store(recovery_.records);
  if (!segments_.empty() && cursor_segment_ < segments_.front().id) {
    cursor_segment_ = segments_.front().id;
    cursor_offset_ = 0;
  }
  if (!segments_.empty() && cursor_segment_ == segments_.front().id) {
    cursor_offset_ = std::min(cursor_offset_, segments_.front().size);
  }
  const uint64_t next_id =
      segments_.empty() ? std::max<uint64_t>(cursor_segment_, 1) : segments_.back().id;
  if (segments_.empty()) {
    cursor_segment_ = next_id;
    cursor_offset_ = 0;
  }
  return open_segment_for_append(next_id);
}

Status FileSpool::open_segment_for_append(uint64_t id) {
  const std::string path = segment_path(id);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return Error("CMR_BRIDGE_SPOOL_DIR: cannot open " + path + ": " + std::strerror(errno));
  writer_ = std::make_shared<FileHandle>(fd);
  if (segments_.empty() || segments_.back().id != id) {
    segments_.push_back({id, path, 0, 0, 0, 0, 0});
    fsync_directory(settings_.dir);
  }
  return ok_status();
}

bool FileSpool::failed_seq(uint64_t seq) const {
  for (auto range = failed_ranges_.rbegin(); range != failed_ranges_.rend(); ++range) {
    if (seq > range->last)
      return false;
    if (seq >= range->first)
      return true;
  }
  return false;
}

void FileSpool::mark_durable(uint64_t segment_id, std::size_t size, std::size_t records,
                             uint64_t seq) {
  synced_seq_ = std::max(synced_seq_, seq);
  Segment& segment = segments_.back();
  if (segment.id == segment_id) {
    segment.durable_size = std::max(segment.durable_size, size);
    segment.durable_records = std::max(segment.durable_records, records);
  }
}

void FileSpool::forget_pending(Segment& segment, std::size_t records) {
  records = std::min(records, segment.pending);
  segment.pending -= records;
  if (records > 0 && pending_records_.fetch_sub(records) == records)
    oldest_.reset();
}

void FileSpool::on_sync_failure(int error) {
  // Linux reports a write-back error once per open file and marks the pages clean, so a later
  // sync of this file can succeed without these frames being on disk ("fsyncgate"). Nothing
  // written since the last good sync is trusted: the frames are cut and the file abandoned.
  ++append_failures_;
  ++sync_failures_;
  if (written_seq_ > synced_seq_)
    failed_ranges_.push_back({synced_seq_ + 1, written_seq_});
  synced_seq_ = written_seq_;
  Segment& segment = segments_.back();
  const std::size_t cut_records = segment.records - segment.durable_records;
  forget_pending(segment, cut_records);
  pending_bytes_ -= std::min(pending_bytes_, segment.size - segment.durable_size);
  segment.size = segment.durable_size;
  segment.records = segment.durable_records;
  if (writer_ && ::ftruncate(writer_->fd, static_cast<off_t>(segment.size)) != 0) {
    // Recovery at the next start would replay these frames if they are readable; the dedup
    // check turns each into a duplicate of the sender's retry.
    log_warn("spool truncate after failed sync failed", {{"segment", segment.path}});
  }
  writer_.reset();
  accepting_ = false;
  log_error("spool sync failed; appends since the last good sync reported not durable",
            {{"segment", segment.path},
             {"error", std::string(std::strerror(error))},
             {"records_cut", static_cast<int64_t>(cut_records)}});
  restore_after_sync_failure();
}

bool FileSpool::restore_after_sync_failure() {
  if (Status opened = open_segment_for_append(segments_.back().id + 1); !opened) {
    log_warn("spool cannot open a fresh segment", {{"error", opened.error().message()}});
    return false;
  }
  if (sync_data(writer_->fd) != 0 || !fsync_directory(settings_.dir)) {
    log_warn("spool fresh segment failed its sync",
             {{"segment", segments_.back().path}, {"error", std::string(std::strerror(errno))}});
    writer_.reset();
    return false;
  }
  accepting_ = true;
  log_info("spool accepting again on a fresh segment", {{"segment", segments_.back().path}});
  return true;
}

SpoolAppendResult FileSpool::append(const SpooledRequest& request) {
  const std::string frame = encode_spool_frame(request);
  uint64_t my_seq = 0;
  {
    // Rotation syncs the old segment, so it also holds sync_mutex_ (always taken before
    // mutex_): a sync that follows a failed one on the same file could falsely succeed.
    std::unique_lock rotation(sync_mutex_, std::defer_lock);
    std::unique_lock lock(mutex_);
    while (true) {
      if (!accepting_ && !restore_after_sync_failure()) {
        ++append_failures_;
        return SpoolAppendResult::kFailed;
      }
      if (pending_bytes_ + frame.size() > settings_.max_bytes)
        return SpoolAppendResult::kFull;
      const Segment& current = segments_.back();
      if (current.size == 0 || current.size + frame.size() <= settings_.segment_bytes)
        break;
      if (!rotation.owns_lock()) {
        lock.unlock();
        rotation.lock();
        lock.lock();
        continue;  // the state may have changed meanwhile
      }
      if (sync_data(writer_->fd) != 0) {
        on_sync_failure(errno);
        return SpoolAppendResult::kFailed;
      }
      mark_durable(current.id, current.size, current.records, written_seq_);
      if (!open_segment_for_append(current.id + 1)) {
        ++append_failures_;
        return SpoolAppendResult::kFailed;
      }
      break;
    }
    Segment& current = segments_.back();
    if (!write_all(writer_->fd, frame)) {
      // Leave no partial frame behind (ENOSPC mid-write); recovery would cut it anyway.
      if (::ftruncate(writer_->fd, static_cast<off_t>(current.size)) != 0) {
        log_warn("spool truncate after failed write failed", {{"segment", current.path}});
      }
      ++append_failures_;
      return SpoolAppendResult::kFailed;
    }
    current.size += frame.size();
    ++current.records;
    ++current.pending;
    pending_bytes_ += frame.size();
    if (pending_records_.fetch_add(1) == 0 && !oldest_)
      oldest_ = request.received;
    my_seq = ++written_seq_;
  }
  // Group commit: whoever syncs first covers every frame written before it started.
  std::lock_guard sync(sync_mutex_);
  std::shared_ptr<FileHandle> handle;
  uint64_t segment_id = 0;
  std::size_t size = 0;
  std::size_t records = 0;
  uint64_t target = 0;
  {
    std::lock_guard lock(mutex_);
    if (failed_seq(my_seq))
      return SpoolAppendResult::kFailed;
    if (synced_seq_ >= my_seq)
      return SpoolAppendResult::kDurable;
    handle = writer_;
    const Segment& current = segments_.back();
    segment_id = current.id;
    size = current.size;
    records = current.records;
    target = written_seq_;
  }
  if (!handle)
    return SpoolAppendResult::kFailed;  // unreachable: my_seq would be in a failed range
  const bool synced = sync_data(handle->fd) == 0;
  const int error = errno;
  std::lock_guard lock(mutex_);
  if (!synced) {
    on_sync_failure(error);
    return SpoolAppendResult::kFailed;
  }
  mark_durable(segment_id, size, records, target);
  return SpoolAppendResult::kDurable;
}

FileSpool::Segment* FileSpool::segment_by_id(uint64_t id) {
  for (Segment& segment : segments_) {
    if (segment.id == id)
      return &segment;
  }
  return nullptr;
}

std::optional<SpooledRequest> FileSpool::read_next() {
  std::lock_guard lock(mutex_);
  if (read_spans_.empty()) {
    read_segment_ = cursor_segment_;
    read_offset_ = cursor_offset_;
  }
  while (pending_records_.load() > 0) {
    Segment* segment = segment_by_id(read_segment_);
    if (segment == nullptr)
      return std::nullopt;
    if (read_offset_ >= segment->durable_size) {
      if (segment == &segments_.back())
        return std::nullopt;  // the writer is still on it; the rest is not yet synced
      // Segment ids increase along segments_: the next one is the smallest id above this one.
      for (const Segment& later : segments_) {
        if (later.id > read_segment_) {
          read_segment_ = later.id;
          break;
        }
      }
      read_offset_ = 0;
      continue;
    }
    const int fd = ::open(segment->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return std::nullopt;
    FileHandle reader(fd);
    std::string header;
    std::string bytes;
    DecodedFrame frame;
    if (read_exact(fd, read_offset_, kSpoolFrameHeader, header)) {
      uint32_t length = 0;
      std::memcpy(&length, header.data(), sizeof length);
      if (read_exact(fd, read_offset_, kSpoolFrameHeader + length, bytes)) {
        frame = decode_spool_frame(bytes);
      }
    }
    if (frame.status != FrameStatus::kOk) {
      // Cannot happen after recovery unless the file changed under us; skip the rest of the
      // segment rather than loop forever, and say so.
      log_error("unreadable spool record skipped",
                {{"segment", segment->path}, {"offset", static_cast<int64_t>(read_offset_)}});
      std::size_t read_here = 0;
      for (const ReadSpan& span : read_spans_)
        read_here += span.record && span.segment == segment->id;
      pending_bytes_ -= std::min(pending_bytes_, segment->durable_size - read_offset_);
      forget_pending(*segment,
                     segment->pending - (segment->records - segment->durable_records) - read_here);
      read_spans_.push_back({segment->id, segment->durable_size - read_offset_, false, {}});
      read_offset_ = segment->durable_size;
      commit_leading_skips();
      continue;
    }
    if (read_spans_.empty())
      oldest_ = frame.request.received;
    read_spans_.push_back({segment->id, frame.size, true, frame.request.received});
    read_offset_ += frame.size;
    return std::move(frame.request);
  }
  return std::nullopt;
}

void FileSpool::commit_span(const ReadSpan& span) {
  if (span.segment != cursor_segment_) {
    // Every record of the segments before this one was committed.
    std::error_code ec;
    while (!segments_.empty() && segments_.front().id < span.segment) {
      fs::remove(segments_.front().path, ec);
      segments_.pop_front();
    }
    cursor_segment_ = span.segment;
    cursor_offset_ = 0;
    write_cursor(true);
  }
  cursor_offset_ += span.size;
}

void FileSpool::commit_leading_skips() {
  while (!read_spans_.empty() && !read_spans_.front().record) {
    commit_span(read_spans_.front());
    read_spans_.pop_front();
  }
}

void FileSpool::commit_oldest() {
  std::lock_guard lock(mutex_);
  if (read_spans_.empty())
    return;
  const ReadSpan committed = read_spans_.front();
  read_spans_.pop_front();
  commit_span(committed);
  pending_bytes_ -= std::min(pending_bytes_, committed.size);
  if (Segment* segment = segment_by_id(committed.segment))
    forget_pending(*segment, 1);
  commit_leading_skips();
  if (!read_spans_.empty() && pending_records_.load() > 0)
    oldest_ = read_spans_.front().received;
  write_cursor(++commits_since_sync_ % kCursorSyncEvery == 0 || pending_records_.load() == 0);
}

void FileSpool::sync_cursor() {
  std::lock_guard lock(mutex_);
  write_cursor(true);
}

void FileSpool::write_cursor(bool durable) {
  // Atomic replace. A crash that loses an un-fsync'd cursor replays a few records, which the
  // dedup check turns into duplicates rather than second copies.
  const fs::path target = fs::path(settings_.dir) / kCursorFile;
  const fs::path temporary = fs::path(settings_.dir) / "cursor.tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  FileHandle handle(fd);
  const std::string text =
      std::to_string(cursor_segment_) + " " + std::to_string(cursor_offset_) + "\n";
  if (!write_all(fd, text))
    return;
  if (durable)
    ::fdatasync(fd);
  std::error_code ec;
  fs::rename(temporary, target, ec);
  if (durable)
    fsync_directory(settings_.dir);
}

SpoolStats FileSpool::stats() const {
  std::lock_guard lock(mutex_);
  return {pending_bytes_,   pending_records_.load(), oldest_,
          append_failures_, sync_failures_,          accepting_};
}

void FileSpool::report_gauges(GaugeSink& sink) const {
  const SpoolStats now = stats();
  const double oldest_age_seconds =
      now.oldest
          ? std::chrono::duration<double>(std::chrono::system_clock::now() - *now.oldest).count()
          : 0.0;
  sink.set(Gauge::kSpoolBytes, static_cast<double>(now.bytes));
  sink.set(Gauge::kSpoolRecords, static_cast<double>(now.records));
  sink.set(Gauge::kSpoolOldestAgeSeconds, oldest_age_seconds);
  sink.set(Gauge::kSpoolAppendFailures, static_cast<double>(now.append_failures));
}

}  // namespace cmr_bridge
