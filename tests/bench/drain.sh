#!/usr/bin/env bash
# Spool drain benchmark (issue 14): a backlog of spooled webhooks forwarded by the real bridge to
# the local broker, per forwarder window (CMR_BRIDGE_SPOOL_FORWARD_WINDOW), without and with live
# traffic arriving. Prints one table (docs/performance.md "Spool drain" keeps the figures).
#
#   bash tests/bench/drain.sh        # Release build, 100,000 records, windows 1 and 64, ~6 min
#
# Knobs (environment):
#   DRAIN_RECORDS=100000         backlog size
#   DRAIN_WINDOWS=1,64           forwarder windows to compare (the first is "before")
#   DRAIN_LIVE_RATE=2000         live requests per second in the second run of each window
#   DRAIN_MAX_SECONDS=120        a run that has not drained by then is reported with its rate
#   DRAIN_BUILD_DIR=<repo>/build-bench   build directory; configured from tests/bench (Release,
#                                the same one bench.sh uses) unless it already exists
#   DRAIN_SKIP_BUILD=1           use what DRAIN_BUILD_DIR holds
#   CMR_KAFKA_PORT, CMR_KAFKA_HOME   as for deploy/local/kafka.sh: the broker is started when it
#                                is not running (never stopped here)
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
build_dir=${DRAIN_BUILD_DIR:-$root/build-bench}

log() { printf 'drain: %s\n' "$*" >&2; }

if [[ "${DRAIN_SKIP_BUILD:-0}" != 1 ]]; then
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    log "configuring Release in $build_dir"
    cmake -S "$root/tests/bench" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  log "building cmr-bridge and cmr_bridge_drain_bench in $build_dir"
  cmake --build "$build_dir" --target cmr_bridge_drain_bench cmr-bridge --parallel "$(nproc)" >/dev/null
fi
bench=$(find "$build_dir" -maxdepth 4 -type f -name cmr_bridge_drain_bench -perm -u+x | head -n1)
[[ -n "$bench" ]] || { log "error: no cmr_bridge_drain_bench under $build_dir"; exit 1; }

bash "$root/deploy/local/kafka.sh" start >&2

exec "$bench" --brokers "127.0.0.1:${CMR_KAFKA_PORT:-9092}" \
  --records "${DRAIN_RECORDS:-100000}" \
  --windows "${DRAIN_WINDOWS:-1,64}" \
  --live-rate "${DRAIN_LIVE_RATE:-2000}" \
  --max-seconds "${DRAIN_MAX_SECONDS:-120}"
