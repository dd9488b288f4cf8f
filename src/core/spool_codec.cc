#include "core/spool_codec.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <iterator>

namespace cmr_bridge {
namespace {

constexpr uint8_t kVersionPlain = 1;
constexpr uint8_t kVersionTagged = 2;
enum Tag : uint8_t {
  kTagTraceparent = 1,
  kTagTracestate = 2,
  kTagSource = 3,
  kTagDeliveryId = 4,
  kTagEventType = 5,
};

// The tagged fields, in the order they are written.
struct TaggedField {
  Tag tag;
  std::string SpooledRequest::*member;
};
constexpr TaggedField kTaggedFields[] = {
    {kTagTraceparent, &SpooledRequest::traceparent}, {kTagTracestate, &SpooledRequest::tracestate},
    {kTagSource, &SpooledRequest::source},           {kTagDeliveryId, &SpooledRequest::delivery_id},
    {kTagEventType, &SpooledRequest::event_type},
};

std::string* tagged_member(SpooledRequest& request, uint8_t tag) {
  for (const auto& field : kTaggedFields) {
    if (field.tag == tag)
      return &(request.*field.member);
  }
  return nullptr;
}
constexpr uint32_t kMaxPayload = 256u * 1024 * 1024;

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // the format is little-endian, as the host is
  out.append(bytes, sizeof(T));
}

template <typename T>
bool take(std::string_view& in, T& value) {
  if (in.size() < sizeof(T))
    return false;
  std::memcpy(&value, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

bool take_bytes(std::string_view& in, std::size_t n, std::string& out) {
  if (in.size() < n)
    return false;
  out.assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

uint32_t checksum(std::string_view data) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                     reinterpret_cast<const Bytef*>(data.data()),
                                     static_cast<uInt>(data.size())));
}

}  // namespace

std::string encode_spool_frame(const SpooledRequest& request) {
  std::string payload;
  payload.reserve(32 + request.timestamp.size() + request.signature_scheme.size() +
                  request.body.size());
  const bool tagged = std::any_of(
      std::begin(kTaggedFields), std::end(kTaggedFields),
      [&request](const TaggedField& field) { return !(request.*field.member).empty(); });
  put<uint8_t>(payload, tagged ? kVersionTagged : kVersionPlain);
  put<int64_t>(payload, std::chrono::duration_cast<std::chrono::milliseconds>(
                            request.received.time_since_epoch())
                            .count());
  put<uint16_t>(payload, static_cast<uint16_t>(request.timestamp.size()));
  payload.append(request.timestamp);
  put<uint8_t>(payload, static_cast<uint8_t>(request.signature_scheme.size()));
  payload.append(request.signature_scheme);
  put<uint32_t>(payload, static_cast<uint32_t>(request.body.size()));
  payload.append(request.body);
  for (const auto& field : kTaggedFields) {
    const std::string& value = request.*field.member;
    if (value.empty())
      continue;
    // Every tagged value is bounded far below 64 KiB where it is accepted (the edge's header
    // limits, the source name's 32 characters).
    put<uint8_t>(payload, field.tag);
    put<uint16_t>(payload, static_cast<uint16_t>(value.size()));
    payload.append(value);
  }

  std::string frame;
  frame.reserve(kSpoolFrameHeader + payload.size());
  put<uint32_t>(frame, static_cast<uint32_t>(payload.size()));
  put<uint32_t>(frame, checksum(payload));
  frame.append(payload);
  return frame;
}

DecodedFrame decode_spool_frame(std::string_view bytes) {
  DecodedFrame out;
  uint32_t length = 0;
  uint32_t crc = 0;
  std::string_view in = bytes;
  if (!take(in, length) || !take(in, crc))
    return out;  // incomplete header
  if (length == 0 || length > kMaxPayload) {
    out.status = FrameStatus::kCorrupt;
    return out;
  }
  if (in.size() < length)
    return out;  // incomplete payload
  std::string_view payload = in.substr(0, length);
  if (checksum(payload) != crc) {
    out.status = FrameStatus::kCorrupt;
    return out;
  }
  uint8_t version = 0;
  int64_t received_ms = 0;
  uint16_t timestamp_length = 0;
  uint8_t scheme_length = 0;
  uint32_t body_length = 0;
  out.status = FrameStatus::kCorrupt;
  if (!take(payload, version) || version < kVersionPlain)
    return out;
  if (version > kVersionTagged) {
    out.status = FrameStatus::kNewerFormat;
    out.newer = "format version " + std::to_string(version);
    return out;
  }
  if (!take(payload, received_ms) || !take(payload, timestamp_length) ||
      !take_bytes(payload, timestamp_length, out.request.timestamp) ||
      !take(payload, scheme_length) ||
      !take_bytes(payload, scheme_length, out.request.signature_scheme) ||
      !take(payload, body_length) || !take_bytes(payload, body_length, out.request.body) ||
      (version == kVersionPlain && !payload.empty())) {
    return out;
  }
  while (!payload.empty()) {
    uint8_t tag = 0;
    uint16_t value_length = 0;
    if (!take(payload, tag) || !take(payload, value_length))
      return out;
    std::string* field = tagged_member(out.request, tag);
    if (field == nullptr) {
      std::string ignored;
      if (value_length == 0 || !take_bytes(payload, value_length, ignored))
        return out;
      out.status = FrameStatus::kNewerFormat;
      out.newer = "field tag " + std::to_string(tag);
      return out;
    }
    if (!field->empty() || value_length == 0 || !take_bytes(payload, value_length, *field))
      return out;
  }
  out.request.received =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(received_ms));
  out.status = FrameStatus::kOk;
  out.size = kSpoolFrameHeader + length;
  return out;
}

}  // namespace cmr_bridge
