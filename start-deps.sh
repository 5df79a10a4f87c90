#!/usr/bin/env bash
# Starts MongoDB (replica set) and Kafka from docker-compose.yaml and waits until both are
# healthy, then prints the variables that point the services at them.
set -euo pipefail
cd "$(dirname "$0")"

timeout_s="${DEPS_TIMEOUT:-120}"
docker compose up -d mongo kafka

deadline=$((SECONDS + timeout_s))
for svc in mongo kafka; do
  until [ "$(docker inspect -f '{{.State.Health.Status}}' "$(docker compose ps -q "$svc")" 2>/dev/null)" = "healthy" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "start-deps: $svc is not healthy after ${timeout_s}s; docker compose logs $svc says:" >&2
      docker compose logs --tail 30 "$svc" >&2
      exit 1
    fi
    sleep 2
  done
  echo "start-deps: $svc is healthy" >&2
done

cat <<'ENV'
MONGO_URL=mongodb://localhost:27017/wf?replicaSet=rs0&directConnection=true
KAFKA_BROKERS=localhost:29092
ENV
