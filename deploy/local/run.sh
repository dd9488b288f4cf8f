#!/usr/bin/env bash
# README command 1: install what is missing, build, start the local Kafka, and run cmr-bridge
# in the foreground with a development signing key. Ctrl-C stops the bridge (Kafka keeps
# running; stop it with deploy/local/kafka.sh stop).
#
# The bridge talks to the broker kafka.sh starts: CMR_KAFKA_PORT and CMR_KAFKA_HOME select
# another local instance (and then appear in the printed consume line). Any CMR_BRIDGE_*
# variable set in the environment is kept; the defaults here are for a laptop.
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$root"

bash deploy/local/install-deps.sh
bash deploy/local/build.sh
bash deploy/local/kafka.sh start

export CMR_BRIDGE_SIGNING_KEYS=${CMR_BRIDGE_SIGNING_KEYS:-dev-signing-key}
export CMR_BRIDGE_KAFKA_BROKERS=${CMR_BRIDGE_KAFKA_BROKERS:-127.0.0.1:${CMR_KAFKA_PORT:-9092}}
export CMR_BRIDGE_LISTEN=${CMR_BRIDGE_LISTEN:-127.0.0.1:8080}
export CMR_BRIDGE_ADMIN_LISTEN=${CMR_BRIDGE_ADMIN_LISTEN:-127.0.0.1:9090}
port=${CMR_BRIDGE_LISTEN##*:}
# The topic the sample lands on, as the bridge derives it (settings: CMR_BRIDGE_TOPIC_PREFIX,
# default "cmr.", then CMR_BRIDGE_TOPIC_ORDER overriding the single name).
order_topic=${CMR_BRIDGE_TOPIC_ORDER:-${CMR_BRIDGE_TOPIC_PREFIX-cmr.}order.events}
# The printed lines are shell-quoted so they paste as they are.
printf -v key '%q' "${CMR_BRIDGE_SIGNING_KEYS%%,*}"
printf -v repo '%q' "$root"
kafka_env=""
[ -z "${CMR_KAFKA_HOME:-}" ] || kafka_env+="CMR_KAFKA_HOME=$(printf '%q' "$CMR_KAFKA_HOME") "
[ -z "${CMR_KAFKA_PORT:-}" ] || kafka_env+="CMR_KAFKA_PORT=$(printf '%q' "$CMR_KAFKA_PORT") "

cat <<TXT

cmr-bridge is starting on http://$CMR_BRIDGE_LISTEN (admin: http://$CMR_BRIDGE_ADMIN_LISTEN),
Kafka at $CMR_BRIDGE_KAFKA_BROKERS. Signing key: the first of CMR_BRIDGE_SIGNING_KEYS
(default "dev-signing-key").

In another terminal, send a signed sample webhook:
  $repo/build/cmr-bridge send http://127.0.0.1:$port/webhooks --key $key $repo/deploy/local/samples/domain.order.success.json

and see the record on Kafka:
  ${kafka_env}$repo/deploy/local/kafka.sh consume $(printf '%q' "$order_topic")

TXT
exec "$root/build/cmr-bridge" serve
