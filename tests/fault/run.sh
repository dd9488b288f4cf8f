#!/usr/bin/env bash
# Runs the fault tier against its own broker (127.0.0.1:$CMR_BRIDGE_FAULT_KAFKA_PORT, default
# 19092, controller on the next port; data in <build>/fault-kafka) and prints the results table
# that docs/delivery.md quotes. Build first (deploy/local/build.sh).
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=${CMR_BRIDGE_BUILD_DIR:-$root/build}
port=${CMR_BRIDGE_FAULT_KAFKA_PORT:-19092}
export CMR_BRIDGE_FAULT_KAFKA_PORT=$port
fault_broker=(env CMR_KAFKA_HOME="$build/fault-kafka" CMR_KAFKA_PORT="$port"
              CMR_KAFKA_CONTROLLER_PORT=$((port + 1)) CMR_KAFKA_TOPICS=fault.warmup
              bash "$root/deploy/local/kafka.sh")
cleanup() { "${fault_broker[@]}" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

# A clean broker each run: scenarios must not see an earlier run's data.
if [ -d "$build/fault-kafka/data" ]; then "${fault_broker[@]}" reset >/dev/null; fi
# The results table: $CMR_BRIDGE_FAULT_RESULTS (as the test writes it) or <build>/fault-results.md.
results=${CMR_BRIDGE_FAULT_RESULTS:-$build/fault-results.md}
rm -rf "$build"/fault-spool-* "$results"
if [ "${1:-}" = "--scenario" ]; then
  pattern=${2:?--scenario needs a doctest name pattern}
  repeat=1
  if [ "${3:-}" = "--repeat" ]; then repeat=${4:?--repeat needs a count}; fi
  passed=0
  for run in $(seq 1 "$repeat"); do
    if "$build/tests/cmr_bridge_fault_tests" --test-case="$pattern"; then
      passed=$((passed + 1))
    else
      echo "run $run of $repeat failed"
      break
    fi
  done
  echo
  echo "Scenarios '$pattern': $passed of $repeat runs passed ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores):"
  cat "$results"
  [ "$passed" -eq "$repeat" ]
  exit
fi
ctest --test-dir "$build" --output-on-failure --no-tests=error -L fault
echo
echo "Fault scenarios ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores):"
cat "$results"
