#!/usr/bin/env bash
# Builds the three services' images and smoke-tests them, with Docker or Podman.
#
#   scripts/images.sh base         the Dockerfiles' base image: present, else loaded from the
#                                  cache, else pulled, else made here (build does this first)
#   scripts/images.sh build        the base image when no registry has it, then the images
#                                  workflow-automation/{workflows,scheduler,runner}-svc
#   scripts/images.sh smoke        runs the built images against PostgreSQL and a Kafka broker
#                                  of its own, and checks what a deployment relies on (below)
#   scripts/images.sh test-images  the PostgreSQL and Kafka images the testcontainers test
#                                  tiers use where no registry has the usual ones (CI);
#                                  prints the variables that select them, for eval
#   scripts/images.sh dockerfiles  writes <service>/Dockerfile from the template
#                                  scripts/images/service.Dockerfile (--check: only compares)
#
# smoke: the three containers on the host network, against a fresh database on the
# PostgreSQL at DATABASE_URL and a broker started with scripts/kafka-local.sh on a port of
# its own; /healthz answers, the image's health check passes, the user is not root, the app
# directory is read-only for it, one workflow runs end to end through the REST API, and
# each container stops on SIGTERM within the grace period, exit code 0, its log saying so.
#
# Environment:
#   CONTAINER_ENGINE  podman or docker       default: podman when installed, else docker
#   IMAGES_CACHE_DIR  where a locally made base image is kept between runs (podman save);
#                     never required          default: ~/.cache/workflow-automation/images
#   DATABASE_URL      a PostgreSQL server smoke may create a database on
#                                             default: postgres://postgres@127.0.0.1:5432/postgres
#   SMOKE_KAFKA_PORT  the smoke broker's port (its controller takes the next one)
#                                             default: 19092
#
# Every phase's time is printed at the end. Progress and errors go to stderr.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

SERVICES=(workflows-svc scheduler-svc runner-svc)
IMAGE_PREFIX=workflow-automation
TEST_POSTGRES_IMAGE="$IMAGE_PREFIX/test-postgres:15"
# The grace period docker-compose.yaml gives (stop_grace_period): longer than the 25 s drain.
GRACE_S=30

say() { printf 'images: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

if [ -n "${CONTAINER_ENGINE:-}" ]; then
  engine="$CONTAINER_ENGINE"
elif command -v podman > /dev/null 2>&1; then
  engine=podman
else
  engine=docker
fi
require_engine() {
  command -v "$engine" > /dev/null 2>&1 || die "$engine is not installed (on a Debian machine: sudo bash scripts/images/setup-podman.sh)"
}

# ------------------------------------------------------------------------ phase times

phase_names=()
phase_secs=()
now_ms() { date +%s%3N; }
# Runs "$@" as the phase named $1 (the rest is the command) and records its time.
phase() {
  local name="$1" start
  shift
  start="$(now_ms)"
  say "== $name"
  "$@"
  phase_names+=("$name")
  phase_secs+=("$(awk -v ms=$(($(now_ms) - start)) 'BEGIN { printf "%.1f", ms / 1000 }')")
}
print_times() {
  [ "${#phase_names[@]}" -gt 0 ] || return 0
  printf '\nimages %s, %s: time per phase\n' "$command" "$engine" >&2
  local i
  for i in "${!phase_names[@]}"; do printf '  %-44s %7ss\n' "${phase_names[$i]}" "${phase_secs[$i]}" >&2; done
}

# ------------------------------------------------------------------------ base image

# The image every Dockerfile starts FROM, in the fully qualified form both engines accept.
base_image() {
  local from svc
  from="$(awk 'toupper($1) == "FROM" { print $2; exit }' "${SERVICES[0]}/Dockerfile")"
  for svc in "${SERVICES[@]}"; do
    [ "$(awk 'toupper($1) == "FROM" { print $2; exit }' "$svc/Dockerfile")" = "$from" ] || die "$svc/Dockerfile starts from another image than $from"
  done
  case "$from" in
    */*/*) echo "$from" ;;
    */*) echo "docker.io/$from" ;;
    *) echo "docker.io/library/$from" ;;
  esac
}

# What a locally made base image holds; a change makes scripts/images/make-base-image.sh run again.
base_key() {
  {
    node --version
    npm --version
    cat /etc/ssl/certs/ca-certificates.crt scripts/images/make-base-image.sh
  } | sha256sum | cut -c1-16
}

# The base image is used as it is when the engine has it, else loaded from the cache, else
# pulled, else made here; a base image made here and saved to the cache is reused next run.
ensure_base_image() {
  local image key cache label
  image="$(base_image)"
  key="$(base_key)"
  cache="${IMAGES_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/workflow-automation/images}/node-base-$key.tar"
  if "$engine" image inspect "$image" > /dev/null 2>&1; then
    label="$("$engine" image inspect -f '{{index .Config.Labels "workflow-automation.base-image"}}' "$image" 2> /dev/null || true)"
    if [ -z "$label" ] || [ "$label" = "<no value>" ] || [ "$label" = "$key" ]; then
      say "base image $image is present"
      return 0
    fi
    say "base image $image was made here from other inputs (node, npm, the CA bundle or make-base-image.sh changed): making it again"
    "$engine" image rm "$image" > /dev/null
  fi
  if [ -f "$cache" ] && "$engine" load -i "$cache" > /dev/null 2>&1 && "$engine" image inspect "$image" > /dev/null 2>&1; then
    say "base image $image loaded from $cache"
    return 0
  fi
  if "$engine" pull "$image" > /dev/null 2>&1; then
    say "base image $image pulled"
    return 0
  fi
  say "no registry has $image: making it locally (debootstrap, the host's Node 20)"
  bash scripts/images/make-base-image.sh "$engine" "$image" "$key"
  if mkdir -p "$(dirname "$cache")" 2> /dev/null && "$engine" save -o "$cache.part" "$image" > /dev/null 2>&1; then
    mv "$cache.part" "$cache"
    find "$(dirname "$cache")" -name 'node-base-*.tar' ! -name "$(basename "$cache")" -delete
    say "saved to $cache for the next run"
  else
    rm -f "$cache.part"
    say "could not save the base image to $cache; the next run makes it again"
  fi
}

# ------------------------------------------------------------------------ build

# podman: --format docker keeps HEALTHCHECK (the OCI format has none); the base image is
# local by now, so nothing is pulled.
build_args() {
  if [ "$engine" = podman ]; then echo --format docker --pull=never; fi
}

build_image() {
  local file="$1" tag="$2" context="$3"
  # shellcheck disable=SC2046 # build_args is a word list on purpose
  "$engine" build $(build_args) -f "$file" -t "$tag" "$context" > "$logs/build-$(basename "$(dirname "$file")").log" 2>&1 \
    || { tail -n 40 "$logs/build-$(basename "$(dirname "$file")").log" >&2; die "building $tag failed (full log above)"; }
}

cmd_build() {
  phase "base image" ensure_base_image
  for svc in "${SERVICES[@]}"; do
    phase "image $IMAGE_PREFIX/$svc" build_image "$svc/Dockerfile" "$IMAGE_PREFIX/$svc" .
  done
  for svc in "${SERVICES[@]}"; do
    say "$IMAGE_PREFIX/$svc: $("$engine" image inspect -f '{{.Size}}' "$IMAGE_PREFIX/$svc" | awk '{ printf "%d MB", $1 / 1e6 }')"
  done
}

# ------------------------------------------------------------------------ Dockerfiles

# Per service: what it is, the variable it reads its port from, the port, and whether it
# serves the dashboard. Everything else in its Dockerfile is the template's, the same for the three.
DOCKERFILE_PARAMS=(
  "workflows-svc|the REST API and the dashboard|PORT|3000|dashboard"
  "scheduler-svc|the clock and the outbox relay|HEALTH_PORT|3001|"
  "runner-svc|the action runner|HEALTH_PORT|3002|"
)

render_dockerfile() {
  local svc what var port dashboard keep
  IFS='|' read -r svc what var port dashboard <<< "$1"
  if [ "$dashboard" = dashboard ]; then keep='s|^@DASHBOARD@||'; else keep='/^@DASHBOARD@/d'; fi
  awk 'text { print } /^# Everything from the next line on is a Dockerfile/ { text = 1 }' scripts/images/service.Dockerfile \
    | sed -e "$keep" -e "s|@SERVICE@|$svc|g" -e "s|@WHAT@|$what|g" -e "s|@PORT_VARIABLE@|$var|g" -e "s|@PORT@|$port|g"
}

cmd_dockerfiles() {
  local params svc stale=0
  for params in "${DOCKERFILE_PARAMS[@]}"; do
    svc="${params%%|*}"
    if [ "${1:-}" = --check ]; then
      render_dockerfile "$params" | diff -u "$svc/Dockerfile" - >&2 || stale=1
    else
      render_dockerfile "$params" > "$svc/Dockerfile"
    fi
  done
  [ "$stale" = 0 ] || die "the Dockerfiles differ from scripts/images/service.Dockerfile: run scripts/images.sh dockerfiles"
}

# ------------------------------------------------------------------------ test images

cmd_test_images() {
  phase "base image" ensure_base_image
  phase "image $TEST_POSTGRES_IMAGE" build_image scripts/images/postgres/Dockerfile "$TEST_POSTGRES_IMAGE" scripts/images/postgres
  # The broker's jars come from Maven Central through infra/kafka, as for scripts/kafka-local.sh;
  # they and the image's scripts make a build context of their own (.dockerignore keeps infra/ out of the root one).
  local context="$work/kafka-context" version
  phase "Kafka jars (mvn)" bash scripts/kafka-local.sh fetch
  version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' infra/kafka/pom.xml)"
  mkdir -p "$context"
  cp -r scripts/images/kafka/. "$context/"
  cp -r infra/kafka/target/lib "$context/libs"
  rm -f "$context/libs/.fetched"
  phase "image $IMAGE_PREFIX/test-kafka:$version" build_image "$context/Dockerfile" "$IMAGE_PREFIX/test-kafka:$version" "$context"
  # For `eval "$(scripts/images.sh test-images)"`: the variables that make the test tiers use them.
  printf "export TEST_POSTGRES_IMAGE='%s'\nexport TEST_KAFKA_IMAGE='%s'\n" "$TEST_POSTGRES_IMAGE" "$IMAGE_PREFIX/test-kafka:$version"
}

# ------------------------------------------------------------------------ smoke

port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    port_open "$port" || { echo "$port"; return 0; }
  done
  die "found no free port"
}
json_field() { node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { const v = process.argv[1].split(".").reduce((o, k) => o?.[k], JSON.parse(s)); if (v === undefined) process.exit(1); console.log(v); })' "$1"; }
container() { echo "wf-smoke-$1-$suffix"; }
# podman's complaints that it has no systemd to schedule health checks with go to
# engine.log rather than the terminal; they are shown with the containers' logs on a failure.
fail_with_logs() {
  local svc
  say "error: $1"
  if [ -s "$work/engine.log" ]; then
    say "---- the engine said ----"
    tail -n 20 "$work/engine.log" >&2
  fi
  for svc in "${SERVICES[@]}"; do
    "$engine" inspect "$(container "$svc")" > /dev/null 2>&1 || continue
    say "---- last lines of $(container "$svc") ----"
    "$engine" logs --tail 30 "$(container "$svc")" >&2 2>&1 || true
  done
  exit 1
}

smoke_cleanup() {
  local svc
  for svc in "${SERVICES[@]}"; do "$engine" rm -f "$(container "$svc")" > /dev/null 2>&1 || true; done
  if [ -n "${kafka_dir:-}" ]; then
    KAFKA_PORT="$kafka_port" KAFKA_CONTROLLER_PORT=$((kafka_port + 1)) KAFKA_DATA_DIR="$kafka_dir" bash scripts/kafka-local.sh stop > /dev/null 2>&1 || true
  fi
  if [ -n "${database:-}" ]; then psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" > /dev/null 2>&1 || true; fi
}

smoke_prepare() {
  psql -q "$admin_url" -c "CREATE DATABASE $database" > /dev/null || die "cannot create database $database on $admin_url"
  kafka_dir="$work/kafka"
  KAFKA_PORT="$kafka_port" KAFKA_CONTROLLER_PORT=$((kafka_port + 1)) KAFKA_DATA_DIR="$kafka_dir" bash scripts/kafka-local.sh start
}

smoke_start() {
  local svc port_var port db_url
  db_url="$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/" + process.argv[2]; console.log(u.toString())' "$admin_url" "$database")"
  for svc in "${SERVICES[@]}"; do
    port_var=HEALTH_PORT
    [ "$svc" = workflows-svc ] && port_var=PORT
    port="${ports[$svc]}"
    "$engine" run -d --name "$(container "$svc")" --network host --init \
      -e STORE=postgres -e DATABASE_URL="$db_url" -e KAFKA_BROKERS="127.0.0.1:$kafka_port" \
      -e JWT_SECRET="$jwt_secret" -e SECRETS_KEY="$secrets_key" -e LOG_LEVEL=info -e "$port_var=$port" \
      "$IMAGE_PREFIX/$svc" > /dev/null 2>> "$work/engine.log" || fail_with_logs "the engine could not start $svc"
  done
  local deadline=$((SECONDS + 120))
  for svc in "${SERVICES[@]}"; do
    until curl -fsS -o /dev/null "http://127.0.0.1:${ports[$svc]}/healthz" 2> /dev/null; do
      [ "$("$engine" inspect -f '{{.State.Running}}' "$(container "$svc")")" = true ] || fail_with_logs "$svc exited during start-up"
      [ "$SECONDS" -lt "$deadline" ] || fail_with_logs "$svc: /healthz did not answer within 120 s"
      sleep 1
    done
    say "$svc: /healthz answers on 127.0.0.1:${ports[$svc]}"
  done
}

# podman runs no periodic health checks without systemd: run the image's check once.
# Docker runs them itself: wait until it reports the container healthy.
smoke_healthcheck() {
  local svc status deadline=$((SECONDS + 90))
  for svc in "${SERVICES[@]}"; do
    if [ "$engine" = podman ]; then
      podman healthcheck run "$(container "$svc")" > /dev/null || fail_with_logs "$svc: the image's HEALTHCHECK failed"
    else
      until [ "$(docker inspect -f '{{.State.Health.Status}}' "$(container "$svc")")" = healthy ]; do
        [ "$SECONDS" -lt "$deadline" ] || fail_with_logs "$svc: not healthy after 90 s"
        sleep 2
      done
    fi
    status="$("$engine" inspect -f '{{.State.Health.Status}}' "$(container "$svc")")"
    [ "$status" = healthy ] || fail_with_logs "$svc: health status is '$status'"
    say "$svc: the image's health check passes ($status)"
  done
}

smoke_user_and_files() {
  local svc uid writable
  for svc in "${SERVICES[@]}"; do
    uid="$("$engine" exec "$(container "$svc")" id -u)"
    [ "$uid" != 0 ] || fail_with_logs "$svc runs as root"
    writable="$("$engine" exec "$(container "$svc")" find /app -writable -print -quit)"
    [ -z "$writable" ] || fail_with_logs "$svc can write to its app directory: $writable"
    say "$svc: runs as uid $uid ($("$engine" exec "$(container "$svc")" id -un)); nothing under /app is writable for it"
  done
}

# One manual workflow with a log step, through the REST API as a user would (README, "Try it").
smoke_workflow() {
  local api="http://127.0.0.1:${ports[workflows-svc]}" token execution status body deadline=$((SECONDS + 90))
  body="$(curl -fsS "$api/auth/signup" -H 'content-type: application/json' -d '{"email":"smoke@example.com","password":"correct horse battery"}')" \
    || fail_with_logs "signup failed"
  token="$(json_field token <<< "$body")"
  curl -fsS -o /dev/null "$api/workflows" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"workflowId":"image-smoke","trigger":{"type":"manual"},"actions":[{"type":"log","message":"image smoke run {{execution.id}}"}]}' \
    || fail_with_logs "creating the workflow failed"
  body="$(curl -fsS -X POST "$api/workflows/image-smoke/trigger" -H "authorization: Bearer $token")" || fail_with_logs "trigger failed"
  execution="$(json_field executionId <<< "$body")"
  while :; do
    body="$(curl -fsS "$api/executions/$execution" -H "authorization: Bearer $token")" || fail_with_logs "reading execution $execution failed"
    status="$(json_field status <<< "$body")"
    case "$status" in
      completed) break ;;
      failed) fail_with_logs "execution $execution failed: $body" ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || fail_with_logs "execution $execution still '$status' after 90 s"
    sleep 1
  done
  log_has runner-svc "image smoke run $execution" \
    || fail_with_logs "execution $execution completed but runner-svc's log lacks its log step"
  say "execution $execution completed; runner-svc logged its step"
  # The workflows-svc image serves the dashboard at / to a browser (which asks for HTML), under its Content-Security-Policy.
  body="$(curl -fsS -D - -H 'accept: text/html' "$api/")" || fail_with_logs "GET / (the dashboard, as a browser asks for it) failed"
  grep -qi '^content-security-policy:' <<< "$body" || fail_with_logs "GET / has no Content-Security-Policy header"
  grep -q '<div id="root">' <<< "$body" || fail_with_logs "GET / is not the dashboard's page: $(head -c 300 <<< "$body")"
  say "GET / serves the dashboard"
}

# Whether the container's log holds `text`, within 5 s: the engine writes a container's last
# lines to its log a moment after they were printed. (The log is read whole before grep: with
# pipefail, `logs | grep -q` fails when grep stops reading early.)
log_has() {
  local svc="$1" text="$2" logs deadline=$((SECONDS + 5))
  while :; do
    logs="$("$engine" logs "$(container "$svc")" 2>&1 || true)"
    grep -qF -- "$text" <<< "$logs" && return 0
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# SIGTERM (the images' STOPSIGNAL), then a drain bounded by the grace period; a clean stop
# is exit code 0, within the period, and the service's own "stopped" line in its log.
smoke_stop() {
  local svc start took code
  for svc in "${SERVICES[@]}"; do
    start="$(now_ms)"
    "$engine" stop -t "$GRACE_S" "$(container "$svc")" > /dev/null 2>> "$work/engine.log" || fail_with_logs "the engine could not stop $svc"
    took=$(($(now_ms) - start))
    code="$("$engine" inspect -f '{{.State.ExitCode}}' "$(container "$svc")")"
    [ "$code" = 0 ] || fail_with_logs "$svc exited with code $code after SIGTERM"
    [ "$took" -lt $((GRACE_S * 1000)) ] || fail_with_logs "$svc took ${took} ms to stop (grace period ${GRACE_S} s)"
    log_has "$svc" "\"$svc shutting down\"" || fail_with_logs "$svc's log does not say it was shutting down"
    log_has "$svc" "\"$svc stopped\"" || fail_with_logs "$svc's log does not say it stopped"
    say "$svc: stopped cleanly in ${took} ms (exit code 0)"
  done
}

cmd_smoke() {
  command -v psql > /dev/null || die "psql is needed to create the smoke test's database"
  command -v curl > /dev/null || die "curl is needed to drive the REST API"
  for svc in "${SERVICES[@]}"; do
    "$engine" image inspect "$IMAGE_PREFIX/$svc" > /dev/null 2>&1 || die "no image $IMAGE_PREFIX/$svc: run scripts/images.sh build first"
  done
  admin_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  suffix="$(date +%s)$$"
  database="wf_image_smoke_$suffix"
  kafka_port="${SMOKE_KAFKA_PORT:-19092}"
  jwt_secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  secrets_key="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  declare -gA ports=()
  for svc in "${SERVICES[@]}"; do ports[$svc]="$(free_port)"; done
  trap 'smoke_cleanup; rm -rf "$work"; print_times' EXIT

  phase "database and Kafka broker" smoke_prepare
  phase "start the three containers until /healthz" smoke_start
  phase "health checks" smoke_healthcheck
  phase "user and read-only app directory" smoke_user_and_files
  phase "one workflow end to end (REST API)" smoke_workflow
  phase "SIGTERM and clean stops" smoke_stop
  say "smoke passed"
}

# ------------------------------------------------------------------------ main

command="${1:-}"
work="$(mktemp -d "${TMPDIR:-/tmp}/wf-images.XXXXXX")"
logs="$work"
trap 'rm -rf "$work"; print_times' EXIT
case "$command" in
  base) require_engine && phase "base image" ensure_base_image ;;
  build) require_engine && cmd_build ;;
  smoke) require_engine && cmd_smoke ;;
  test-images) require_engine && cmd_test_images ;;
  dockerfiles) cmd_dockerfiles "${2:-}" ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
    ;;
esac
