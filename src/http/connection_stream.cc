#include "http/connection_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace cmr_bridge {
namespace {

using Clock = ConnectionStream::Clock;

// Waits until `fd` has one of `events` or `deadline` passes (false).
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      return false;
    pollfd entry{fd, events, 0};
    const int ready =
        ::poll(&entry, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
    if (ready > 0)
      return true;  // readable, writable, or an error the next call reports
    if (ready < 0 && errno != EINTR)
      return true;
  }
}

void address_of(const sockaddr_storage& address, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    port = ntohs(v4.sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    port = ntohs(v6.sin6_port);
  }
  ip = text;
}

constexpr unsigned kBlankLineTail = 0x0d0a0d0a;  // "\r\n\r\n"

}  // namespace

ConnectionStream::ConnectionStream(int fd, SSL* ssl, ConnectionLimits limits)
    : fd_(fd), ssl_(ssl), limits_(limits), deadline_(Clock::now()) {}

ConnectionStream::~ConnectionStream() {
  if (ssl_ != nullptr)
    SSL_free(ssl_);
  ::close(fd_);
}

bool ConnectionStream::handshake(Clock::time_point deadline) {
  if (ssl_ == nullptr)
    return true;
  for (;;) {
    const int result = SSL_accept(ssl_);
    if (result == 1)
      return true;
    const int error = SSL_get_error(ssl_, result);
    short events = 0;
    if (error == SSL_ERROR_WANT_READ)
      events = POLLIN;
    else if (error == SSL_ERROR_WANT_WRITE)
      events = POLLOUT;
    else
      return false;
    if (!wait_for(fd_, events, deadline))
      return false;
  }
}

void ConnectionStream::begin_request(Clock::time_point deadline) {
  deadline_ = deadline;
  in_headers_ = true;
  header_bytes_ = 0;
  header_lines_ = 0;
  header_tail_ = 0;
  request_bytes_ = 0;
  failure_ = ReadFailure::kNone;
}

bool ConnectionStream::has_buffered_input() const {
  return buffer_begin_ < buffer_end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0);
}

ssize_t ConnectionStream::receive_into_buffer() {
  buffer_begin_ = 0;
  buffer_end_ = 0;
  for (;;) {
    short events = POLLIN;
    if (ssl_ != nullptr) {
      const int received = SSL_read(ssl_, buffer_.data(), static_cast<int>(buffer_.size()));
      if (received > 0) {
        buffer_end_ = static_cast<std::size_t>(received);
        return received;
      }
      const int error = SSL_get_error(ssl_, received);
      if (error == SSL_ERROR_ZERO_RETURN) {
        failure_ = ReadFailure::kClosed;
        return 0;
      }
      if (error == SSL_ERROR_WANT_WRITE) {
        events = POLLOUT;
      } else if (error != SSL_ERROR_WANT_READ) {
        failure_ = ReadFailure::kError;
        return -1;
      }
    } else {
      const ssize_t received = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
      if (received > 0) {
        buffer_end_ = static_cast<std::size_t>(received);
        return received;
      }
      if (received == 0) {
        failure_ = ReadFailure::kClosed;
        return 0;
      }
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        failure_ = ReadFailure::kError;
        return -1;
      }
    }
    if (!wait_for(fd_, events, deadline_)) {
      failure_ = ReadFailure::kDeadline;
      return -1;
    }
  }
}

ssize_t ConnectionStream::read(char* ptr, std::size_t size) {
  if (failure_ != ReadFailure::kNone)
    return -1;
  if (size == 0)
    return 0;
  if (buffer_begin_ == buffer_end_) {
    // The deadline is checked before each trip to the socket, not per call: cpp-httplib reads
    // the request line and headers one byte per call, and bytes already buffered arrived in
    // time. A trickling client still meets it here, at its next refill.
    if (Clock::now() >= deadline_) {
      failure_ = ReadFailure::kDeadline;
      return -1;
    }
    const ssize_t received = receive_into_buffer();
    if (received <= 0)
      return received;
  }
  std::size_t count = std::min(size, buffer_end_ - buffer_begin_);
  const char* data = buffer_.data() + buffer_begin_;
  if (in_headers_) {
    // Hand out no byte past the blank line, so every header byte is counted and none of the body.
    std::size_t taken = 0;
    while (taken < count && in_headers_) {
      const auto byte = static_cast<unsigned char>(data[taken++]);
      ++header_bytes_;
      header_tail_ = (header_tail_ << 8) | byte;
      if (byte == '\n')
        ++header_lines_;
      if (header_tail_ == kBlankLineTail)
        in_headers_ = false;
    }
    count = taken;
    if (header_bytes_ > limits_.max_header_bytes) {
      failure_ = ReadFailure::kHeaderBytes;
      return -1;
    }
    // The blank line ends the headers; it is not a header line itself.
    if (header_lines_ > limits_.max_header_lines + (in_headers_ ? 0 : 1)) {
      failure_ = ReadFailure::kHeaderLines;
      return -1;
    }
  }
  std::memcpy(ptr, data, count);
  buffer_begin_ += count;
  request_bytes_ += count;
  return static_cast<ssize_t>(count);
}

ssize_t ConnectionStream::write(const char* ptr, std::size_t size) {
  const auto deadline = Clock::now() + limits_.write_timeout;
  std::size_t written = 0;
  while (written < size) {
    short events = POLLOUT;
    if (ssl_ != nullptr) {
      const int sent = SSL_write(ssl_, ptr + written, static_cast<int>(size - written));
      if (sent > 0) {
        written += static_cast<std::size_t>(sent);
        continue;
      }
      const int error = SSL_get_error(ssl_, sent);
      if (error == SSL_ERROR_WANT_READ)
        events = POLLIN;
      else if (error != SSL_ERROR_WANT_WRITE)
        return -1;
    } else {
      const ssize_t sent = ::send(fd_, ptr + written, size - written, MSG_NOSIGNAL);
      if (sent > 0) {
        written += static_cast<std::size_t>(sent);
        continue;
      }
      if (sent < 0 && errno == EINTR)
        continue;
      if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
    }
    if (!wait_for(fd_, events, deadline))
      return -1;
  }
  return static_cast<ssize_t>(written);
}

bool ConnectionStream::is_readable() const {
  if (has_buffered_input())
    return true;
  pollfd entry{fd_, POLLIN, 0};
  return ::poll(&entry, 1, 0) > 0;
}

bool ConnectionStream::wait_readable(std::chrono::milliseconds at_most) const {
  return has_buffered_input() || wait_for(fd_, POLLIN, Clock::now() + at_most);
}

bool ConnectionStream::is_writable() const {
  return wait_for(fd_, POLLOUT, Clock::now() + limits_.write_timeout);
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    address_of(address, ip, port);
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    address_of(address, ip, port);
}

void ConnectionStream::linger_close(std::chrono::milliseconds at_most) {
  if (ssl_ != nullptr)
    SSL_shutdown(ssl_);  // one attempt: sends close_notify, does not wait for the peer's
  ::shutdown(fd_, SHUT_WR);
  const auto until = Clock::now() + at_most;
  std::size_t discarded = 0;
  constexpr std::size_t kMaxDiscarded = 4 * 1024 * 1024;
  while (discarded < kMaxDiscarded && wait_for(fd_, POLLIN, until)) {
    const ssize_t received = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (received == 0 || (received < 0 && errno != EINTR && errno != EAGAIN))
      break;
    if (received > 0)
      discarded += static_cast<std::size_t>(received);
  }
  buffer_begin_ = buffer_end_ = 0;
}

void ConnectionStream::abort() {
  ::shutdown(fd_, SHUT_RDWR);
}

}  // namespace cmr_bridge
