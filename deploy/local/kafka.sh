#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker+controller in one JVM) for cmr-bridge development,
# tests and benchmarks. No Docker and no Kafka tarball: the broker and tool jars come from Maven
# Central through deploy/local/kafka/pom.xml and are cached in $CMR_KAFKA_HOME/lib.
#
# Broker settings: kafka/server.properties.template beside kafka/pom.xml, filled in at every start.
# Commands and environment: `deploy/local/kafka.sh help` (the usage text in usage() below).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
POM="$SCRIPT_DIR/kafka/pom.xml"
SERVER_TEMPLATE="$SCRIPT_DIR/kafka/server.properties.template"
BROKER_LOG_CONFIG="$SCRIPT_DIR/kafka/broker-log4j2.properties"
TOOLS_LOG_CONFIG="$SCRIPT_DIR/kafka/tools-log4j2.properties"
ADMIN_CONFIG="$SCRIPT_DIR/kafka/admin.properties"

KAFKA_VERSION=4.1.1 # keep in sync with <kafka.version> in kafka/pom.xml
KAFKA_HOME_DIR=${CMR_KAFKA_HOME:-$REPO_ROOT/.cache/kafka}
LIB_DIR="$KAFKA_HOME_DIR/lib"
DATA_DIR="$KAFKA_HOME_DIR/data"
CONF_DIR="$KAFKA_HOME_DIR/config"
LOG_DIR="$KAFKA_HOME_DIR/logs"
PID_FILE="$KAFKA_HOME_DIR/kafka.pid"
VERSION_MARKER="$LIB_DIR/.cmr-kafka-version"

HOST=127.0.0.1
PORT=${CMR_KAFKA_PORT:-9092}
CONTROLLER_PORT=${CMR_KAFKA_CONTROLLER_PORT:-9093}
BOOTSTRAP="$HOST:$PORT"
# Fixed cluster id (base64url of the 16 bytes "cmr-bridge-local") so formatting needs no extra JVM.
CLUSTER_ID=Y21yLWJyaWRnZS1sb2NhbA
START_TIMEOUT=${CMR_KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${CMR_KAFKA_STOP_TIMEOUT:-30}
CONSUME_TIMEOUT_MS=${CMR_KAFKA_CONSUME_TIMEOUT_MS:-10000}
HEAP_OPTS=${CMR_KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}
DEFAULT_TOPICS="cmr.order.events cmr.subscription.events cmr.prewarmup.events cmr.webhooks.deadletter cmr.webhooks.dedup:1"
TOPICS=${CMR_KAFKA_TOPICS:-$DEFAULT_TOPICS}
DEFAULT_PARTITIONS=3
DEDUP_CONFIGS=(--config "cleanup.policy=compact,delete" --config retention.ms=604800000)

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi
# Short-lived tool JVMs: start fast, small heap, warnings only (to stderr).
TOOL_JVM_OPTS=(-Xms32m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$TOOLS_LOG_CONFIG")

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  cat <<'EOF'
Usage: deploy/local/kafka.sh <command> [args]
  start             fetch jars if missing, format storage if new, start the broker in the
                    background, wait until it answers, create the cmr topics that are missing
  stop [--kill]     SIGTERM and wait (then SIGKILL after $CMR_KAFKA_STOP_TIMEOUT s);
                    --kill sends SIGKILL at once (fault injection)
  status            "running"/"not running" + bootstrap address; exit 0 if answering, else 3
  topics            list topics
  consume TOPIC [MAX]
                    print records (partition, offset, headers, key, value) from the beginning;
                    exits after MAX records or $CMR_KAFKA_CONSUME_TIMEOUT_MS ms without one
  produce TOPIC     send stdin lines "key<TAB>value" (a test aid)
  classpath         print the jar glob for `java -cp` (e.g. org.apache.kafka.tools.ProducerPerformance)
  fetch             only download the jars (Maven) when missing
  reset             stop and delete the broker data and logs (keeps the jars)
  help              print this text

Environment:
  CMR_KAFKA_HOME              cache dir (default <repo>/.cache/kafka)
  CMR_KAFKA_PORT              PLAINTEXT port (default 9092), bound to 127.0.0.1
  CMR_KAFKA_CONTROLLER_PORT   KRaft controller port (default 9093)
  CMR_KAFKA_TOPICS            space-separated "name[:partitions]" list (default: the cmr topics);
                              a topic whose name ends in "dedup" gets cleanup.policy=compact,delete
  CMR_KAFKA_START_TIMEOUT     seconds to wait for the broker to answer (default 90)
  CMR_KAFKA_STOP_TIMEOUT      seconds to wait for a clean exit before SIGKILL (default 30)
  CMR_KAFKA_CONSUME_TIMEOUT_MS  consume: idle timeout in ms (default 10000)
  CMR_KAFKA_HEAP_OPTS         broker heap (default "-Xms256m -Xmx1g")
  CMR_KAFKA_MVN_ARGS          extra arguments for the Maven fetch (e.g. -Dmaven.repo.local=...)
  JAVA_HOME                   JDK to use (Java 17+); otherwise `java` from PATH
EOF
}

# ---------------------------------------------------------------------------------------------
# Locking: start/stop/reset/fetch are serialized per cache dir (parallel CI steps, tests).
# The broker must not inherit the lock fd, see start_broker.
LOCKED=0
take_lock() {
  ((LOCKED == 0)) || return 0
  LOCKED=1
  mkdir -p "$KAFKA_HOME_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$KAFKA_HOME_DIR/.lock"
    flock -w 600 9 || die "timed out waiting for $KAFKA_HOME_DIR/.lock"
  fi
}

ensure_cache_dir() {
  mkdir -p "$KAFKA_HOME_DIR" "$CONF_DIR" "$LOG_DIR"
  # Keep the cache out of git even if the repo's .gitignore does not list it.
  [[ -f "$KAFKA_HOME_DIR/.gitignore" ]] || printf '*\n' >"$KAFKA_HOME_DIR/.gitignore"
}

# ---------------------------------------------------------------------------------------------
# Jars
wanted_marker() {
  local pom_sum
  pom_sum=$(sha256sum "$POM" | cut -c1-16)
  printf 'kafka=%s pom=%s\n' "$KAFKA_VERSION" "$pom_sum"
}

jars_present() {
  [[ -f "$VERSION_MARKER" && -f "$LIB_DIR/kafka_2.13-$KAFKA_VERSION.jar" ]] &&
    [[ "$(cat "$VERSION_MARKER")" == "$(wanted_marker)" ]]
}

fetch() {
  jars_present && return 0
  take_lock
  jars_present && return 0 # another process fetched while we waited for the lock
  ensure_cache_dir
  command -v mvn >/dev/null 2>&1 || die "mvn not found (run deploy/local/install-deps.sh)"
  local tmp="$KAFKA_HOME_DIR/lib.tmp.$$" fetch_log="$LOG_DIR/fetch.log" t0=$SECONDS
  rm -rf "$tmp"
  log "fetching Kafka $KAFKA_VERSION jars with Maven into $LIB_DIR (log: $fetch_log)"
  # shellcheck disable=SC2086 # CMR_KAFKA_MVN_ARGS is a word list on purpose
  if ! mvn -B -q -Dstyle.color=never -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
    ${CMR_KAFKA_MVN_ARGS:-} </dev/null >"$fetch_log" 2>&1; then
    tail -n 30 "$fetch_log" >&2 || true
    rm -rf "$tmp"
    die "Maven fetch failed"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "fetch did not produce kafka_2.13-$KAFKA_VERSION.jar"; }
  wanted_marker >"$tmp/.cmr-kafka-version"
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  log "fetched $(find "$LIB_DIR" -name '*.jar' | wc -l) jars in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------------------------
# Broker configuration: the template filled in at every start (cheap, and a changed template or
# port takes effect on the next start).
fill_template() { # fill_template FILE: prints FILE with its {{NAME}} placeholders filled in
  local text
  text=$(<"$1")
  text=${text//'{{HOST}}'/"$HOST"}
  text=${text//'{{PORT}}'/"$PORT"}
  text=${text//'{{CONTROLLER_PORT}}'/"$CONTROLLER_PORT"}
  text=${text//'{{DATA_DIR}}'/"$DATA_DIR"}
  [[ "$text" != *'{{'* ]] || die "$1: placeholder without a value: $(grep -o '{{[^}]*}}' <<<"$text" | head -n1)"
  printf '%s\n' "$text"
}

write_configs() {
  ensure_cache_dir
  fill_template "$SERVER_TEMPLATE" >"$CONF_DIR/server.properties"
}

# ---------------------------------------------------------------------------------------------
# Process helpers
broker_pid() {
  # Prints the pid of *our* broker (pid file, alive, and its command line is kafka.Kafka with our
  # server.properties) and returns 0; returns 1 otherwise.
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid=$(tr -dc '0-9' <"$PID_FILE")
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $CONF_DIR/server.properties" || return 1
  fi
  printf '%s\n' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

tool() { # tool MAIN_CLASS ARGS... : run a Kafka tool class with the cached jars
  "$JAVA" "${TOOL_JVM_OPTS[@]}" -cp "$LIB_DIR/*" "$@"
}

list_topics() { # prints topic names; fails if the broker does not answer a metadata request
  tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$ADMIN_CONFIG" --list </dev/null
}

# ---------------------------------------------------------------------------------------------
# Topics
create_missing_topics() { # $1: newline-separated list of existing topics
  local existing=$1 spec name parts pids=() names=() failed=0 i
  for spec in $TOPICS; do
    [[ "$spec" =~ ^[A-Za-z0-9._-]+(:[1-9][0-9]*)?$ ]] ||
      die "bad entry in CMR_KAFKA_TOPICS: '$spec' (expected name[:partitions])"
  done
  for spec in $TOPICS; do
    name=${spec%%:*}
    parts=$DEFAULT_PARTITIONS
    [[ "$spec" == *:* ]] && parts=${spec#*:}
    if grep -qxF -- "$name" <<<"$existing"; then continue; fi
    local extra=()
    [[ "$name" == *dedup ]] && extra=("${DEDUP_CONFIGS[@]}")
    log "creating topic $name (partitions=$parts${extra[*]:+, ${extra[*]}})"
    # One JVM per topic (TopicCommand creates one topic per call); run them concurrently.
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
      --command-config "$ADMIN_CONFIG" --create --if-not-exists \
      --topic "$name" --partitions "$parts" --replication-factor 1 "${extra[@]}" </dev/null >/dev/null &
    pids+=("$!")
    names+=("$name")
  done
  if ((${#pids[@]} == 0)); then
    log "topics present: $TOPICS"
    return 0
  fi
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { log "creating topic ${names[$i]} failed"; failed=1; }
  done
  ((failed == 0)) || die "topic creation failed"
}

# ---------------------------------------------------------------------------------------------
# Commands
stop_pid() { # stop_pid PID KILL_NOW
  local pid=$1 kill_now=$2 waited=0
  if [[ "$kill_now" == 1 ]]; then
    log "sending SIGKILL to broker (pid $pid)"
    kill -KILL "$pid" 2>/dev/null || true
  else
    log "stopping broker (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((waited < STOP_TIMEOUT * 5)); do
      sleep 0.2
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker did not exit within ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  waited=0
  while kill -0 "$pid" 2>/dev/null && ((waited < 50)); do
    sleep 0.2
    waited=$((waited + 1))
  done
  kill -0 "$pid" 2>/dev/null && die "broker (pid $pid) is still alive"
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_stop() {
  local kill_now=0 pid
  case "${1:-}" in
    "") ;;
    --kill | -9) kill_now=1 ;;
    *) die "usage: kafka.sh stop [--kill]" ;;
  esac
  take_lock
  if ! pid=$(broker_pid); then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  stop_pid "$pid" "$kill_now"
}

start_broker() {
  local java_version
  java_version=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [[ -n "$java_version" && "$java_version" -ge 17 ]] || die "Kafka $KAFKA_VERSION needs Java 17+ (found '${java_version:-none}' from $JAVA)"

  if [[ ! -f "$DATA_DIR/meta.properties" ]]; then
    log "formatting storage in $DATA_DIR (cluster id $CLUSTER_ID)"
    mkdir -p "$DATA_DIR"
    tool kafka.tools.StorageTool format --cluster-id "$CLUSTER_ID" \
      --config "$CONF_DIR/server.properties" </dev/null >"$LOG_DIR/format.log" 2>&1 ||
      { cat "$LOG_DIR/format.log" >&2; die "storage format failed"; }
  fi

  # setsid: own session, so Ctrl-C / SIGHUP of the calling shell does not reach the broker.
  # 9>&-: do not hand the start/stop lock to the long-lived broker.
  # Marker so a failed start shows only this attempt's log lines (server.log is appended to).
  printf '===== kafka.sh start %s =====\n' "$(date '+%Y-%m-%d %H:%M:%S')" >>"$LOG_DIR/server.log"
  local setsid_cmd=()
  command -v setsid >/dev/null 2>&1 && setsid_cmd=(setsid)
  # shellcheck disable=SC2086 # HEAP_OPTS is a word list on purpose
  "${setsid_cmd[@]}" "$JAVA" $HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    "-Dkafka.logs.dir=$LOG_DIR" "-Dlog4j2.configurationFile=$BROKER_LOG_CONFIG" \
    -cp "$LIB_DIR/*" kafka.Kafka "$CONF_DIR/server.properties" \
    </dev/null >"$LOG_DIR/stdout.log" 2>&1 9>&- &
  echo $! >"$PID_FILE"
}

dump_logs() {
  log "--- tail of $LOG_DIR/server.log ---"
  if [[ -f "$LOG_DIR/server.log" ]]; then
    awk '/^===== kafka\.sh start / { n = 0 } { line[n++] = $0 }
         END { for (i = (n > 40 ? n - 40 : 0); i < n; i++) print line[i] }' "$LOG_DIR/server.log" >&2 || true
  fi
  if [[ -s "$LOG_DIR/stdout.log" ]]; then
    log "--- tail of $LOG_DIR/stdout.log ---"
    tail -n 20 "$LOG_DIR/stdout.log" >&2 || true
  fi
}

cmd_start() {
  local pid existing t0=$SECONDS
  take_lock
  ensure_cache_dir
  if pid=$(broker_pid); then
    fetch
    if existing=$(list_topics 2>/dev/null); then
      log "already running (pid $pid), bootstrap $BOOTSTRAP"
      create_missing_topics "$existing"
      return 0
    fi
    die "broker process $pid is alive but does not answer on $BOOTSTRAP; try: $0 stop && $0 start"
  fi
  rm -f "$PID_FILE"
  if port_open "$PORT" || port_open "$CONTROLLER_PORT"; then
    die "port $PORT or $CONTROLLER_PORT on $HOST is already in use by another process (another Kafka?); stop it or set CMR_KAFKA_PORT/CMR_KAFKA_CONTROLLER_PORT"
  fi

  fetch
  write_configs
  start_broker
  pid=$(cat "$PID_FILE")
  log "broker starting (pid $pid), log: $LOG_DIR/server.log"

  local deadline=$((SECONDS + START_TIMEOUT)) ready=0
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      dump_logs
      rm -f "$PID_FILE"
      die "broker exited during startup"
    fi
    if port_open "$PORT" && existing=$(list_topics 2>/dev/null); then
      ready=1
      break
    fi
    sleep 0.5
  done
  if ((ready == 0)); then
    dump_logs
    stop_pid "$pid" 0 || true
    die "broker did not answer on $BOOTSTRAP within ${START_TIMEOUT}s"
  fi
  log "broker up on $BOOTSTRAP after $((SECONDS - t0))s"
  create_missing_topics "$existing"
  log "ready in $((SECONDS - t0))s: bootstrap $BOOTSTRAP"
}

cmd_status() {
  local pid
  if ! pid=$(broker_pid); then
    echo "not running (bootstrap $BOOTSTRAP)"
    return 3
  fi
  fetch
  if list_topics >/dev/null 2>&1; then
    echo "running (pid $pid), bootstrap $BOOTSTRAP"
    return 0
  fi
  echo "running (pid $pid) but not answering on $BOOTSTRAP"
  return 3
}

require_running() {
  broker_pid >/dev/null || { log "broker not running (start it with: $0 start)"; exit 3; }
  fetch
}

cmd_topics() {
  require_running
  list_topics
}

cmd_consume() {
  local topic=${1:-} max=${2:-}
  [[ -n "$topic" ]] || die "usage: kafka.sh consume TOPIC [MAX]"
  [[ -z "$max" || "$max" =~ ^[1-9][0-9]*$ ]] || die "MAX must be a positive integer"
  require_running
  local args=(--bootstrap-server "$BOOTSTRAP" --topic "$topic" --from-beginning
    --timeout-ms "$CONSUME_TIMEOUT_MS"
    --consumer-property enable.auto.commit=false
    --property print.partition=true --property print.offset=true
    --property print.headers=true --property print.key=true --property print.value=true)
  [[ -n "$max" ]] && args+=(--max-messages "$max")
  # Reaching --timeout-ms is the normal way out (exit status 0), but ConsoleConsumer logs it as
  # "ERROR Error processing message ... TimeoutException"; drop just that pair from stderr.
  local rc=0
  tool org.apache.kafka.tools.consumer.ConsoleConsumer "${args[@]}" </dev/null 2> >(
    awk '/Error processing message, terminating consumer process/ { held = $0; next }
         held != "" && /^org\.apache\.kafka\.common\.errors\.TimeoutException/ { held = ""; next }
         held != "" { print held; held = "" }
         { print }
         END { if (held != "") print held }' >&2
  ) || rc=$?
  wait "$!" 2>/dev/null || true # let the stderr filter finish before we return
  return "$rc"
}

cmd_produce() {
  local topic=${1:-}
  [[ -n "$topic" ]] || die "usage: kafka.sh produce TOPIC   (stdin lines: key<TAB>value)"
  require_running
  tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$BOOTSTRAP" --topic "$topic" \
    --property parse.key=true --property "key.separator=	"
}

cmd_classpath() {
  fetch
  printf '%s\n' "$LIB_DIR/*"
}

cmd_reset() {
  cmd_stop
  log "deleting $DATA_DIR and $LOG_DIR (jars in $LIB_DIR are kept)"
  rm -rf "$DATA_DIR" "$LOG_DIR"
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    topics) cmd_topics "$@" ;;
    consume) cmd_consume "$@" ;;
    produce) cmd_produce "$@" ;;
    classpath) cmd_classpath "$@" ;;
    reset) cmd_reset "$@" ;;
    fetch) fetch ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
