#!/usr/bin/env bash
# Runs the bridge briefly (no Kafka needed) and passes its /metrics through
# `promtool check metrics` (Debian package prometheus). Usage: check-metrics.sh [BINARY]
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
binary=${1:-$root/build/cmr-bridge}
if ! command -v promtool >/dev/null; then
  echo "check-metrics: promtool missing; installing the Debian package prometheus"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
log=$(mktemp)
CMR_BRIDGE_SIGNING_KEYS=metrics-check CMR_BRIDGE_KAFKA_BROKERS=127.0.0.1:1 \
  CMR_BRIDGE_LISTEN=127.0.0.1:0 CMR_BRIDGE_ADMIN_LISTEN=127.0.0.1:0 CMR_BRIDGE_DRAIN_DELAY_S=0 \
  CMR_BRIDGE_DELIVERY_TIMEOUT_MS=200 "$binary" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '"msg":"listening"' "$log" && break; sleep 0.1; done
admin=$(grep -o '"admin_port":[0-9]*' "$log" | cut -d: -f2)
webhook=$(grep -o '"webhook_port":[0-9]*' "$log" | cut -d: -f2)
# Some traffic first, so that labelled series exist: a 401 and a 503.
curl -s -o /dev/null -X POST "http://127.0.0.1:$webhook/webhooks" -d '{}'
"$binary" send "http://127.0.0.1:$webhook/webhooks" --key metrics-check \
  "$root/deploy/local/samples/domain.order.success.json" >/dev/null || true
metrics=$(curl -sf "http://127.0.0.1:$admin/metrics")
echo "$metrics" | promtool check metrics
echo "check-metrics: $(echo "$metrics" | grep -c '^cmr_bridge_') cmr_bridge_ samples pass promtool check metrics"
