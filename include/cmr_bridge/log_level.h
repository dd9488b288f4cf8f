// Severity of a log line; CMR_BRIDGE_LOG_LEVEL selects the lowest one written.
#pragma once

namespace cmr_bridge {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

}  // namespace cmr_bridge
