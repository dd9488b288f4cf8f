#!/usr/bin/env bash
# README command 1: install what is missing, build, start the local Kafka, and run cmr-bridge
# in the foreground with a development signing key. Ctrl-C stops the bridge (Kafka keeps
# running; stop it with deploy/local/kafka.sh stop).
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$root"

bash deploy/local/install-deps.sh
bash deploy/local/build.sh
bash deploy/local/kafka.sh start

export CMR_BRIDGE_SIGNING_KEYS=${CMR_BRIDGE_SIGNING_KEYS:-dev-signing-key}
export CMR_BRIDGE_LISTEN=${CMR_BRIDGE_LISTEN:-127.0.0.1:8080}
export CMR_BRIDGE_ADMIN_LISTEN=${CMR_BRIDGE_ADMIN_LISTEN:-127.0.0.1:9090}
port=${CMR_BRIDGE_LISTEN##*:}

cat <<TXT

cmr-bridge is starting on http://$CMR_BRIDGE_LISTEN (admin: http://$CMR_BRIDGE_ADMIN_LISTEN).
Development signing key: the value of CMR_BRIDGE_SIGNING_KEYS (default "dev-signing-key").

In another terminal, send a signed sample webhook:
  $root/build/cmr-bridge send http://127.0.0.1:$port/webhooks --key dev-signing-key $root/deploy/local/samples/domain.order.success.json

and see the record on Kafka:
  $root/deploy/local/kafka.sh consume cmr.order.events

TXT
exec "$root/build/cmr-bridge" serve
