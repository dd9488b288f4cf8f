#!/usr/bin/env bash
# One consumer-interop test (ctest label kafka). Fills its cache (deploy/local/interop-deps.sh;
# a no-op once filled), has the real bridge write the 11 documented events in structured and
# binary mode plus dead letters (produce_records.py), then:
#   python|go|java  checks that docs/consumers.md shows that SDK's tested snippet, then reads the
#                   records with the SDK's Kafka binding and checks them against what was sent;
#   asyncapi        validates schemas/asyncapi.yaml with @asyncapi/parser and checks that it
#                   describes every topic, message and header written, and nothing more;
#   consumer        runs examples/provisioning-consumer through a scripted lifecycle with
#                   retries, duplicates, late events, a SIGKILL and a restart (e2e_test.py).
# Broker: CMR_BRIDGE_TEST_KAFKA_BROKERS (default 127.0.0.1:9092), as the other Kafka tests.
#
# Usage: run.sh BRIDGE_BINARY python|go|java|asyncapi|consumer
set -euo pipefail
binary=$1 check=$2
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cache="$root/.cache/interop"
python="$cache/venv/bin/python"
if [ "$check" = consumer ]; then
  bash "$root/deploy/local/interop-deps.sh" python
else
  bash "$root/deploy/local/interop-deps.sh" python "$check"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
produce=("$python" "$root/tests/interop/produce_records.py" "$binary" "$root" "$work/manifest.json")
case "$check" in
  python)
    "$python" "$root/tests/interop/snippets.py" python
    "${produce[@]}"
    "$python" "$root/tests/interop/python/check.py" "$work/manifest.json" ;;
  go)
    "$python" "$root/tests/interop/snippets.py" go
    "${produce[@]}"
    "$cache/go/bin/interop-check" "$work/manifest.json" ;;
  java)
    "$python" "$root/tests/interop/snippets.py" java
    "${produce[@]}"
    java -cp "$root/tests/interop/java/target/classes:$root/tests/interop/java/target/lib/*" \
      dev.cmr.bridge.interop.Check "$work/manifest.json" ;;
  asyncapi)
    NODE_PATH="$cache/npm/node_modules" node "$root/tests/interop/asyncapi/validate.cjs" \
      "$root/schemas/asyncapi.yaml" >"$work/asyncapi.json"
    echo "asyncapi: schemas/asyncapi.yaml passes @asyncapi/parser (errors: 0)"
    "${produce[@]}" --with-other-names
    "$python" "$root/tests/interop/asyncapi/coverage.py" "$work/asyncapi.json" "$work/manifest.json" ;;
  consumer) "$python" "$root/tests/interop/consumer/e2e_test.py" "$binary" ;;
  *) echo "run.sh: unknown check '$check'" >&2; exit 2 ;;
esac
