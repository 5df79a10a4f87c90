#!/bin/sh
# Runs a Kafka main class with the jars in ../libs, logging to the console (log4j 1.x).
base="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck disable=SC2086 # the heap options are a list of words
exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m} -XX:+UseG1GC -Djava.awt.headless=true \
  "-Dlog4j.configuration=file:$base/config/log4j.properties" -cp "$base/libs/*" "$@"
