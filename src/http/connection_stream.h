// One accepted webhook connection as cpp-httplib's Stream, with the bounds cpp-httplib 0.11.4
// does not apply itself: a deadline for a whole request (not per read), a budget for the request
// line and headers together (bytes and lines), and a write deadline. Owned by one thread at a time
// (the connection poller while the connection is idle, a worker while a request runs).
#pragma once

#include <httplib.h>
#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <string>

namespace cmr_bridge {

struct ConnectionLimits {
  std::size_t max_header_bytes = 32 * 1024;  // request line + header lines + blank line
  std::size_t max_header_lines = 100;        // request line + header lines
  std::chrono::milliseconds write_timeout{10000};
};

// Why the last read failed, so the response can name it (408 / 431) instead of httplib's 400.
enum class ReadFailure { kNone, kDeadline, kHeaderBytes, kHeaderLines, kClosed, kError };

class ConnectionStream final : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;

  // Takes ownership of `fd` (non-blocking) and of `ssl` (may be null: plain TCP).
  ConnectionStream(int fd, SSL* ssl, ConnectionLimits limits);
  ~ConnectionStream() override;
  ConnectionStream(const ConnectionStream&) = delete;
  ConnectionStream& operator=(const ConnectionStream&) = delete;

  // TLS only: completes the server handshake by `deadline`. True for plain TCP.
  bool handshake(Clock::time_point deadline);
  // Starts a new request: its request line, headers and body must all be read by `deadline`.
  void begin_request(Clock::time_point deadline);
  // Bytes of the current request handed to httplib so far.
  std::size_t request_bytes() const { return request_bytes_; }
  ReadFailure failure() const { return failure_; }
  // Bytes already received (or decrypted) that belong to the next request.
  bool has_buffered_input() const;
  // Waits up to `at_most` for the next request's first bytes (or the client's close): true when
  // there is something to read. Lets a worker keep a busy connection instead of handing it to
  // the poller and back between two requests.
  bool wait_readable(std::chrono::milliseconds at_most) const;
  // Sends FIN, then reads and discards what the client still sends (up to a bound), so the
  // response just written is not destroyed by a reset when the socket closes with unread data.
  void linger_close(std::chrono::milliseconds at_most);
  // Unblocks a worker stuck in read or write (used when the drain's bound has passed).
  void abort();
  int fd() const { return fd_; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, std::size_t size) override;
  ssize_t write(const char* ptr, std::size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

 private:
  ssize_t receive_into_buffer();
  // Counts what httplib consumed while it reads the request line and headers.
  bool account_header_bytes(const char* data, std::size_t size);

  int fd_;
  SSL* ssl_;
  ConnectionLimits limits_;
  Clock::time_point deadline_;
  std::array<char, 16 * 1024> buffer_{};
  std::size_t buffer_begin_ = 0;
  std::size_t buffer_end_ = 0;
  bool in_headers_ = true;
  std::size_t header_bytes_ = 0;
  std::size_t header_lines_ = 0;
  unsigned header_tail_ = 0;  // last four header bytes, to find the blank line
  std::size_t request_bytes_ = 0;
  ReadFailure failure_ = ReadFailure::kNone;
};

}  // namespace cmr_bridge
