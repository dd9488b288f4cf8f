// The spool's on-disk record format. Pure functions over bytes.
//
//   frame   = u32 payload_length | u32 crc32(payload) | payload        (little-endian)
//   payload = u8 version(1) | i64 received_unix_ms | u16 timestamp_length | timestamp
//             | u8 scheme_length | scheme | u32 body_length | body
//   version 2: the same fields, then tagged fields until the payload ends:
//             u8 tag | u16 length | bytes; tag 1 = traceparent, 2 = tracestate (tag 3 is
//             reserved for the source name). An unknown or repeated tag makes the frame corrupt.
//   A request with no tagged field is written as version 1, which every release reads.
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
};

struct DecodedFrame {
  FrameStatus status = FrameStatus::kIncomplete;
  std::size_t size = 0;  // bytes the frame occupies when kOk
  SpooledRequest request;
};

// Decodes the frame at the start of `bytes`.
DecodedFrame decode_spool_frame(std::string_view bytes);

}  // namespace cmr_bridge
