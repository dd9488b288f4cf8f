#!/usr/bin/env bash
# README command 2: install what is missing, check the format, lint the scripts, build, start
# the local Kafka, run every test tier (unit, integration, kafka, bench smoke, fault), the unit,
# integration and kafka tiers again in the ASan+UBSan and TSan builds, the fuzz targets, promtool
# on /metrics, the Kubernetes checks and the container image build; stop Kafka. Exits non-zero
# on any failure. .ci/run calls exactly this.
#
#   CMR_BRIDGE_SKIP_SANITIZERS=1  skip the ASan+UBSan and TSan builds (quicker local loop)
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$root"
started=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

step "dependencies"
bash deploy/local/install-deps.sh
bash deploy/local/interop-deps.sh

step "format check"
mapfile -t sources < <(git ls-files --cached --others --exclude-standard '*.cc' '*.h' 2>/dev/null || find src include tests -name '*.cc' -o -name '*.h')
clang-format --dry-run -Werror "${sources[@]}"

step "lint: shellcheck on every shell script, flake8 on every Python file"
bash deploy/local/lint.sh

step "build"
bash deploy/local/build.sh

step "local Kafka"
kafka_was_running=0
if bash deploy/local/kafka.sh status >/dev/null 2>&1; then kafka_was_running=1; fi
stop_kafka() { [ "$kafka_was_running" = 1 ] || bash deploy/local/kafka.sh stop || true; }
trap stop_kafka EXIT
bash deploy/local/kafka.sh start

step "tests: unit, integration, kafka"
ctest --test-dir build --output-on-failure --no-tests=error -L 'unit|integration|kafka'

step "bench smoke: a few seconds of load, then every accepted eventId looked up on Kafka"
BENCH_SMOKE=1 BENCH_SKIP_BUILD=1 BENCH_BUILD_DIR="$root/build" bash tests/bench/bench.sh

step "tests: fault injection (own broker on 19092, stopped and killed on purpose)"
bash tests/fault/run.sh

if [ "${CMR_BRIDGE_SKIP_SANITIZERS:-0}" != 1 ]; then
  # Against the local Kafka started above; docs/testing.md, "Sanitizers".
  step "ASan+UBSan build: unit, integration and kafka tiers"
  bash tests/sanitizers/run.sh address

  step "TSan build: unit, integration and kafka tiers"
  bash tests/sanitizers/run.sh thread
fi

step "fuzz (libFuzzer: regression inputs, then ${CMR_BRIDGE_FUZZ_SECONDS:-30} s per target)"
bash tests/fuzz/run.sh

step "metrics exposition passes promtool check metrics"
bash deploy/local/check-metrics.sh build/cmr-bridge

step "Kubernetes: helm lint/template, manifest validation, alert rules, chart env vs binary"
bash tests/k8s/check.sh build/cmr-bridge

step "container image (buildah, local debootstrap base): build, --version, --help inside"
bash deploy/container/build.sh

step "all tests passed"
