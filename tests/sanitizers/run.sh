#!/usr/bin/env bash
# Builds cmr-bridge and its tests with a sanitizer and runs the unit, integration and Kafka tiers
# under it (docs/testing.md, "Sanitizers"). The Kafka tier needs a broker:
# $CMR_BRIDGE_TEST_KAFKA_BROKERS (default 127.0.0.1:9092, the one deploy/local/test.sh starts).
#
#   tests/sanitizers/run.sh address   ASan+UBSan into build-asan/
#   tests/sanitizers/run.sh thread    TSan into build-tsan/
#
#   CMR_BRIDGE_SANITIZER_LABELS  ctest label regex (default 'unit|integration|kafka-sanitized')
#
# Every sanitizer report goes to <build>/sanitizer-reports/, also those of the cmr-bridge
# processes the tests start (a report there does not always fail the test that caused it, e.g. a
# leak found at the bridge's exit); the run fails when the directory is not empty, and prints it.
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
kind=${1:-}
case "$kind" in
  address) build=$root/build-asan ;;
  thread) build=$root/build-tsan ;;
  *)
    echo "usage: tests/sanitizers/run.sh address|thread" >&2
    exit 2
    ;;
esac
labels=${CMR_BRIDGE_SANITIZER_LABELS:-unit|integration|kafka-sanitized}

CMR_BRIDGE_BUILD_DIR="$build" CMR_BRIDGE_BUILD_TYPE=Debug \
  bash "$root/deploy/local/build.sh" -DCMR_BRIDGE_SANITIZE="$kind"

reports=$build/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan:suppressions=$root/tests/sanitizers/tsan.supp"

status=0
ctest --test-dir "$build" --output-on-failure --no-tests=error -L "$labels" || status=$?
shopt -s nullglob
found=("$reports"/*)
if [ "${#found[@]}" -gt 0 ]; then
  for report in "${found[@]}"; do
    printf '\n== sanitizer report %s\n' "$report"
    cat "$report"
  done
  echo "tests/sanitizers/run.sh $kind: ${#found[@]} sanitizer report(s), see above" >&2
  status=1
fi
exit "$status"
