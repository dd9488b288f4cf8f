// Sends raw bytes to a local HTTP port and reads what comes back (for malformed requests and
// slow clients that a proper client library refuses to produce).
#pragma once

#include <chrono>
#include <string>

namespace cmr_bridge::test {

struct RawResponse {
  int status = 0;  // 0 when no status line arrived
  std::string body;
  bool closed = false;  // the server closed the connection
  std::chrono::milliseconds elapsed{0};
};

// Writes `request` (optionally only its first `send_bytes`), then reads until the server closes
// or `timeout` passes.
RawResponse raw_request(int port, const std::string& request, std::chrono::milliseconds timeout,
                        std::size_t send_bytes = std::string::npos);

}  // namespace cmr_bridge::test
