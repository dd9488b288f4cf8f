#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan+libFuzzer) into build-fuzz/, replays every
# committed regression input once, then fuzzes each target for a bounded time, one after the
# other. Exits non-zero on any crash, sanitizer report, leak, timeout or out-of-memory, and
# prints the offending input's path and bytes.
#
#   bash tests/fuzz/run.sh                       # every target, 30 s each
#   CMR_BRIDGE_FUZZ_SECONDS=120 bash tests/fuzz/run.sh
#   CMR_BRIDGE_FUZZ_TARGETS="fuzz_envelope" bash tests/fuzz/run.sh
#   CMR_BRIDGE_FUZZ_SECONDS=0 bash tests/fuzz/run.sh   # build + regressions + seeds only
#
# Environment:
#   CMR_BRIDGE_FUZZ_SECONDS       fuzzing time per target (default 30; 0 = replay seeds only)
#   CMR_BRIDGE_FUZZ_TARGETS       space-separated subset (default: all five)
#   CMR_BRIDGE_FUZZ_BUILD_DIR     build directory (default <repo>/build-fuzz)
#   CMR_BRIDGE_FUZZ_SKIP_INSTALL  1 = do not check/install Debian packages
#   CMR_BRIDGE_FUZZ_SKIP_KNOWN    1 = while fuzzing, step over the known, reported findings
#                                 (tests/fuzz/regressions/README.md) to look for new ones;
#                                 the regression replay ignores it. Not for CI.
#
# Idempotent, works from any directory, needs no terminal or stdin (CI=true is fine).
# The working corpus (build-fuzz/corpus/<target>) grows across local runs; CI starts fresh.
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd -- "$here/../.." && pwd)"
build="${CMR_BRIDGE_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${CMR_BRIDGE_FUZZ_SECONDS:-30}"
all_targets=(fuzz_signature fuzz_envelope fuzz_pipeline fuzz_routes_file fuzz_profiles)
read -r -a targets <<<"${CMR_BRIDGE_FUZZ_TARGETS:-${all_targets[*]}}"

case "$seconds" in '' | *[!0-9]*)
  echo "run.sh: CMR_BRIDGE_FUZZ_SECONDS must be a whole number of seconds" >&2
  exit 2
  ;;
esac
for t in "${targets[@]}"; do
  case " ${all_targets[*]} " in *" $t "*) ;; *)
    echo "run.sh: unknown target '$t' (known: ${all_targets[*]})" >&2
    exit 2
    ;;
  esac
done

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
started_all="$(now)"
timings=()

# --- 1. toolchain (Debian clang 14 + its sanitizer/libFuzzer runtimes) ----------------------
if [ "${CMR_BRIDGE_FUZZ_SKIP_INSTALL:-0}" != 1 ]; then
  packages=(clang libclang-rt-14-dev llvm cmake ninja-build libssl-dev rapidjson-dev openssl)
  missing=()
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "run.sh: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq </dev/null
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
  fi
fi

# --- 2. build ------------------------------------------------------------------------------
t0="$(now)"
cxx="$(command -v clang++ || true)"
[ -n "$cxx" ] || { echo "run.sh: clang++ not found" >&2; exit 1; }
# A cache configured with another compiler cannot be switched in place: start it over.
if [ -f "$build/CMakeCache.txt" ] &&
  ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=$cxx\$" "$build/CMakeCache.txt"; then
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
mkdir -p "$build"
cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }
jobs="$(nproc 2>/dev/null || echo 2)"
if ! cmake --build "$build" --parallel "$jobs" --target "${targets[@]}" >"$build/build.log" 2>&1; then
  tail -n 80 "$build/build.log" >&2
  echo "run.sh: build failed (full log: $build/build.log)" >&2
  exit 1
fi
timings+=("build $(elapsed "$t0") s")
echo "run.sh: built ${targets[*]} in $(elapsed "$t0") s ($build)"

# --- 3. seed corpus generated from the documented payloads ---------------------------------
t0="$(now)"
gen="$build/seeds-generated"
rm -rf "$gen"
mkdir -p "$gen"/{fuzz_signature,fuzz_envelope,fuzz_pipeline,fuzz_routes_file,fuzz_profiles}
key1="fuzz-key-1"  # the keys the harnesses configure
key2="fuzz-key-2-rotated"
ts="1709942399"    # inside the window of the pipeline harness's fixed clock
hmac_hex() { openssl dgst -sha256 -hmac "$1" -binary | od -An -v -tx1 | tr -d ' \n'; }
hmac_b64() { openssl dgst -sha256 -hmac "$1" -binary | base64 -w0; }
for example in "$root"/schemas/examples/*.json; do
  name="$(basename "$example" .json)"
  event="$name"
  cp "$example" "$gen/fuzz_envelope/$name.json"
  # pipeline, signed by the harness: a spread of control bytes (scheme, mode, dedup, failure)
  for control in 01 03 05 07 09 11 21 29 41 61 87 b3; do
    { printf "\\x$control"; cat "$example"; } >"$gen/fuzz_pipeline/$name-$control"
  done
  # pipeline, as sent: a real signature and timestamp in the input (and one stale timestamp)
  sig="$(hmac_hex "$key1" <"$example")"
  { printf '\x00%s\n%s\n' "$sig" "$ts"; cat "$example"; } >"$gen/fuzz_pipeline/$name-sent"
  { printf '\x20sha256=%s\n%s\n' "$sig" "$ts"; cat "$example"; } >"$gen/fuzz_pipeline/$name-sent-dedup"
  { printf '\x00%s\n%s\n' "$sig" "1709900000"; cat "$example"; } >"$gen/fuzz_pipeline/$name-stale"
  # signature: valid body-hex (key 1) and timestamp-body-base64 (key 2) headers
  { printf '\x00sha256=%s\n%s\n' "$sig" "$ts"; cat "$example"; } >"$gen/fuzz_signature/$name-body-hex"
  sig64="$({ printf '%s.' "$ts"; cat "$example"; } | hmac_b64 "$key2")"
  { printf '\x4e%s\n%s\n' "$sig64" "$ts"; cat "$example"; } >"$gen/fuzz_signature/$name-ts-b64"
  # routes file naming the documented event
  printf '{"routes":[{"match":"%s","topic":"order","key":["/orderId","/userId"]}]}\n' \
    "$event" >"$gen/fuzz_routes_file/$name.json"
done
timings+=("seeds $(elapsed "$t0") s")

# --- 4. run --------------------------------------------------------------------------------
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer >/dev/null; then
  ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
  export ASAN_SYMBOLIZER_PATH
fi
common=(-max_len=65536 -timeout=10 -rss_limit_mb=2048 -dict="$here/json.dict")
failures=()

show_failure() {  # target, log, input path
  local target="$1" log="$2" input="$3"
  echo "---------------------------------------------------------------------------------"
  echo "run.sh: $target FAILED on input: $input"
  if [ -f "$input" ]; then
    echo "run.sh: input ($(wc -c <"$input") bytes, hex, first 512):"
    head -c 512 "$input" | od -An -v -tx1 | sed 's/^/    /' || true
  fi
  echo "run.sh: report (from $log):"
  # The sanitizer / invariant report and the stack, without libFuzzer's progress lines.
  grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse|INITED|RELOAD)' "$log" |
    awk '/FUZZ_CHECK failed|Assertion .* failed|ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|ERROR: libFuzzer|deadly signal|==[0-9]+==ERROR/ { on = 1 } on' |
    head -n 80 | sed 's/^/    /' || true  # head closes the pipe early: not a failure
  echo "---------------------------------------------------------------------------------"
  failures+=("$target: $input")
}

mkdir -p "$build/logs"
for target in "${targets[@]}"; do
  bin="$build/$target"
  regressions="$here/regressions/$target"
  seeds="$here/seeds/$target"
  corpus="$build/corpus/$target"
  artifacts="$build/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"

  # 4a. Replay every committed regression input once.
  t0="$(now)"
  replayed=0
  replay_failed=0
  if [ -d "$regressions" ]; then
    while IFS= read -r -d '' input; do
      replayed=$((replayed + 1))
      log="$build/logs/$target.regression.log"
      # Known findings are never skipped here: a regression fails until src/ is fixed.
      if ! env -u CMR_BRIDGE_FUZZ_SKIP_KNOWN "$bin" -runs=1 "${common[@]}" "$input" </dev/null >"$log" 2>&1; then
        show_failure "$target (regression)" "$log" "$input"
        replay_failed=1
      fi
    done < <(find "$regressions" -type f ! -name '*.md' ! -name '.*' -print0 | sort -z)
  fi
  timings+=("$target regressions: $replayed inputs, $(elapsed "$t0") s")

  # 4b. Fuzz (or, with 0 s, just run the seed corpus once).
  t0="$(now)"
  log="$build/logs/$target.log"
  dirs=("$corpus" "$gen/$target")
  [ -d "$seeds" ] && dirs+=("$seeds")
  # Passing regressions are good seeds; failing ones would only stop the fuzzer at once.
  [ -d "$regressions" ] && [ "$replay_failed" = 0 ] && dirs+=("$regressions")
  before="$(find "$artifacts" -type f | wc -l)"
  if [ "$seconds" -gt 0 ]; then
    limit=(-max_total_time="$seconds")
  else
    limit=(-runs=0)
  fi
  echo "run.sh: $target: fuzzing ${seconds} s (log: $log)"
  status=0
  "$bin" "${common[@]}" "${limit[@]}" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "${dirs[@]}" </dev/null >"$log" 2>&1 || status=$?
  summary="$(grep -E '^#[0-9]+\s+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 || true)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)"
  timings+=("$target fuzz: $(elapsed "$t0") s, ${execs:-?} execs, ${rate:-?} exec/s, peak ${rss:-?} MB | ${summary:-no stats}")
  if [ "$status" -ne 0 ]; then
    # The newest artifact is the failing input; libFuzzer also names it in the log.
    input="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
    if [ -z "$input" ] && [ "$(find "$artifacts" -type f | wc -l)" -gt "$before" ]; then
      input="$(ls -t "$artifacts"/* | head -n 1 || true)"
    fi
    show_failure "$target (exit $status)" "$log" "${input:-<none written: see the log>}"
  fi
done

echo
echo "run.sh: timings"
for line in "${timings[@]}"; do echo "  $line"; done
echo "  total $(elapsed "$started_all") s"
if [ ${#failures[@]} -gt 0 ]; then
  echo "run.sh: FAILED (${#failures[@]}):"
  for f in "${failures[@]}"; do echo "  $f"; done
  echo "run.sh: reproduce one with: $build/<target> <input>"
  exit 1
fi
echo "run.sh: OK (${targets[*]})"
