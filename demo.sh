#!/usr/bin/env bash
# One-command demo: a local Pebble CA on loopback, the Netty example server obtaining a certificate
# through its own port-80 pipeline, serving HTTPS, and renewing it live every ~80 s (2-minute
# certificates). Prints https-url:, connect-to:, trust-root:, and certificate: lines. Ctrl-C stops it
# (and Pebble). Usage: ./demo.sh [netty|jetty|tomcat] (default netty). Ports: DEMO_HTTP_PORT (default 5002, where Pebble validates), DEMO_HTTPS_PORT (8443).
# ./demo.sh cluster: PostgreSQL + Pebble + nginx + three nodes sharing the store, 60-second certificates (DEMO_LIFETIME_SECONDS);
# each renewal is one serial that all three nodes print ("node=<k> certificate: serial=... notAfter=..."); see docs/cluster.md.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/get-pebble.sh >&2
if [ "${1:-}" = cluster ]; then
  bash scripts/get-postgres.sh >&2
  bash scripts/get-lb.sh >&2
fi
if ! mvn -q -B -o install -DskipTests -pl examples -am >&2 2>/dev/null; then
  mvn -q -B install -DskipTests -pl examples -am >&2
fi
mvn -q -B -o -pl examples dependency:build-classpath -Dmdep.outputFile=target/demo.classpath -Dmdep.includeScope=runtime >&2 2>/dev/null \
  || mvn -q -B -pl examples dependency:build-classpath -Dmdep.outputFile=target/demo.classpath -Dmdep.includeScope=runtime >&2
exec java -Dorg.slf4j.simpleLogger.defaultLogLevel=info -Dorg.slf4j.simpleLogger.logFile=System.err \
  -cp "examples/target/classes:$(cat examples/target/demo.classpath)" io.github.autocert4j.examples.DemoMain "$@"
