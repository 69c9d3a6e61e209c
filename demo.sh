#!/usr/bin/env bash
# One-command demo: a local Pebble CA on loopback and an example server that obtains a certificate
# through its own port-80 pipeline, serves HTTPS and renews it live (2-minute certificates), printing
# https-url:, connect-to:, trust-root: and a "certificate: serial=<hex> notAfter=<ISO-8601>" line
# each time a certificate goes live. Ctrl-C stops everything and deletes the demo's store.
#
#   ./demo.sh [netty|jetty|tomcat]   the Netty (default), Jetty 12 or Tomcat example
#   ./demo.sh spring                 the Spring Boot 4 example (examples-spring-boot, Tomcat, the starter)
#   ./demo.sh cluster                PostgreSQL + Pebble + nginx + three nodes sharing the store; each
#                                    renewal is one serial that all three print ("node=<k> certificate: ...")
#
# Ports: DEMO_HTTP_PORT (default 5002: where Pebble validates HTTP-01), DEMO_HTTPS_PORT (default 8443);
# DEMO_LIFETIME_SECONDS sets the certificates' lifetime (default 120; cluster: 60).
# Nothing is installed into ~/.m2: the modules are built in one reactor run and run from target/.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/get-pebble.sh >&2
module=examples
main=io.github.autocert4j.examples.DemoMain
case "${1:-netty}" in
  spring)
    module=examples-spring-boot
    main=io.github.autocert4j.examples.spring.SpringDemoMain ;;
  cluster)
    bash scripts/get-postgres.sh >&2
    bash scripts/get-lb.sh >&2 ;;
esac
build=(-q -B -DskipTests -pl "$module" -am package dependency:build-classpath
       -Dmdep.outputFile=target/demo.classpath -Dmdep.includeScope=runtime)
mvn -o "${build[@]}" >&2 2>/dev/null || mvn "${build[@]}" >&2
exec java -Dorg.slf4j.simpleLogger.defaultLogLevel=info -Dorg.slf4j.simpleLogger.logFile=System.err \
  -cp "$module/target/classes:$(cat "$module/target/demo.classpath")" "$main" "$@"
