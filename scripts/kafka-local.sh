#!/usr/bin/env bash
# Single-node Apache Kafka (3.9.x, KRaft combined broker+controller) without Docker.
#
# The broker jars come from Maven Central via infra/kafka/pom.xml into
# infra/kafka/target/lib/; the broker runs as a plain `java kafka.Kafka` process.
#
# Usage: scripts/kafka-local.sh {start|stop|status|reset|fetch|config|run-class CLASS [ARGS...]}
#
#   start      fetch jars if needed, write config, format storage on first use,
#              launch the broker in the background and wait until it serves clients
#   stop       SIGTERM the broker, wait, SIGKILL as a last resort
#   status     exit 0 if the broker is running, 1 otherwise
#   reset      stop, then delete the data dir (next start is a fresh cluster)
#   fetch      only download the jars
#   config     only write the broker's configuration (server.properties: this broker's
#              listeners and data dir, then infra/kafka/server.properties) and print its path
#   run-class  run a Java main class with the Kafka classpath and a quiet (WARN, stderr)
#              log4j config, e.g.
#                scripts/kafka-local.sh run-class org.apache.kafka.tools.TopicCommand \
#                  --bootstrap-server 127.0.0.1:9092 --list
#
# Environment:
#   KAFKA_PORT             client (PLAINTEXT) port               default 9092
#   KAFKA_CONTROLLER_PORT  KRaft controller port                  default 9093
#   KAFKA_DATA_DIR         config, data, logs and pid file        default <repo>/.kafka-local
#   KAFKA_HEAP_OPTS        broker heap                            default "-Xmx512m -Xms256m"
#   KAFKA_JVM_OPTS         extra JVM options for the broker       default none
#   KAFKA_EXTRA_CONFIG     extra server.properties lines (newline-separated key=value),
#                          appended last so they override the defaults
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to serve  default 90
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM          default 30
#   JAVA_HOME / MVN        java and maven to use                  default java / mvn on PATH
#
# The broker log is <data dir>/logs/server.log (the JVM's own stdout/stderr go to
# <data dir>/logs/kafka.out). All messages of this script go to stderr.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd -P)"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$REPO/.kafka-local}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:-}"
KAFKA_EXTRA_CONFIG="${KAFKA_EXTRA_CONFIG:-}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

INFRA_DIR="$REPO/infra/kafka"
POM="$INFRA_DIR/pom.xml"
# The settings every single-node broker of this repository shares (the testcontainers tier too).
SERVER_PROPS_TEMPLATE="$INFRA_DIR/server.properties"
LIB_DIR="$INFRA_DIR/target/lib"
STAMP="$LIB_DIR/.fetched"

CONF_DIR="$KAFKA_DATA_DIR/config"
LOG_DIR="$KAFKA_DATA_DIR/logs"
STORAGE_DIR="$KAFKA_DATA_DIR/kraft-combined-logs"
PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
SERVER_PROPS="$CONF_DIR/server.properties"
LOG4J_PROPS="$CONF_DIR/log4j.properties"
TOOLS_LOG4J_PROPS="$CONF_DIR/tools-log4j.properties"
SERVER_LOG="$LOG_DIR/server.log"
CONSOLE_LOG="$LOG_DIR/kafka.out"

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA="java"
fi
MVN="${MVN:-mvn}"

log() { printf 'kafka-local: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------- jars

pom_checksum() { cksum <"$POM" | awk '{print $1 "-" $2}'; }

jars_present() {
  [[ -f "$STAMP" ]] || return 1
  [[ "$(cat "$STAMP")" == "$(pom_checksum)" ]] || return 1
  compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null || return 1
  compgen -G "$LIB_DIR/reload4j-*.jar" >/dev/null || return 1
}

ensure_jars() {
  if jars_present; then
    return 0
  fi
  command -v "$MVN" >/dev/null 2>&1 || die "'$MVN' not found on PATH (needed once to fetch the Kafka jars)"
  log "fetching Kafka jars into ${LIB_DIR#"$REPO"/} (mvn) ..."
  # A stale lib/ (e.g. after a version bump in the pom) would mix two Kafka versions.
  rm -rf "$LIB_DIR"
  local start=$SECONDS
  "$MVN" -q -B -Dstyle.color=never -f "$POM" package >&2 || die "mvn failed to fetch the Kafka jars"
  compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null || die "mvn ran but no kafka_2.13 jar in $LIB_DIR"
  pom_checksum >"$STAMP"
  log "jars fetched in $((SECONDS - start))s"
}

# ---------------------------------------------------------------------------- process

# Prints the broker pid if the pid file points at a live Kafka broker; cleans up stale pid files.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null \
    && ps -p "$pid" -o args= 2>/dev/null | grep -q 'kafka\.Kafka'; then
    printf '%s\n' "$pid"
    return 0
  fi
  rm -f "$PID_FILE"
  return 1
}

port_open() {
  # Connect-only probe; the subshell closes the socket on exit.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------------------- config

write_configs() {
  mkdir -p "$CONF_DIR" "$LOG_DIR" "$STORAGE_DIR"

  [[ -f "$SERVER_PROPS_TEMPLATE" ]] || die "missing $SERVER_PROPS_TEMPLATE"
  {
    cat <<EOF
# Generated by scripts/kafka-local.sh on every start; edits are overwritten.
# This broker's listeners and data; the settings below them come from ${SERVER_PROPS_TEMPLATE#"$REPO"/}.
controller.quorum.voters=1@127.0.0.1:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${STORAGE_DIR}

EOF
    cat "$SERVER_PROPS_TEMPLATE"
  } >"$SERVER_PROPS"
  if [[ -n "$KAFKA_EXTRA_CONFIG" ]]; then
    printf '\n# KAFKA_EXTRA_CONFIG\n%s\n' "$KAFKA_EXTRA_CONFIG" >>"$SERVER_PROPS"
  fi

  cat >"$LOG4J_PROPS" <<EOF
# Generated by scripts/kafka-local.sh. Broker logs go to a file only.
log4j.rootLogger=INFO, kafkaAppender

log4j.appender.kafkaAppender=org.apache.log4j.RollingFileAppender
log4j.appender.kafkaAppender.File=${SERVER_LOG}
log4j.appender.kafkaAppender.MaxFileSize=50MB
log4j.appender.kafkaAppender.MaxBackupIndex=2
log4j.appender.kafkaAppender.layout=org.apache.log4j.PatternLayout
log4j.appender.kafkaAppender.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel\$=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF

  cat >"$TOOLS_LOG4J_PROPS" <<'EOF'
# Generated by scripts/kafka-local.sh. For CLI tools: warnings only, to stderr.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

run_tool() {
  [[ -f "$TOOLS_LOG4J_PROPS" ]] || write_configs
  "$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    "-Dlog4j.configuration=file:$TOOLS_LOG4J_PROPS" \
    -cp "$LIB_DIR/*" "$@"
}

format_storage_if_needed() {
  if [[ -f "$STORAGE_DIR/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  cluster_id="$(run_tool kafka.tools.StorageTool random-uuid | tr -d '[:space:]')"
  [[ -n "$cluster_id" ]] || die "StorageTool random-uuid returned nothing"
  log "formatting storage in ${STORAGE_DIR} (cluster id $cluster_id)"
  run_tool kafka.tools.StorageTool format --ignore-formatted \
    -t "$cluster_id" -c "$SERVER_PROPS" >&2 || die "StorageTool format failed"
}

# ---------------------------------------------------------------------------- commands

cmd_fetch() { ensure_jars; }

cmd_config() {
  write_configs
  printf '%s\n' "$SERVER_PROPS"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    log "running (pid $pid, bootstrap 127.0.0.1:$KAFKA_PORT, data $KAFKA_DATA_DIR)"
    return 0
  fi
  log "not running"
  return 1
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, bootstrap 127.0.0.1:$KAFKA_PORT)"
    return 0
  fi
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (set JAVA_HOME or put java on PATH)"
  ensure_jars

  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$port"; then
      die "port $port on 127.0.0.1 is already in use by another process (not the broker in $KAFKA_DATA_DIR)"
    fi
  done

  write_configs
  format_storage_if_needed

  # Keep the previous run's log aside so "Kafka Server started" below is from this run.
  if [[ -f "$SERVER_LOG" ]]; then
    mv -f "$SERVER_LOG" "$SERVER_LOG.prev"
  fi
  : >"$SERVER_LOG"

  local -a jvm_opts launcher=()
  # shellcheck disable=SC2206 # word splitting of the option strings is intended
  jvm_opts=(
    $KAFKA_HEAP_OPTS
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dkafka.logs.dir=$LOG_DIR"
    "-Dlog4j.configuration=file:$LOG4J_PROPS"
    $KAFKA_JVM_OPTS
  )
  # Detach from the caller's session/process group so that signals aimed at the
  # caller (Ctrl-C, a test runner killing its group) do not take the broker down.
  if command -v setsid >/dev/null 2>&1; then
    launcher=(setsid)
  fi

  log "starting Kafka on 127.0.0.1:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT, data $KAFKA_DATA_DIR)"
  rm -f "$PID_FILE"
  # The child writes its own pid and then execs java, so the pid file holds the JVM's pid.
  # shellcheck disable=SC2016 # $$ is expanded by the child shell on purpose
  nohup "${launcher[@]}" bash -c 'echo "$$" >"$1"; shift; exec "$@"' kafka-local \
    "$PID_FILE" "$JAVA" "${jvm_opts[@]}" -cp "$LIB_DIR/*" kafka.Kafka "$SERVER_PROPS" \
    </dev/null >"$CONSOLE_LOG" 2>&1 9>&- &

  local started_at=$SECONDS deadline=$((SECONDS + KAFKA_START_TIMEOUT)) pid=""
  while ((SECONDS < deadline)); do
    if [[ -z "$pid" && -s "$PID_FILE" ]]; then
      pid="$(tr -dc '0-9' <"$PID_FILE")"
    fi
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      start_failed "the broker process exited during startup"
    fi
    if [[ -n "$pid" ]] && port_open "$KAFKA_PORT" \
      && grep -q 'Kafka Server started' "$SERVER_LOG" 2>/dev/null; then
      log "started (pid $pid) in $((SECONDS - started_at))s; bootstrap.servers=127.0.0.1:$KAFKA_PORT"
      return 0
    fi
    sleep 0.5
  done
  start_failed "the broker did not come up within ${KAFKA_START_TIMEOUT}s"
}

start_failed() {
  log "error: $1"
  log "---- tail of $SERVER_LOG ----"
  tail -n 40 "$SERVER_LOG" >&2 2>/dev/null || true
  if [[ -s "$CONSOLE_LOG" ]]; then
    log "---- tail of $CONSOLE_LOG ----"
    tail -n 20 "$CONSOLE_LOG" >&2 || true
  fi
  stop_broker >/dev/null 2>&1 || true
  exit 1
}

# Stops the broker named in the pid file, if any. Returns 0 when nothing is left running.
stop_broker() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    return 0
  fi
  log "stopping Kafka (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.5
    done
  fi
  if kill -0 "$pid" 2>/dev/null; then
    die "could not stop pid $pid"
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_stop() {
  if ! running_pid >/dev/null; then
    log "not running"
    return 0
  fi
  stop_broker
}

cmd_reset() {
  cmd_stop
  case "$KAFKA_DATA_DIR" in
    "" | "/" | "$REPO" | "$HOME") die "refusing to delete KAFKA_DATA_DIR='$KAFKA_DATA_DIR'" ;;
  esac
  if [[ -d "$KAFKA_DATA_DIR" ]]; then
    rm -rf "$KAFKA_DATA_DIR"
    log "deleted $KAFKA_DATA_DIR"
  fi
}

cmd_run_class() {
  (($# >= 1)) || die "usage: $0 run-class CLASS [ARGS...]"
  ensure_jars
  run_tool "$@"
}

usage() {
  cat >&2 <<EOF
usage: $0 {start|stop|status|reset|fetch|config|run-class CLASS [ARGS...]}
  env: KAFKA_PORT=$KAFKA_PORT KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT KAFKA_DATA_DIR=$KAFKA_DATA_DIR
EOF
}

# Serialise start/stop/reset across concurrent callers (best effort: needs flock).
with_lock() {
  if command -v flock >/dev/null 2>&1; then
    mkdir -p "$KAFKA_DATA_DIR"
    exec 9>"$KAFKA_DATA_DIR/.script.lock"
    flock -w $((KAFKA_START_TIMEOUT + KAFKA_STOP_TIMEOUT + 30)) 9 || die "timed out waiting for another kafka-local.sh"
  fi
  "$@"
}

main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    start) with_lock cmd_start ;;
    stop) with_lock cmd_stop ;;
    status) cmd_status ;;
    reset) with_lock cmd_reset ;;
    fetch) cmd_fetch ;;
    config) with_lock cmd_config ;;
    run-class) cmd_run_class "$@" ;;
    -h | --help | help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
