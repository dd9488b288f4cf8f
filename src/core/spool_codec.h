// The spool's on-disk record format. Pure functions over bytes.
//
//   frame   = u32 payload_length | u32 crc32(payload) | payload        (little-endian)
//   payload = u8 version(1) | i64 received_unix_ms | u16 timestamp_length | timestamp
//             | u8 scheme_length | scheme | u32 body_length | body
//   version 2: the same fields, then tagged fields until the payload ends:
//             u8 tag | u16 length | bytes; tag 1 = traceparent, 2 = tracestate, 3 = source name
//             (a request of a configured source, docs/sources.md), 4 = its delivery id, 5 = its
//             event type (each when its headers carried one). A repeated or empty tag makes
//             the frame corrupt; an unknown tag or a version above 2 in an intact frame (its
//             checksum matches) is a newer release's format, never taken for corruption.
//   A request with no tagged field is written as version 1, which every release reads; a frame
//   without tag 3 is CMR's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cmr_bridge/spool.h"

namespace cmr_bridge {

inline constexpr std::size_t kSpoolFrameHeader = 8;

std::string encode_spool_frame(const SpooledRequest& request);

enum class FrameStatus {
  kOk,          // a whole, intact frame
  kIncomplete,  // the bytes end inside a frame (a torn write at the tail)
  kCorrupt,     // checksum or structure mismatch
  // Intact (the checksum matches) but written by a newer release: a format version or field
  // tag this release does not know. Reading on would misread it; cutting it would lose it.
  kNewerFormat,
};

struct DecodedFrame {
  FrameStatus status = FrameStatus::kIncomplete;
  std::size_t size = 0;  // bytes the frame occupies when kOk
  std::string newer;     // kNewerFormat: what is unknown ("format version 3", "field tag 6")
  SpooledRequest request;
};

// Decodes the frame at the start of `bytes`.
DecodedFrame decode_spool_frame(std::string_view bytes);

}  // namespace cmr_bridge
