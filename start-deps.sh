#!/usr/bin/env bash
# Starts MongoDB (single-node replica set) and Kafka (KRaft) from docker-compose.yaml,
# waits until both are healthy and answer on their host ports, then prints the variables
# that point services running on the host at them:
#
#   eval "$(./start-deps.sh)"          # exports MONGO_URL and KAFKA_BROKERS
#   export SECRETS_KEY=$(openssl rand -base64 32)   # the same for workflows-svc and runner-svc
#   JWT_SECRET=$(openssl rand -hex 32) npm start -w @wf/workflows-svc
#   npm start -w @wf/scheduler-svc
#   npm start -w @wf/runner-svc
#
# Progress and errors go to stderr; only the variables go to stdout.
# DEPS_TIMEOUT (seconds, default 180) bounds the wait. Stop with `docker compose down`
# (add -v to delete the data volumes).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
timeout_s="${DEPS_TIMEOUT:-180}"
mongo_port=27017 # host ports published in docker-compose.yaml
kafka_port=29092

say() { printf 'start-deps: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Compose interpolates the whole file, the services' required JWT_SECRET and SECRETS_KEY
# included, even when only mongo and kafka start: give them placeholders that no service
# started here reads.
compose() {
  JWT_SECRET="${JWT_SECRET:-unused-by-mongo-and-kafka}" SECRETS_KEY="${SECRETS_KEY:-unused-by-mongo-and-kafka}" docker compose -f "$here/docker-compose.yaml" "$@"
}

command -v docker > /dev/null 2>&1 || die "docker is not installed"
docker compose version > /dev/null 2>&1 || die "'docker compose' (Compose v2) is not available"
docker info > /dev/null 2>&1 || die "cannot reach the Docker engine (is it running? see 'docker info')"

compose up -d mongo kafka >&2

# "<state> <health>" of a service's container, e.g. "running healthy"; empty if none yet.
status_of() {
  local id
  id="$(compose ps -a -q "$1" 2> /dev/null | head -n 1 || true)"
  [ -n "$id" ] || return 0
  docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id" 2> /dev/null || true
}

# True once something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

fail() {
  say "$1 is not ready: $2; its last log lines:"
  compose logs --no-color --tail 40 "$1" >&2 || true
  exit 1
}

deadline=$((SECONDS + timeout_s))
for svc in mongo kafka; do
  while :; do
    status="$(status_of "$svc")"
    case "$status" in
      "running healthy") break ;;
      exited* | dead* | "running unhealthy") fail "$svc" "container is '${status}'" ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || fail "$svc" "still '${status:-not created}' after ${timeout_s}s (DEPS_TIMEOUT)"
    sleep 2
  done
  say "$svc is healthy"
done

# Healthy inside the network; also make sure the published ports answer from the host.
for pair in "mongo:$mongo_port" "kafka:$kafka_port"; do
  svc="${pair%%:*}" port="${pair#*:}"
  until port_open "$port"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$svc" "nothing answers on 127.0.0.1:$port"
    sleep 1
  done
done
say "mongo (127.0.0.1:$mongo_port) and kafka (127.0.0.1:$kafka_port) accept clients"

# The replica set's member is named mongo:27017 (a name only the compose network resolves),
# so clients on the host connect directly rather than through replica-set discovery.
cat << EOF
export MONGO_URL='mongodb://localhost:$mongo_port/wf?replicaSet=rs0&directConnection=true'
export KAFKA_BROKERS='localhost:$kafka_port'
EOF
