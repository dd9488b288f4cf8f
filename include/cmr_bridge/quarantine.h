// Seam for the local quarantine: where a verified request goes when Kafka refuses, for good,
// both its record and its dead letter. The sender may be answered 200 only once the request is
// durable there.
#pragma once

#include <string>

#include "cmr_bridge/spool.h"

namespace cmr_bridge {

struct QuarantinedRequest {
  SpooledRequest request;  // everything needed to process it again (redrive --from-quarantine)
  std::string event;       // when known
  std::string event_id;    // when known
  std::string reason;      // the dead-letter reason of the refused dead letter (codes.h)
  std::string detail;      // that dead letter's cmr-dlq-detail
  std::string refusal;     // why Kafka refused the dead letter too
};

enum class QuarantineResult {
  kDurable,  // written, file and directory fsync'd: safe to answer 2xx
  kFull,     // the directory holds its configured maximum of bytes
  kFailed,   // the disk refused (unwritable, no space, I/O error)
};

class Quarantine {
 public:
  virtual ~Quarantine() = default;
  // Returns once the request is durable (or refused). Thread-safe.
  virtual QuarantineResult keep(const QuarantinedRequest& request) = 0;
};

}  // namespace cmr_bridge
