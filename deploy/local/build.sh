#!/usr/bin/env bash
# Configures and builds cmr-bridge into build/ (or $CMR_BRIDGE_BUILD_DIR).
# Usage: deploy/local/build.sh [extra cmake -D options]
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
build_dir=${CMR_BRIDGE_BUILD_DIR:-$root/build}
build_type=${CMR_BRIDGE_BUILD_TYPE:-RelWithDebInfo}
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)"
