#!/usr/bin/env bash
# One consumer-interop test (ctest label kafka). Fills its cache (deploy/local/interop-deps.sh;
# a no-op once filled), has the real bridge write the 11 documented events in structured and
# binary mode plus dead letters (produce_records.py), then:
#   python|go|java  reads them with that SDK's Kafka binding and checks them against what was sent;
#   asyncapi        validates schemas/asyncapi.yaml with @asyncapi/parser and checks that it
#                   describes every topic, message and header written, and nothing more.
# Broker: CMR_BRIDGE_TEST_KAFKA_BROKERS (default 127.0.0.1:9092), as the other Kafka tests.
#
# Usage: run.sh BRIDGE_BINARY python|go|java|asyncapi
set -euo pipefail
binary=$1 check=$2
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cache="$root/.cache/interop"
python="$cache/venv/bin/python"
bash "$root/deploy/local/interop-deps.sh" python "$check"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
produce=("$python" "$root/tests/interop/produce_records.py" "$binary" "$root" "$work/manifest.json")
case "$check" in
  python) "${produce[@]}" && "$python" "$root/tests/interop/python/check.py" "$work/manifest.json" ;;
  go) "${produce[@]}" && "$cache/go/bin/interop-check" "$work/manifest.json" ;;
  java)
    "${produce[@]}"
    java -cp "$root/tests/interop/java/target/classes:$root/tests/interop/java/target/lib/*" \
      dev.cmr.bridge.interop.Check "$work/manifest.json" ;;
  asyncapi)
    NODE_PATH="$cache/npm/node_modules" node "$root/tests/interop/asyncapi/validate.cjs" \
      "$root/schemas/asyncapi.yaml" >"$work/asyncapi.json"
    echo "asyncapi: schemas/asyncapi.yaml passes @asyncapi/parser (errors: 0)"
    "${produce[@]}" --with-other-names
    "$python" "$root/tests/interop/asyncapi/coverage.py" "$work/asyncapi.json" "$work/manifest.json" ;;
  *) echo "run.sh: unknown check '$check'" >&2; exit 2 ;;
esac
