#!/usr/bin/env bash
# cmr-bridge benchmark (issue 8): builds Release, starts what it needs, runs the scenarios side
# by side and writes tests/bench/results/report.md + report.png.
#
#   bash tests/bench/bench.sh            # full run, ~4-5 minutes with the defaults
#   BENCH_DURATION=5 bash tests/bench/bench.sh   # quicker, noisier
#
# What runs (all traffic to 127.0.0.1, every loop bounded in time and count):
#   - the local broker via deploy/local/kafka.sh start (idempotent; never stopped or reset here)
#   - cmr-bridge and ceiling (a) cmr_bridge_bench_ceiling (same HTTP stack + pipeline, a
#     Publisher that acks at once), each on port 0 with its own cmr-bench.<run>.* topics
#   - closed-loop load at each of BENCH_CONNECTIONS against both, alternating, with the service
#     defaults (today CMR_BRIDGE_HTTP_THREADS=256); then again at the largest count with
#     BENCH_TUNED_THREADS worker threads; duplicate and 401 traffic; fixed-rate runs at half
#     (and a quarter of) the highest measured throughput (latency from the intended send
#     time); a low rate over 16 and over the largest number of connections (idle cost)
#   - the Go reference receiver (tests/bench/reference: net/http + franz-go, acks=all, idempotent,
#     the same HMAC/timestamp/envelope checks, in-memory dedup, answer after the ack), built with
#     `go build`, closed loop at every BENCH_CONNECTIONS count beside cmr-bridge, its own topics
#   - ceiling (b): Kafka's ProducerPerformance, same payloads (so the same record sizes), acks=all
#   - the consumer check after every bridge run: each eventId answered "accepted" is on Kafka
# CPU time (utime+stime from /proc/<pid>/stat) and peak RSS (VmHWM, reset per run through
# /proc/<pid>/clear_refs) are sampled by the load generator over each measurement window.
#
# Knobs (environment):
#   BENCH_DURATION=10 BENCH_WARMUP=2     seconds per closed-loop point (warm-up included)
#   BENCH_FIXED_DURATION=15              seconds per fixed-rate run (warm-up 3 s)
#   BENCH_FIXED_FRACTIONS="0.5 0.25"     fixed-rate runs at these fractions of the highest
#                                        closed-loop throughput (the first is the judged one)
#   BENCH_IDLE_RATE=200                  req/s for the idle keep-alive runs (16 vs max conns)
#   BENCH_CONNECTIONS="1 16 64 256"      closed-loop connection counts
#   BENCH_RATIO_CONNECTIONS=64           where the bridge/ceiling (a) ratio target is judged
#   BENCH_TUNED_THREADS=320              CMR_BRIDGE_HTTP_THREADS and CMR_BRIDGE_MAX_IN_FLIGHT
#                                        for the tuned runs
#   BENCH_TIMEOUT_MS=5000                client timeout per request (a starved request fails)
#   BENCH_PERF_RECORDS=40000             records for ProducerPerformance
#   BENCH_BRIDGE_ENV="K=V ..."           extra environment for cmr-bridge (e.g. Kafka props)
#   BENCH_REFERENCE=1                    0 = skip the Go reference receiver (no Go toolchain)
#   BENCH_REFERENCE_ENV="K=V ..."        extra environment for it (REFERENCE_DEDUP_CAPACITY=...)
#   BENCH_REFERENCE_PARTITIONS=3         partitions of its topics (the local broker's
#                                        num.partitions, which cmr-bridge's topics get)
#   BENCH_PROFILE=1                      0 = no perf profile (per-stage CPU) of cmr-bridge
#   BENCH_SMOKE=1                        the CI smoke instead (deploy/local/test.sh): cmr-bridge
#                                        alone, BENCH_SMOKE_SECONDS (4) at 16 connections plus
#                                        duplicates, then the consumer check; fails on any error
#                                        or missing record; writes no report
#   BENCH_BUILD_DIR=<repo>/build-bench   build directory (configured from tests/bench)
#   BENCH_SKIP_BUILD=1                   use the binaries already in BENCH_BUILD_DIR
#   BENCH_OUT_DIR=tests/bench/results    where report.md and report.png go
#   BENCH_KEEP_TOPICS=1 BENCH_KEEP_WORK=1   keep the run's topics / work dir (logs, raw data)
#   BENCH_CODE_NOTE="..."                how to name the code in the report when not in a git checkout
#   CMR_KAFKA_PORT, CMR_KAFKA_HOME       as for deploy/local/kafka.sh
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
bench_dir="$root/tests/bench"
cd "$root"

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
FIXED_DURATION=${BENCH_FIXED_DURATION:-15}
FIXED_WARMUP=3
FIXED_FRACTIONS=${BENCH_FIXED_FRACTIONS:-"0.5 0.25"}
IDLE_RATE=${BENCH_IDLE_RATE:-200}
CONNECTIONS=${BENCH_CONNECTIONS:-"1 16 64 256"}
RATIO_CONNECTIONS=${BENCH_RATIO_CONNECTIONS:-64}
TUNED_THREADS=${BENCH_TUNED_THREADS:-320}
TIMEOUT_MS=${BENCH_TIMEOUT_MS:-5000}
PERF_RECORDS=${BENCH_PERF_RECORDS:-40000}
BUILD_DIR=${BENCH_BUILD_DIR:-$root/build-bench}
REFERENCE=${BENCH_REFERENCE:-1}
REFERENCE_PARTITIONS=${BENCH_REFERENCE_PARTITIONS:-3}
SMOKE=${BENCH_SMOKE:-0}
PROFILE=${BENCH_PROFILE:-1}
SMOKE_SECONDS=${BENCH_SMOKE_SECONDS:-4}
OUT_DIR=${BENCH_OUT_DIR:-$bench_dir/results}
BROKERS="127.0.0.1:${CMR_KAFKA_PORT:-9092}"
KAFKA_HOME_DIR=${CMR_KAFKA_HOME:-$root/.cache/kafka}
KEY="bench-signing-key-$$"
RUN_ID="$(date -u +%Y%m%d%H%M%S)-$$"
PREFIX="cmr-bench.$RUN_ID."
COMMAND_LINE="bash tests/bench/bench.sh"
for v in BENCH_DURATION BENCH_WARMUP BENCH_FIXED_DURATION BENCH_FIXED_FRACTIONS BENCH_IDLE_RATE \
  BENCH_CONNECTIONS BENCH_RATIO_CONNECTIONS BENCH_TUNED_THREADS BENCH_TIMEOUT_MS BENCH_PERF_RECORDS \
  BENCH_BRIDGE_ENV BENCH_REFERENCE BENCH_REFERENCE_ENV; do
  [[ -n "${!v:-}" ]] && COMMAND_LINE="$v=\"${!v}\" $COMMAND_LINE"
done

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

largest_connections=0
for c in $CONNECTIONS; do
  [[ "$c" =~ ^[1-9][0-9]*$ && "$c" -le 2048 ]] || die "BENCH_CONNECTIONS: bad count '$c'"
  ((c > largest_connections)) && largest_connections=$c
done
[[ " $CONNECTIONS " == *" $RATIO_CONNECTIONS "* ]] ||
  die "BENCH_RATIO_CONNECTIONS ($RATIO_CONNECTIONS) must be one of BENCH_CONNECTIONS ($CONNECTIONS)"
for f in $FIXED_FRACTIONS; do
  awk -v f="$f" 'BEGIN { exit !(f > 0 && f <= 1) }' || die "BENCH_FIXED_FRACTIONS: bad fraction '$f'"
done
FIXED_MAIN=${FIXED_FRACTIONS%% *}
awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { exit !(d > w && d <= 600 && w >= 0) }' ||
  die "need 0 <= BENCH_WARMUP < BENCH_DURATION <= 600"

WORK=$(mktemp -d /tmp/cmr-bench.XXXXXX)
started_pids=()
declare -A svc_log=()
cleanup() {
  local pid
  for pid in "${started_pids[@]+"${started_pids[@]}"}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${started_pids[@]+"${started_pids[@]}"}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ "${BENCH_KEEP_TOPICS:-0}" != 1 && -n "${LOADGEN:-}" && -x "${LOADGEN:-}" ]]; then
    "$LOADGEN" topics delete --brokers "$BROKERS" --prefix "$PREFIX" >/dev/null 2>&1 ||
      log "could not delete topics $PREFIX* (delete them with: $LOADGEN topics delete --prefix $PREFIX)"
  fi
  if [[ "${BENCH_KEEP_WORK:-0}" == 1 ]]; then
    log "work dir kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Tools from Debian, installed only when missing: gnuplot for the plot, perf for the profile.
ensure_tool() { # ensure_tool COMMAND PACKAGE WHAT
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (Debian) for $3"
  local sudo_cmd=()
  [[ "$(id -u)" -eq 0 ]] || sudo_cmd=(sudo)
  if ! { DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1 ||
    { "${sudo_cmd[@]}" apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1; }; }; then
    log "$2 could not be installed; the report will have no $3"
    return 1
  fi
}

find_binary() { # find_binary NAME: the newest executable of that name under BUILD_DIR
  find "$BUILD_DIR" -maxdepth 4 -type f -name "$1" -perm -u+x -printf '%T@ %p\n' 2>/dev/null |
    sort -rn | head -n1 | cut -d' ' -f2-
}

build() {
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building Release into $BUILD_DIR (log: $WORK/build.log)"
    if [[ -f "$BUILD_DIR/CMakeCache.txt" ]] &&
      ! grep -q "^CMAKE_HOME_DIRECTORY:INTERNAL=$bench_dir\$" "$BUILD_DIR/CMakeCache.txt"; then
      die "$BUILD_DIR was configured from another source dir; set BENCH_BUILD_DIR or remove it"
    fi
    { cmake -S "$bench_dir" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release &&
      cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target cmr-bridge cmr_bridge_loadgen \
        cmr_bridge_bench_ceiling; } >"$WORK/build.log" 2>&1 ||
      { tail -n 40 "$WORK/build.log" >&2; die "build failed"; }
  fi
  BRIDGE=$(find_binary cmr-bridge)
  LOADGEN=$(find_binary cmr_bridge_loadgen)
  [[ -x "$BRIDGE" && -x "$LOADGEN" ]] || die "cmr-bridge or cmr_bridge_loadgen missing in $BUILD_DIR"
  ((SMOKE)) && return 0
  CEILING=$(find_binary cmr_bridge_bench_ceiling)
  [[ -x "$CEILING" ]] || die "cmr_bridge_bench_ceiling missing in $BUILD_DIR"
  ((REFERENCE)) && build_reference
  return 0
}

# The Go reference receiver: modules from the Go module proxy into .cache/bench-go (pinned by
# tests/bench/reference/go.sum), the binary into BUILD_DIR.
build_reference() {
  local version
  version=$(go env GOVERSION 2>/dev/null | sed 's/^go//') || true
  if [[ -z "$version" ]] || ! printf '1.26\n%s\n' "$version" | sort -V -C; then
    die "the Go reference receiver needs Go >= 1.26 (found: ${version:-none}); or set BENCH_REFERENCE=0"
  fi
  REFERENCE_BIN="$BUILD_DIR/reference/cmr-reference-receiver"
  log "building the Go reference receiver (go $version) into $REFERENCE_BIN"
  mkdir -p "$root/.cache/bench-go/mod" "$root/.cache/bench-go/build" "$BUILD_DIR/reference"
  (cd "$bench_dir/reference" &&
    GOMODCACHE="$root/.cache/bench-go/mod" GOCACHE="$root/.cache/bench-go/build" \
      GOFLAGS=-mod=readonly GOTOOLCHAIN=local GOPROXY=https://proxy.golang.org \
      go build -trimpath -o "$REFERENCE_BIN" .) >>"$WORK/build.log" 2>&1 ||
    { tail -n 20 "$WORK/build.log" >&2; die "go build of tests/bench/reference failed"; }
}

# ---------------------------------------------------------------------------------------------
# Services. start_service NAME BINARY THREADS TOPIC_SET → sets SVC_PID, SVC_PORT, SVC_THREADS.
# THREADS "" = the service default (read back from the bridge's start-up log).
start_service() {
  local name=$1 binary=$2 threads=$3 set=$4 logfile="$WORK/$1.log" unset_args=() var
  for var in $(compgen -e | grep '^CMR_BRIDGE_' || true); do unset_args+=(-u "$var"); done
  local extra=()
  [[ "$binary" == "$BRIDGE" && -n "${BENCH_BRIDGE_ENV:-}" ]] && read -r -a extra <<<"$BENCH_BRIDGE_ENV"
  [[ "$binary" == "${REFERENCE_BIN:-}" && -n "${BENCH_REFERENCE_ENV:-}" ]] &&
    read -r -a extra <<<"$BENCH_REFERENCE_ENV"
  env "${unset_args[@]+"${unset_args[@]}"}" \
    CMR_BRIDGE_SIGNING_KEYS="$KEY" \
    CMR_BRIDGE_LISTEN=127.0.0.1:0 \
    CMR_BRIDGE_ADMIN_LISTEN=127.0.0.1:0 \
    CMR_BRIDGE_KAFKA_BROKERS="$BROKERS" \
    CMR_BRIDGE_TOPIC_PREFIX="${PREFIX}${set}." \
    CMR_BRIDGE_TOPIC_ORDER="${PREFIX}${set}.order.events" \
    CMR_BRIDGE_TOPIC_SUBSCRIPTION="${PREFIX}${set}.subscription.events" \
    CMR_BRIDGE_TOPIC_PREWARMUP="${PREFIX}${set}.prewarmup.events" \
    CMR_BRIDGE_TOPIC_DEADLETTER="${PREFIX}${set}.webhooks.deadletter" \
    CMR_BRIDGE_DEDUP_TOPIC="${PREFIX}${set}.webhooks.dedup" \
    ${threads:+CMR_BRIDGE_HTTP_THREADS="$threads"} \
    ${threads:+CMR_BRIDGE_MAX_IN_FLIGHT="$threads"} \
    "${extra[@]+"${extra[@]}"}" \
    "$binary" >"$logfile" 2>&1 </dev/null &
  SVC_PID=$!
  started_pids+=("$SVC_PID")
  svc_log[$SVC_PID]=$logfile
  local line="" i
  for i in $(seq 1 300); do
    line=$(grep -m1 '"msg":"listening"' "$logfile" 2>/dev/null || true)
    [[ -n "$line" ]] && break
    kill -0 "$SVC_PID" 2>/dev/null || { tail -n 20 "$logfile" >&2; die "$name exited at start"; }
    sleep 0.1
  done
  [[ -n "$line" ]] || die "$name did not log 'listening' within 30 s"
  SVC_PORT=$(sed -n 's/.*"webhook_port":\([0-9]*\).*/\1/p' <<<"$line")
  local admin
  admin=$(sed -n 's/.*"admin_port":\([0-9-]*\).*/\1/p' <<<"$line")
  if [[ "$admin" =~ ^[0-9]+$ && "$admin" -gt 0 ]]; then
    for i in $(seq 1 600); do
      curl -fsS -m 2 "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1 && break
      ((i == 600)) && die "$name not ready within 60 s"
      sleep 0.1
    done
  fi
  SVC_THREADS=$threads
  if [[ -z "$threads" ]]; then
    SVC_THREADS=$(grep -m1 '"setting":"http_threads"' "$logfile" |
      sed -n 's/.*"value":"\([0-9]*\)".*/\1/p' || true)
    [[ -n "$SVC_THREADS" ]] || SVC_THREADS="default"
  fi
  log "$name up (pid $SVC_PID, port $SVC_PORT, $SVC_THREADS HTTP threads)"
}

stop_service() { # stop_service PID
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

service_alive() { # service_alive PID WHEN: a run against a dead service measures nothing
  kill -0 "$1" 2>/dev/null && return 0
  log "the service (pid $1) is gone $2; last lines of its log:"
  grep -v '"msg":"webhook"' "${svc_log[$1]:-/dev/null}" | tail -n 5 >&2 || true
  die "service exited $2 (something else may have signalled it; rerun)"
}

broker_pid() { tr -dc '0-9' <"$KAFKA_HOME_DIR/kafka.pid" 2>/dev/null || true; }

# load NAME PID PORT TOPIC_SET|- [loadgen args...] → $WORK/NAME.summary, $WORK/NAME.spectrum
load() {
  local name=$1 pid=$2 port=$3 set=$4
  shift 4
  local args=(run --label "$name" --target "127.0.0.1:$port" --key "$KEY"
    --timeout-ms "$TIMEOUT_MS" --run-prefix "$(printf '%06X' $((RANDOM * 32768 + RANDOM)) | tail -c 6)"
    --observe-pid "$pid" --out "$WORK/$name.summary" --spectrum "$WORK/$name.spectrum"
    --timeline "$WORK/$name.timeline")
  local bpid
  bpid=$(broker_pid)
  [[ -n "$bpid" ]] && args+=(--observe-cpu "broker=$bpid")
  if [[ "$set" != - ]]; then
    args+=(--kafka-brokers "$BROKERS"
      --kafka-topics "${PREFIX}${set}.order.events,${PREFIX}${set}.subscription.events,${PREFIX}${set}.prewarmup.events,${PREFIX}${set}.webhooks.deadletter")
  fi
  log "run $name: ${*}"
  service_alive "$pid" "before $name"
  timeout 900 "$LOADGEN" "${args[@]}" "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.stderr" ||
    { cat "$WORK/$name.stderr" >&2; die "load generator failed in $name"; }
  service_alive "$pid" "during $name"
  log "    → $(get "$name" throughput_rps) ok/s, p99 $(get "$name" "$(get "$name" main_kind)_p99_ms") ms, errors $(get "$name" errors), starved $(get "$name" connections_starved), kafka $(get "$name" kafka_check)"
}

get() { # get NAME KEY → value from NAME.summary ("-" when absent)
  local v
  v=$(awk -F= -v k="$2" '$1 == k { sub(/^[^=]*=/, ""); print; exit }' "$WORK/$1.summary" 2>/dev/null)
  printf '%s' "${v:--}"
}

calc() { awk "BEGIN { printf \"%s\", $* }"; }

# ---------------------------------------------------------------------------------------------
machine_info() {
  local cpu mem
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
  mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  printf '%s, %s CPUs, %s RAM, Linux %s' "${cpu:-unknown CPU}" "$(nproc)" "$mem" "$(uname -r)"
}

git_rev() {
  if git -C "$root" rev-parse --short HEAD >/dev/null 2>&1; then
    local rev dirty=""
    rev=$(git -C "$root" rev-parse --short HEAD)
    [[ -n "$(git -C "$root" status --porcelain --untracked-files=no -- . ":(exclude)tests/bench/results" 2>/dev/null)" ]] && dirty=" + uncommitted changes"
    printf '%s%s' "$rev" "$dirty"
  else
    printf '%s' "${BENCH_CODE_NOTE:-unknown (not a git checkout)}"
  fi
}

# ---------------------------------------------------------------------------------------------
# The CI smoke (BENCH_SMOKE=1): a few seconds of fresh and duplicate load against cmr-bridge,
# each followed by the consumer check. Fails when a request errs or an accepted eventId is not
# on Kafka, so a change that loses records under load fails the test command.
smoke() {
  build
  bash "$root/deploy/local/kafka.sh" status >/dev/null 2>&1 ||
    die "no broker on $BROKERS (start it with deploy/local/kafka.sh start)"
  start_service bridge "$BRIDGE" "" std
  local pid=$SVC_PID port=$SVC_PORT n failed=0
  local common=(--connections 16 --duration "$SMOKE_SECONDS" --warmup 1)
  load smoke_fresh "$pid" "$port" std "${common[@]}"
  load smoke_dup "$pid" "$port" std --duplicates 0.5 "${common[@]}"
  stop_service "$pid"
  for n in smoke_fresh smoke_dup; do
    if [[ "$(get "$n" errors)" != 0 || "$(get "$n" kafka_check)" != pass ||
      "$(get "$n" fresh_ok)" == 0 ]]; then
      log "smoke $n failed: errors $(get "$n" errors) ($(get "$n" error_kinds)), accepted $(get "$n" fresh_ok), consumer check $(get "$n" kafka_check) ($(get "$n" kafka_missing_ids) missing)"
      failed=1
    fi
  done
  ((failed == 0)) || die "bench smoke failed (service log: BENCH_KEEP_WORK=1 keeps $WORK)"
  log "smoke passed: $(get smoke_fresh fresh_ok) + $(get smoke_dup fresh_ok) accepted events all found on Kafka, $(get smoke_dup duplicate_answered_duplicate) duplicates answered as such, 0 errors"
}

main() {
  local t0=$SECONDS
  if ((SMOKE)); then
    smoke
    return 0
  fi
  ensure_tool gnuplot gnuplot-nox plot || true
  ((PROFILE)) && { ensure_tool perf linux-perf "per-stage profile" || true; }
  build
  log "starting the local broker (idempotent)"
  bash "$root/deploy/local/kafka.sh" start >"$WORK/kafka-start.log" 2>&1 ||
    { tail -n 20 "$WORK/kafka-start.log" >&2; die "deploy/local/kafka.sh start failed"; }
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  local common=(--duration "$DURATION" --warmup "$WARMUP")

  # 1. Service defaults (HTTP threads as shipped): bridge and ceiling (a) alternating per point.
  start_service bridge "$BRIDGE" "" std
  local bridge_pid=$SVC_PID bridge_port=$SVC_PORT
  DEFAULT_THREADS=$SVC_THREADS
  [[ "$DEFAULT_THREADS" =~ ^[0-9]+$ ]] || DEFAULT_THREADS=256
  start_service ceiling "$CEILING" "" ceil
  local ceil_pid=$SVC_PID ceil_port=$SVC_PORT
  local ref_pid="" ref_port=""
  if ((REFERENCE)); then
    "$LOADGEN" topics create --brokers "$BROKERS" --partitions "$REFERENCE_PARTITIONS" \
      "${PREFIX}ref.order.events" "${PREFIX}ref.subscription.events" \
      "${PREFIX}ref.prewarmup.events" "${PREFIX}ref.webhooks.deadletter" >/dev/null ||
      die "cannot create the Go reference receiver's topics"
    start_service reference "$REFERENCE_BIN" "" ref
    ref_pid=$SVC_PID ref_port=$SVC_PORT
  fi
  local c
  for c in $CONNECTIONS; do
    # The largest count runs last (after dup/401): it may starve the pool.
    [[ "$c" == "$largest_connections" && "$c" -gt "$DEFAULT_THREADS" ]] && continue
    load "ceil_c$c" "$ceil_pid" "$ceil_port" - --connections "$c" "${common[@]}"
    [[ -n "$ref_pid" ]] && load "ref_c$c" "$ref_pid" "$ref_port" ref --connections "$c" "${common[@]}"
    load "bridge_c$c" "$bridge_pid" "$bridge_port" std --connections "$c" "${common[@]}"
  done
  # Duplicates and wrongly signed requests, at the ratio connection count.
  load dup "$bridge_pid" "$bridge_port" std --connections "$RATIO_CONNECTIONS" --duplicates 1 "${common[@]}"
  load unauth "$bridge_pid" "$bridge_port" std --connections "$RATIO_CONNECTIONS" --unauthorized 1 "${common[@]}"
  if ((largest_connections > DEFAULT_THREADS)); then
    c=$largest_connections
    load "ceil_c$c" "$ceil_pid" "$ceil_port" - --connections "$c" "${common[@]}"
    [[ -n "$ref_pid" ]] && load "ref_c$c" "$ref_pid" "$ref_port" ref --connections "$c" "${common[@]}"
    load "bridge_c$c" "$bridge_pid" "$bridge_port" std --connections "$c" "${common[@]}"
  fi
  [[ -n "$ref_pid" ]] && stop_service "$ref_pid"
  stop_service "$ceil_pid"
  ((PROFILE)) && profile_bridge "$bridge_pid" "$bridge_port"
  stop_service "$bridge_pid"

  # 2. Tuned thread pool at the largest connection count, the fixed-rate and idle runs.
  start_service ceiling_tuned "$CEILING" "$TUNED_THREADS" ceil
  ceil_pid=$SVC_PID ceil_port=$SVC_PORT
  start_service bridge_tuned "$BRIDGE" "$TUNED_THREADS" tuned
  bridge_pid=$SVC_PID bridge_port=$SVC_PORT
  c=$largest_connections
  load "ceil_tuned_c$c" "$ceil_pid" "$ceil_port" - --connections "$c" "${common[@]}"
  load "bridge_tuned_c$c" "$bridge_pid" "$bridge_port" tuned --connections "$c" "${common[@]}"
  stop_service "$ceil_pid"
  local max_rps=0 n f
  for n in $(for c in $CONNECTIONS; do echo "bridge_c$c"; done) "bridge_tuned_c$largest_connections"; do
    max_rps=$(calc "($(get "$n" throughput_rps) > $max_rps) ? $(get "$n" throughput_rps) : $max_rps")
  done
  MAX_RPS=$max_rps
  # Fixed rate at fractions of the highest closed-loop throughput (the first one is judged).
  for f in $FIXED_FRACTIONS; do
    local rate
    rate=$(calc "int($max_rps * $f)")
    ((rate >= 1)) || die "no throughput measured"
    load "fixed_$f" "$bridge_pid" "$bridge_port" tuned --connections "$RATIO_CONNECTIONS" \
      --rate "$rate" --duration "$FIXED_DURATION" --warmup "$FIXED_WARMUP"
  done
  # Idle keep-alive connections: the same low rate over few and over many connections.
  load idle_few "$bridge_pid" "$bridge_port" tuned --connections 16 --rate "$IDLE_RATE" "${common[@]}"
  load idle_many "$bridge_pid" "$bridge_port" tuned --connections "$largest_connections" \
    --rate "$IDLE_RATE" "${common[@]}"
  stop_service "$bridge_pid"

  # 3. Ceiling (b): Kafka's own producer, same payloads, acks=all.
  producer_perf
  LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
  ELAPSED=$((SECONDS - t0))
  write_report
  plot || log "plot failed (report.md written without it)"
  log "done in ${ELAPSED}s: $OUT_DIR/report.md"
}

# A perf profile of cmr-bridge alone (sampled CPU, all its threads) over one more closed-loop
# point at BENCH_RATIO_CONNECTIONS, outside the measured points (perf costs CPU itself), and
# the physical floor of one event (HMAC + one JSON parse, `cmr_bridge_loadgen floor`).
profile_bridge() {
  local pid=$1 port=$2 window
  "$LOADGEN" floor >"$WORK/floor.summary" 2>&1 || log "the floor measurement failed"
  if ! command -v perf >/dev/null 2>&1; then
    log "perf not found (Debian: linux-perf): the report has no per-stage profile"
    return 0
  fi
  window=$(calc "$DURATION - $WARMUP - 1")
  (sleep "$WARMUP" && exec perf record -F 499 -p "$pid" -o "$WORK/perf.data" -- sleep "$window") \
    >"$WORK/perf-record.log" 2>&1 &
  local perf_pid=$!
  load profile "$pid" "$port" std --connections "$RATIO_CONNECTIONS" --duration "$DURATION" \
    --warmup "$WARMUP"
  if ! wait "$perf_pid"; then
    log "perf record failed (see below): the report has no per-stage profile"
    tail -n 5 "$WORK/perf-record.log" >&2
    return 0
  fi
  perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,sym --percent-limit 0 -q \
    2>/dev/null | sed '/^[[:space:]]*$/d' >"$WORK/perf.txt" || true
}

# perf's self time by (shared object, symbol) → stages: "percent<TAB>stage" lines, largest first.
profile_stages() {
  awk '
    $1 ~ /%$/ {
      pct = $1; sub(/%/, "", pct); dso = $2; sym = ""
      for (i = 4; i <= NF; i++) sym = sym " " $i
      if (dso ~ /kernel/) {
        if (sym ~ /schedule|switch_to|finish_task_switch|futex|wake_up|ttwu|enqueue_task|dequeue_task|pick_next|update_curr|select_task_rq|idle/)
          st = "kernel: context switches, futex waits and wake-ups"
        else if (sym ~ /tcp|ip_|skb|sock|net_|loopback|inet|nf_|__dev|napi/)
          st = "kernel: TCP over loopback (send, receive)"
        else
          st = "kernel: other system calls (poll, epoll, read/write entry, memory)"
      } else if (dso ~ /libcrypto/) st = "HMAC-SHA256 and SHA-256 (libcrypto)"
      else if (sym ~ /Schema|schema/) st = "schema validation (RapidJSON)"
      else if (sym ~ /GenericReader|ParseStream|ParseObject|ParseString|ParseValue/) st = "JSON parse (RapidJSON)"
      else if (dso ~ /librdkafka/) st = "librdkafka (produce call, broker and poll threads)"
      else if (sym ~ /httplib/) st = "cpp-httplib (request line, headers, response)"
      else if (sym ~ /malloc|free|operator new|operator delete|_int_|tcache|realloc|arena/) st = "allocation (malloc/free)"
      else if (sym ~ /JsonWriter|strftime|printf|localtime|gmtime|cmr_bridge::log/) st = "JSON writing (log line, record, answer)"
      else if (sym ~ /prometheus/) st = "metrics (prometheus-cpp)"
      else if (sym ~ /cmr_bridge/) st = "cmr-bridge code (routing, record, dedup, hand-offs)"
      else if (dso ~ /libc|libstdc|ld-linux|libm/) st = "libc/libstdc++ other (memcpy, strings, locks)"
      else st = "other: " dso
      sum[st] += pct
    }
    END { for (s in sum) printf "%.1f\t%s\n", sum[s], s }' "$WORK/perf.txt" | sort -t$'\t' -k1,1 -rn
}

producer_perf() {
  local topic="${PREFIX}perf" payloads="$WORK/payloads.txt" classpath
  "$LOADGEN" payloads --count 2000 --out "$payloads" >"$WORK/payloads.summary"
  PERF_AVG_BYTES=$(sed -n 's/^avg_body_bytes=//p' "$WORK/payloads.summary")
  "$LOADGEN" topics create --brokers "$BROKERS" --partitions 6 "$topic" >/dev/null ||
    die "cannot create $topic"
  classpath=$(bash "$root/deploy/local/kafka.sh" classpath)
  local bpid before after t_start t_end
  bpid=$(broker_pid)
  before=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$bpid/stat" 2>/dev/null || echo 0)
  t_start=$(date +%s.%N)
  log "run producer_perf: ProducerPerformance $PERF_RECORDS records, payloads of $PERF_AVG_BYTES B avg, acks=all"
  # Producer settings as the bridge sets them (src/kafka/kafka_publisher.cc).
  timeout 300 java -Xms64m -Xmx512m -cp "$classpath" org.apache.kafka.tools.ProducerPerformance \
    --topic "$topic" --num-records "$PERF_RECORDS" --throughput -1 \
    --payload-file "$payloads" \
    --producer-props bootstrap.servers="$BROKERS" acks=all enable.idempotence=true \
    linger.ms=0 compression.type=lz4 \
    >"$WORK/perf.out" 2>"$WORK/perf.err" || true
  t_end=$(date +%s.%N)
  after=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$bpid/stat" 2>/dev/null || echo 0)
  PERF_LINE=$(grep 'records sent' "$WORK/perf.out" | tail -n1 || true)
  if [[ -z "$PERF_LINE" ]]; then
    log "ProducerPerformance produced no summary; see below"
    tail -n 20 "$WORK/perf.err" >&2 || true
    PERF_RPS=- PERF_P50=- PERF_P99=- PERF_P999=- PERF_AVG=- PERF_MBPS=- PERF_BROKER_CPU=-
    return 0
  fi
  # "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, a ms 50th, b ms 95th, c ms 99th, d ms 99.9th."
  PERF_RPS=$(sed -n 's/.* records sent, \([0-9.]*\) records\/sec.*/\1/p' <<<"$PERF_LINE")
  PERF_MBPS=$(sed -n 's/.*(\([0-9.]*\) MB\/sec).*/\1/p' <<<"$PERF_LINE")
  PERF_AVG=$(sed -n 's/.* \([0-9.]*\) ms avg latency.*/\1/p' <<<"$PERF_LINE")
  PERF_P50=$(sed -n 's/.* \([0-9.]*\) ms 50th.*/\1/p' <<<"$PERF_LINE")
  PERF_P99=$(sed -n 's/.* \([0-9.]*\) ms 99th.*/\1/p' <<<"$PERF_LINE")
  PERF_P999=$(sed -n 's/.* \([0-9.]*\) ms 99.9th.*/\1/p' <<<"$PERF_LINE")
  local ticks
  ticks=$(getconf CLK_TCK)
  PERF_BROKER_CPU=$(calc "($after - $before) / $ticks * 1000 * 1000 / $PERF_RECORDS")
  PERF_BROKER_CPU=$(printf '%.1f' "$PERF_BROKER_CPU")
  PERF_WALL=$(printf '%.1f' "$(calc "$t_end - $t_start")")
  log "    → $PERF_RPS records/s, p99 $PERF_P99 ms"
}

# ---------------------------------------------------------------------------------------------
verdict() { # verdict CONDITION → met/missed
  if awk "BEGIN { exit !($1) }" 2>/dev/null; then printf 'met'; else printf '**missed**'; fi
}

row() { # row NAME SERVICE THREADS → one row of the closed-loop table
  local n=$1 k
  k=$(get "$n" main_kind)
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$2" "$(get "$n" connections)" "$3" "$(get "$n" throughput_rps)" \
    "$(get "$n" "${k}_p50_ms")" "$(get "$n" "${k}_p90_ms")" "$(get "$n" "${k}_p99_ms")" \
    "$(get "$n" "${k}_p999_ms")" "$(get "$n" "${k}_max_ms")" \
    "$(get "$n" errors)" "$(get "$n" connections_starved)" "$(get "$n" listen_overflows)" \
    "$(get "$n" service_cpu_ms_per_1k)" "$(get "$n" service_context_switches_per_request)" \
    "$(get "$n" service_cores)" "$(get "$n" service_peak_rss_mb)" \
    "$(get "$n" broker_cores)" "$(get "$n" other_processes_cores)" "$(get "$n" kafka_check)"
}

fairness() { # fairness NAME → "min/median/max" answered requests per connection
  printf '%s/%s/%s' "$(get "$1" per_connection_ok_min)" "$(get "$1" per_connection_ok_median)" \
    "$(get "$1" per_connection_ok_max)"
}

fixed_row() { # fixed_row FRACTION
  local n="fixed_$1"
  printf '| %s × max | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$1" "$(get "$n" target_rate)" "$(get "$n" throughput_rps)" "$(get "$n" slowest_second_ok)" "$(get "$n" fresh_p50_ms)" \
    "$(get "$n" fresh_p90_ms)" "$(get "$n" fresh_p99_ms)" "$(get "$n" fresh_p999_ms)" \
    "$(get "$n" fresh_max_ms)" "$(get "$n" fresh_service_p50_ms)" "$(get "$n" fresh_service_p99_ms)" \
    "$(get "$n" sent_late)" "$(get "$n" errors)" "$(get "$n" service_cpu_ms_per_1k)" \
    "$(get "$n" service_cores)" "$(get "$n" broker_cores)" "$(get "$n" other_processes_cores)" \
    "$(get "$n" kafka_check)"
}

bridge_runs() { # every run against cmr-bridge (each has a consumer check)
  local c f
  for c in $CONNECTIONS; do echo "bridge_c$c"; done
  echo dup unauth "bridge_tuned_c$largest_connections" idle_few idle_many
  for f in $FIXED_FRACTIONS; do echo "fixed_$f"; done
}

ratio_of() { # ratio_of BRIDGE_RUN REF_RUN KEY → bridge value / reference value, 2 decimals
  local a b
  a=$(get "$1" "$3")
  b=$(get "$2" "$3")
  if [[ "$a" =~ ^[0-9.]+$ && "$b" =~ ^[0-9.]+$ ]] && awk -v b="$b" 'BEGIN { exit !(b > 0) }'; then
    printf '%.2f' "$(calc "$a / $b")"
  else
    printf -- '-'
  fi
}

# Issue 19: cmr-bridge against the Go reference receiver, same broker and load, one run.
reference_section() {
  local c n judged="" tput_ok=1 cpu_ok=1 broker_ok=1 kafka_ok=1 r tput="" cpu="" broker="" p50
  for c in 16 64 256; do [[ " $CONNECTIONS " == *" $c "* ]] && judged+=" $c"; done
  echo "## Against the Go reference receiver"
  echo
  echo "tests/bench/reference: net/http + franz-go $(sed -n 's/^require github.com\/twmb\/franz-go \(v[^ ]*\).*/\1/p' "$bench_dir/reference/go.mod"),"
  echo "$(go env GOVERSION 2>/dev/null || echo go); acks=all, idempotent producer, lz4, ProduceSync (sends each record at once); the same HMAC (hex, raw body), 5-minute"
  echo "window and envelope checks, in-memory dedup, one record per event (the raw body), the answer"
  echo "after the ack; no schema validation, CloudEvents record, dedup marker, access log or metrics."
  echo "Both ran the same closed-loop points against the same broker, alternating, in this run."
  echo "CPU and broker CPU in µs per answered event; ratio = cmr-bridge / reference."
  echo
  echo "| conns | cmr-bridge ok/s | reference ok/s | ratio | cmr-bridge p50 / p99 ms | reference p50 / p99 ms | cmr-bridge CPU µs | reference CPU µs | ratio | cmr-bridge broker µs | reference broker µs | ratio | records on Kafka: cmr-bridge / reference |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for c in $CONNECTIONS; do
    n="bridge_c$c" r="ref_c$c"
    echo "| $c | $(get "$n" throughput_rps) | $(get "$r" throughput_rps) | $(ratio_of "$n" "$r" throughput_rps) | $(get "$n" fresh_p50_ms) / $(get "$n" fresh_p99_ms) | $(get "$r" fresh_p50_ms) / $(get "$r" fresh_p99_ms) | $(get "$n" service_cpu_ms_per_1k) | $(get "$r" service_cpu_ms_per_1k) | $(ratio_of "$n" "$r" service_cpu_ms_per_1k) | $(get "$n" broker_cpu_ms_per_1k) | $(get "$r" broker_cpu_ms_per_1k) | $(ratio_of "$n" "$r" broker_cpu_ms_per_1k) | $(get "$n" kafka_records)/$(get "$n" kafka_expected_ids) $(get "$n" kafka_check) / $(get "$r" kafka_records)/$(get "$r" kafka_expected_ids) $(get "$r" kafka_check) |"
  done
  for c in $judged; do
    n="bridge_c$c" r="ref_c$c"
    tput+="${tput:+, }$c: $(ratio_of "$n" "$r" throughput_rps)×"
    cpu+="${cpu:+, }$c: $(ratio_of "$n" "$r" service_cpu_ms_per_1k)×"
    broker+="${broker:+, }$c: $(ratio_of "$n" "$r" broker_cpu_ms_per_1k)×"
    awk "BEGIN { exit !($(ratio_of "$n" "$r" throughput_rps | tr - 0) >= 1.2) }" || tput_ok=0
    awk "BEGIN { exit !($(ratio_of "$n" "$r" service_cpu_ms_per_1k | tr - 9) <= 0.8) }" || cpu_ok=0
    awk "BEGIN { exit !($(ratio_of "$n" "$r" broker_cpu_ms_per_1k | tr - 9) <= 1.3) }" || broker_ok=0
  done
  for c in $CONNECTIONS; do
    [[ "$(get "bridge_c$c" kafka_check)" == pass && "$(get "ref_c$c" kafka_check)" == pass ]] || kafka_ok=0
  done
  p50=$(get bridge_c1 fresh_p50_ms)
  echo
  echo "| target (issue 19) | measured | verdict |"
  echo "|---|---|---|"
  echo "| throughput ≥ 1.2× the reference at 16, 64 and 256 connections | $tput | $(verdict "$tput_ok == 1") |"
  echo "| service CPU per accepted event ≤ 0.8× the reference's | $cpu | $(verdict "$cpu_ok == 1") |"
  echo "| p50 at 16 connections ≤ the reference's | $(get bridge_c16 fresh_p50_ms) vs $(get ref_c16 fresh_p50_ms) ms = $(ratio_of bridge_c16 ref_c16 fresh_p50_ms)× | $(verdict "$(ratio_of bridge_c16 ref_c16 fresh_p50_ms | tr - 9) <= 1") |"
  echo "| p50 at 1 connection ≤ 1.0 ms, Kafka ack included | $p50 ms (reference: $(get ref_c1 fresh_p50_ms) ms) | $(verdict "$(tr - 9 <<<"$p50") <= 1.0") |"
  echo "| broker CPU per event ≤ 1.3× the reference's (dedup markers included) | $broker | $(verdict "$broker_ok == 1") |"
  echo "| every accepted eventId on Kafka, both services | $(for c in $CONNECTIONS; do printf '%s ' "$(get "bridge_c$c" kafka_check)/$(get "ref_c$c" kafka_check)"; done)| $(verdict "$kafka_ok == 1") |"
  echo
}

# Where one event's CPU goes in cmr-bridge (perf), against the physical floor.
stage_section() {
  local cpu pct stage
  echo "## Where an event's CPU goes (cmr-bridge, $RATIO_CONNECTIONS connections)"
  echo
  if [[ ! -s "$WORK/perf.txt" ]]; then
    echo "No profile in this run (perf missing or failed; see the bench log)."
    echo
    return 0
  fi
  cpu=$(get profile service_cpu_ms_per_1k)
  echo "\`perf record -F 499\` on every cmr-bridge thread during one more closed-loop point at"
  echo "$RATIO_CONNECTIONS connections (not one of the measured points: $(get profile throughput_rps) ok/s under perf, $cpu µs of CPU"
  echo "per event, consumer check $(get profile kafka_check)). Each sample's own function (self time) is put in a"
  echo "stage by its library and symbol name; inlined code counts where it was inlined, so the"
  echo "stages are approximate. µs = share × CPU per event."
  echo
  echo "| stage | share | µs per event |"
  echo "|---|---|---|"
  while IFS=$'\t' read -r pct stage; do
    echo "| $stage | $pct % | $(printf '%.1f' "$(calc "$pct / 100 * ${cpu/-/0}")") |"
  done < <(profile_stages)
  echo
  local measured="bridge_c$RATIO_CONNECTIONS"
  if grep -q '^thread_role=' "$WORK/$measured.summary" 2>/dev/null; then
    echo "By thread, from /proc over the measured $RATIO_CONNECTIONS-connection point (no perf attached:"
    echo "$(get "$measured" throughput_rps) ok/s, $(get "$measured" service_cpu_ms_per_1k) µs of CPU per event). A role is the bridge's threads of one"
    echo "name (librdkafka's are \`rdk:*\`); the kernel counts CPU in ticks, so a role's share is"
    echo "approximate:"
    echo
    echo "| thread role | threads | CPU µs per event | context switches per event |"
    echo "|---|---|---|---|"
    sed -n 's/^thread_role=//p' "$WORK/$measured.summary" | sort -k2,2 -rn |
      while read -r role role_cpu role_switches role_threads; do
        echo "| $role | $role_threads | $role_cpu | $role_switches |"
      done
    echo
  fi
  echo "Physical floor (\`cmr_bridge_loadgen floor\`: the same bodies, avg $(sed -n 's/^avg_body_bytes=//p' "$WORK/floor.summary") B, one thread, no I/O):"
  echo "HMAC-SHA256 of the body $(printf '%.2f' "$(sed -n 's/^hmac_us_per_event=//p' "$WORK/floor.summary")") µs + one JSON parse $(printf '%.2f' "$(sed -n 's/^json_parse_us_per_event=//p' "$WORK/floor.summary")") µs = **$(printf '%.2f' "$(sed -n 's/^floor_us_per_event=//p' "$WORK/floor.summary")") µs per event**."
  echo
  echo "The heaviest functions (self time):"
  echo
  echo '```'
  head -n 15 "$WORK/perf.txt" | cut -c1-150
  echo '```'
  echo
}

write_report() {
  mkdir -p "$OUT_DIR"
  local r="$OUT_DIR/report.md" c f n big=$largest_connections
  local b64="bridge_c$RATIO_CONNECTIONS" c64="ceil_c$RATIO_CONNECTIONS" fx="fixed_$FIXED_MAIN"
  local ratio fixed_p99 dup_ratio unauth_ratio accepted_rps checks failed
  ratio=$(calc "$(get "$b64" throughput_rps) / $(get "$c64" throughput_rps)")
  fixed_p99=$(get "$fx" fresh_p99_ms)
  accepted_rps=$(get "$b64" throughput_rps)
  dup_ratio=$(calc "$(get dup duplicate_rps) / $accepted_rps")
  unauth_ratio=$(calc "$(get unauth unauthorized_rps) / $accepted_rps")
  checks=$(for n in $(bridge_runs); do
    get "$n" kafka_check
    echo
  done | sort | uniq -c | awk '{ printf "%s%s × %s", (NR > 1 ? ", " : ""), $1, $2 }')
  failed=$(for n in $(bridge_runs); do [[ "$(get "$n" kafka_check)" == pass ]] || echo "$n"; done | wc -l)
  local dedup_active=0 dedup_state
  [[ "$(get dup duplicate_answered_duplicate)" =~ ^[1-9] ]] && dedup_active=1
  if ((dedup_active)); then
    dedup_state="active: duplicates answered \`status: duplicate\` ($(get dup duplicate_answered_duplicate) times), none published again"
  else
    dedup_state="not active: duplicates were published again (\`status: accepted\`)"
  fi

  {
    echo "# cmr-bridge benchmark"
    echo
    echo "Generated by \`$COMMAND_LINE\` on $(date -u '+%Y-%m-%d %H:%M UTC') in ${ELAPSED}s."
    echo
    echo "What is measured and how, and what changed these figures so far: docs/performance.md. The"
    echo "README links this report; a run rewrites it and report.png, never the README or docs/."
    echo
    echo "- **Machine:** $(machine_info). Load average before/after: $LOAD_BEFORE / $LOAD_AFTER."
    echo "  The service, the broker (one JVM) and the load generator share these CPUs; *others* is"
    echo "  CPU used by unrelated processes in the same window. Compare figures of one run with"
    echo "  each other (ratios), not across machines or runs."
    echo "- **Code:** $(git_rev); $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || echo Release) build; service defaults unless noted."
    echo "- **Traffic:** unique, correctly signed (body-hex) webhooks of all 11 events:"
    echo "  $(get "$b64" mix | sed 's/,/, /g');"
    echo "  average body $(get "$b64" avg_body_bytes) B (prewarmup.order.success ~20 KB). Every response is"
    echo "  checked (HTTP status, \`status\`, \`eventId\`). Closed-loop points run ${DURATION}s, the first"
    echo "  ${WARMUP}s not measured; client timeout ${TIMEOUT_MS} ms (a request not answered by then is an error)."
    echo "- **Latency:** HdrHistogram-style log-linear histogram (< 0.8 % bucket error), percentiles"
    echo "  are bucket upper bounds. Fixed-rate latency is measured from each request's intended send"
    echo "  time (no coordinated omission). **CPU** = utime+stime of the process over the window;"
    echo "  **peak RSS** = VmHWM, reset at the start of each window; **ctx sw/req** = context"
    echo "  switches of all service threads per request; **listen overflows** = connections dropped"
    echo "  because an accept queue was full (TcpExt ListenOverflows, machine-wide, whole run)."
    echo
    echo "## Targets"
    echo
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
    echo "| throughput at $RATIO_CONNECTIONS connections ≥ 50 % of ceiling (a) | $(get "$b64" throughput_rps) vs $(get "$c64" throughput_rps) ok/s = $(printf '%.0f' "$(calc "$ratio * 100")") % | $(verdict "$ratio >= 0.5") |"
    echo "| p99 ≤ 25 ms at half the maximum throughput | $(get "$fx" target_rate)/s (max $(printf '%.0f' "$MAX_RPS")/s), $RATIO_CONNECTIONS connections: p99 $fixed_p99 ms (p99.9 $(get "$fx" fresh_p999_ms) ms), achieved $(get "$fx" throughput_rps)/s, slowest second $(get "$fx" slowest_second_ok)/s | $(verdict "$fixed_p99 <= 25 && $(get "$fx" errors) == 0") |"
    echo "| $big keep-alive connections, no starvation or timeouts: service defaults ($DEFAULT_THREADS HTTP threads) | $(get "bridge_c$big" errors) errors ($(get "bridge_c$big" error_kinds)), $(get "bridge_c$big" connections_starved) of $big connections starved, answers per connection min/median/max $(fairness "bridge_c$big"), $(get "bridge_c$big" listen_overflows) listen overflows, p99.9 $(get "bridge_c$big" fresh_p999_ms) ms | $(verdict "$(get "bridge_c$big" errors) == 0 && $(get "bridge_c$big" connections_starved) == 0") |"
    echo "| the same with CMR_BRIDGE_HTTP_THREADS = CMR_BRIDGE_MAX_IN_FLIGHT = $TUNED_THREADS | $(get "bridge_tuned_c$big" errors) errors ($(get "bridge_tuned_c$big" error_kinds)), $(get "bridge_tuned_c$big" connections_starved) starved, min/median/max $(fairness "bridge_tuned_c$big"), $(get "bridge_tuned_c$big" listen_overflows) listen overflows, p99.9 $(get "bridge_tuned_c$big" fresh_p999_ms) ms | $(verdict "$(get "bridge_tuned_c$big" errors) == 0 && $(get "bridge_tuned_c$big" connections_starved) == 0") |"
    echo "| duplicates ≥ 2× the accepted-event rate | $(get dup duplicate_rps)/s vs $accepted_rps/s = $(printf '%.2f' "$dup_ratio")× (dedup $dedup_state) | $(verdict "$dup_ratio >= 2 && $dedup_active == 1") |"
    echo "| rejected (401) ≥ 2× the accepted-event rate | $(get unauth unauthorized_rps)/s vs $accepted_rps/s = $(printf '%.2f' "$unauth_ratio")× | $(verdict "$unauth_ratio >= 2") |"
    echo "| consumer check: every accepted eventId is on Kafka | $checks | $(verdict "$failed == 0") |"
    echo
    ((REFERENCE)) && reference_section
    ((PROFILE)) && stage_section
    echo "## Closed loop: throughput, latency, CPU, memory"
    echo
    echo "ok/s = requests answered as expected per second; latency in ms; CPU ms/1k = service CPU"
    echo "time per 1,000 answered requests; cores = CPUs busy in the service (broker, others: in the"
    echo "Kafka JVM and in unrelated processes, same window)."
    echo
    echo "| service | conns | HTTP threads | ok/s | p50 | p90 | p99 | p99.9 | max | errors | starved conns | listen overflows | CPU ms/1k | ctx sw/req | cores | peak RSS MB | broker cores | others cores | Kafka check |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for c in $CONNECTIONS; do
      row "bridge_c$c" cmr-bridge "$DEFAULT_THREADS"
      row "ceil_c$c" "ceiling (a)" "$DEFAULT_THREADS"
    done
    row "bridge_tuned_c$big" cmr-bridge "$TUNED_THREADS"
    row "ceil_tuned_c$big" "ceiling (a)" "$TUNED_THREADS"
    echo
    echo "Ceiling (a) = the same WebhookServer + IngestPipeline (verification, parsing, routing,"
    echo "validation, normalization, in-memory dedup, logging, metrics) with a Publisher that acks at"
    echo "once: no Kafka client, no broker (tests/bench/ceiling_main.cc). At $RATIO_CONNECTIONS connections one"
    echo "accepted event costs $(get "$b64" service_cpu_ms_per_1k) µs of cmr-bridge CPU ($(get "$c64" service_cpu_ms_per_1k) µs in the ceiling), plus"
    echo "$(get "$b64" broker_cpu_ms_per_1k) µs in the broker and $(get "$b64" loadgen_cpu_ms_per_1k) µs in the load generator, all on the same CPUs."
    echo "Per unit of the service's own CPU the bridge does $(printf '%.0f' "$(calc "$(get "$c64" service_cpu_ms_per_1k) / $(get "$b64" service_cpu_ms_per_1k) * 100")") % of the ceiling's work"
    echo "(ceiling CPU per event / bridge CPU per event): a CPU-bound estimate of the throughput"
    echo "ratio with the broker and the sender on other CPUs."
    echo
    echo "## Fixed rate (no coordinated omission)"
    echo
    echo "cmr-bridge with $TUNED_THREADS HTTP threads, $RATIO_CONNECTIONS connections, ${FIXED_DURATION}s (first ${FIXED_WARMUP}s not measured); the highest"
    echo "closed-loop throughput was $(printf '%.0f' "$MAX_RPS")/s. Latency from the intended send time; service time from the"
    echo "actual send; *sent late* = requests the load generator itself sent > 1 ms after their time;"
    echo "*slowest second* = the fewest answers in one whole second of the window (a stall of the"
    echo "machine, the broker or the service shows there first)."
    echo
    echo "| rate | target/s | ok/s | slowest second ok/s | p50 | p90 | p99 | p99.9 | max | service p50 / p99 | sent late | errors | CPU ms/1k | cores | broker cores | others cores | Kafka check |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for f in $FIXED_FRACTIONS; do fixed_row "$f"; done
    echo
    echo "## Idle keep-alive connections"
    echo
    echo "The same low rate ($IDLE_RATE/s) over 16 and over $big keep-alive connections (cmr-bridge, $TUNED_THREADS HTTP"
    echo "threads). cpp-httplib 0.11 waits for the next request on a kept-alive connection by polling"
    echo "every ~11 ms (poll 10 ms + sleep 1 ms), so each open connection costs CPU while it waits."
    echo
    echo "| conns | ok/s | p50 | p99 | service cores | CPU ms/1k | ctx sw/req | peak RSS MB |"
    echo "|---|---|---|---|---|---|---|---|"
    for n in idle_few idle_many; do
      echo "| $(get "$n" connections) | $(get "$n" throughput_rps) | $(get "$n" fresh_p50_ms) | $(get "$n" fresh_p99_ms) | $(get "$n" service_cores) | $(get "$n" service_cpu_ms_per_1k) | $(get "$n" service_context_switches_per_request) | $(get "$n" service_peak_rss_mb) |"
    done
    echo
    echo "## Duplicates and rejected requests ($RATIO_CONNECTIONS connections, closed loop)"
    echo
    echo "| traffic | answered/s | × accepted rate | p50 | p99 | p99.9 | errors | CPU ms/1k | broker cores |"
    echo "|---|---|---|---|---|---|---|---|---|"
    echo "| accepted (fresh events) | $accepted_rps | 1.00 | $(get "$b64" fresh_p50_ms) | $(get "$b64" fresh_p99_ms) | $(get "$b64" fresh_p999_ms) | $(get "$b64" errors) | $(get "$b64" service_cpu_ms_per_1k) | $(get "$b64" broker_cores) |"
    echo "| duplicates (same body and eventId, fresh timestamp and signature) | $(get dup duplicate_rps) | $(printf '%.2f' "$dup_ratio") | $(get dup duplicate_p50_ms) | $(get dup duplicate_p99_ms) | $(get dup duplicate_p999_ms) | $(get dup errors) | $(get dup service_cpu_ms_per_1k) | $(get dup broker_cores) |"
    echo "| wrongly signed (401 signature_mismatch) | $(get unauth unauthorized_rps) | $(printf '%.2f' "$unauth_ratio") | $(get unauth unauthorized_p50_ms) | $(get unauth unauthorized_p99_ms) | $(get unauth unauthorized_p999_ms) | $(get unauth errors) | $(get unauth service_cpu_ms_per_1k) | $(get unauth broker_cores) |"
    echo
    if ((dedup_active)); then
      echo "Dedup is $dedup_state."
    else
      echo "Dedup is $dedup_state: the duplicate rate equals the accepted rate by construction, so"
      echo "that row is only meaningful once the dedup cache (issue #4) answers duplicates itself."
    fi
    echo "Each connection first sends a few fresh events to have something to resend ($(get dup fresh_sent) in that run)."
    echo
    echo "## Ceiling (b): Kafka's ProducerPerformance"
    echo
    echo "\`java -cp \"\$(deploy/local/kafka.sh classpath)\" org.apache.kafka.tools.ProducerPerformance\`:"
    echo "$PERF_RECORDS records drawn from $(grep -c . "$WORK/payloads.txt" 2>/dev/null || echo 0) generated bodies of the same mix (avg ${PERF_AVG_BYTES:-?} B: the same"
    echo "record sizes), acks=all, enable.idempotence=true, linger.ms=0, compression.type=lz4 (the"
    echo "bridge's producer settings), one producer, unbounded rate (${PERF_WALL:-?} s wall time with the JVM start)."
    echo
    echo "| records/s | MB/s | avg ms | p50 | p99 | p99.9 | broker CPU ms/1k |"
    echo "|---|---|---|---|---|---|---|"
    echo "| $PERF_RPS | $PERF_MBPS | $PERF_AVG | $PERF_P50 | $PERF_P99 | $PERF_P999 | ${PERF_BROKER_CPU:--} |"
    echo
    echo "cmr-bridge at $RATIO_CONNECTIONS connections reaches $(printf '%.0f' "$(calc "$accepted_rps / (${PERF_RPS/-/0} + 0.000001) * 100")") % of ceiling (b). ProducerPerformance keeps thousands"
    echo "of records in flight; the bridge at most one per connection (it answers after the ack)."
    echo
    echo "![throughput, latency, CPU](report.png)"
  } >"$r"
}

plot() {
  command -v gnuplot >/dev/null 2>&1 || return 1
  local d="$WORK/curve.dat" c f big=$largest_connections spectra=""
  {
    echo "# conns bridge_rps ceil_rps p50 p99 p999 bridge_cpu ceil_cpu broker_cpu"
    for c in $CONNECTIONS; do
      printf '%s %s %s %s %s %s %s %s %s\n' "$c" \
        "$(get "bridge_c$c" throughput_rps)" "$(get "ceil_c$c" throughput_rps)" \
        "$(get "bridge_c$c" fresh_p50_ms)" "$(get "bridge_c$c" fresh_p99_ms)" "$(get "bridge_c$c" fresh_p999_ms)" \
        "$(get "bridge_c$c" service_cpu_ms_per_1k)" "$(get "ceil_c$c" service_cpu_ms_per_1k)" \
        "$(get "bridge_c$c" broker_cpu_ms_per_1k)"
    done
  } >"$d"
  printf '%s %s %s %s %s\n' "$big" "$(get "bridge_tuned_c$big" throughput_rps)" "$(get "ceil_tuned_c$big" throughput_rps)" \
    "$(get "bridge_tuned_c$big" fresh_p99_ms)" "$(get "bridge_tuned_c$big" fresh_p999_ms)" >"$WORK/tuned.dat"
  for f in $FIXED_FRACTIONS; do
    grep -v '^#' "$WORK/fixed_$f.spectrum" | awk '$4 != "inf"' >"$WORK/fixed_$f.dat" || true
    spectra+="\"$WORK/fixed_$f.dat\" using 4:1 with lines lw 2 title \"fixed rate $(get "fixed_$f" target_rate)/s, from intended send time\", "
  done
  grep -v '^#' "$WORK/bridge_c$RATIO_CONNECTIONS.spectrum" | awk '$4 != "inf"' >"$WORK/closed.dat" || true
  local perf=${PERF_RPS/-/0}
  gnuplot <<GNUPLOT
set terminal pngcairo size 1400,1000 font "DejaVu Sans,10"
set output "$OUT_DIR/report.png"
set multiplot layout 2,2 title "cmr-bridge benchmark $(date -u '+%Y-%m-%d'): $(nproc) CPUs shared by the service, the Kafka broker and the load generator"
set grid
set key top left
set logscale x 2
set xrange [0.7:${big}*1.4]
set xlabel "keep-alive connections (closed loop)"
set ylabel "answered requests/s"
set title "Throughput"
set key bottom right
plot "$d" using 1:3 with linespoints lw 2 title "ceiling (a): same stack, no Kafka", \
     "$d" using 1:2 with linespoints lw 2 title "cmr-bridge (${DEFAULT_THREADS} HTTP threads)", \
     "$WORK/tuned.dat" using 1:3 with points pt 7 ps 1.5 title "ceiling (a), ${TUNED_THREADS} threads", \
     "$WORK/tuned.dat" using 1:2 with points pt 9 ps 1.8 title "cmr-bridge, ${TUNED_THREADS} threads", \
     $perf with lines dt 2 lw 2 title "ceiling (b): ProducerPerformance records/s"
set title "cmr-bridge latency, closed loop"
set key top left
set ylabel "ms"
set logscale y 10
plot "$d" using 1:4 with linespoints lw 2 title "p50", \
     "$d" using 1:5 with linespoints lw 2 title "p99", \
     "$d" using 1:6 with linespoints lw 2 title "p99.9", \
     "$WORK/tuned.dat" using 1:4 with points pt 7 ps 1.5 title "p99, ${TUNED_THREADS} threads", \
     "$WORK/tuned.dat" using 1:5 with points pt 9 ps 1.5 title "p99.9, ${TUNED_THREADS} threads", \
     25 with lines dt 2 lc rgb "red" title "25 ms"
set title "cmr-bridge latency by percentile, ${RATIO_CONNECTIONS} connections"
set logscale x 10
set xrange [1:*]
set xlabel "percentile"
set xtics ("0%%" 1, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000)
set key bottom right
plot ${spectra}"$WORK/closed.dat" using 4:1 with lines lw 2 title "closed loop, from send time", \
     25 with lines dt 2 lc rgb "red" title "25 ms"
unset logscale y
set xtics autofreq
set logscale x 2
set xrange [0.7:${big}*1.4]
set xlabel "keep-alive connections (closed loop)"
set ylabel "CPU ms per 1,000 requests"
set title "CPU time per 1,000 events"
set key top right
set yrange [0:*]
plot "$d" using 1:7 with linespoints lw 2 title "cmr-bridge", \
     "$d" using 1:8 with linespoints lw 2 title "ceiling (a)", \
     "$d" using 1:9 with linespoints lw 2 title "Kafka broker (during the cmr-bridge runs)"
unset multiplot
GNUPLOT
}

main "$@"
