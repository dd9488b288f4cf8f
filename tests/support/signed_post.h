// Shared by the Kafka-tier tests: unique topic names per test and signed POSTs to a bridge.
#pragma once

#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include "cmr_bridge/signature_scheme.h"
#include "core/signature.h"
#include "support/samples.h"

namespace cmr_bridge::test {

// "<tag><pid>-<clock>-<n>.": unique per process and call, so tests on a shared broker (and
// reruns against it) never see each other's topics.
inline std::string unique_topic_prefix(const std::string& tag) {
  static std::atomic<int> counter{0};
  return tag + std::to_string(getpid()) + "-" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000000) +
         "-" + std::to_string(counter++) + ".";
}

inline std::string unix_seconds_now() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

// POST /webhooks with the given timestamp and signature headers; the answer or a transport error.
inline httplib::Result post_webhook(int port, const std::string& body, const std::string& timestamp,
                                    const std::string& signature) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(30));
  return client.Post("/webhooks", {{"cmr-x-timestamp", timestamp}, {"cmr-x-signature", signature}},
                     body, "application/json");
}

// POST /webhooks signed now with the test key.
inline httplib::Result post_signed(int port, const std::string& body,
                                   SignatureScheme scheme = SignatureScheme::kBodyHex) {
  const std::string ts = unix_seconds_now();
  return post_webhook(port, body, ts, compute_signature(kTestKey, scheme, ts, body));
}

}  // namespace cmr_bridge::test
