#include "support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace cmr_bridge::test {

RawResponse raw_request(int port, const std::string& request, std::chrono::milliseconds timeout,
                        std::size_t send_bytes) {
  RawResponse response;
  const auto started = std::chrono::steady_clock::now();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return response;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return response;
  }
  const std::size_t n = std::min(send_bytes, request.size());
  std::size_t sent = 0;
  while (sent < n) {
    const ssize_t w = ::send(fd, request.data() + sent, n - sent, MSG_NOSIGNAL);
    if (w <= 0)
      break;
    sent += static_cast<std::size_t>(w);
  }
  std::string received;
  char buffer[8192];
  while (true) {
    const auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - started);
    if (left.count() <= 0)
      break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    const ssize_t r = ::recv(fd, buffer, sizeof buffer, 0);
    if (r <= 0) {
      response.closed = true;
      break;
    }
    received.append(buffer, static_cast<std::size_t>(r));
    // One response is enough once its body (Content-Length) is complete.
    const auto header_end = received.find("\r\n\r\n");
    const auto length_at = received.find("Content-Length: ");
    if (header_end != std::string::npos && length_at != std::string::npos &&
        length_at < header_end) {
      const std::size_t length = std::strtoul(received.c_str() + length_at + 16, nullptr, 10);
      if (received.size() >= header_end + 4 + length)
        break;
    }
  }
  ::close(fd);
  response.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (received.rfind("HTTP/1.", 0) == 0 && received.size() > 12) {
    response.status = std::atoi(received.c_str() + 9);
  }
  const auto header_end = received.find("\r\n\r\n");
  if (header_end != std::string::npos)
    response.body = received.substr(header_end + 4);
  return response;
}

}  // namespace cmr_bridge::test
