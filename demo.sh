#!/usr/bin/env bash
# One-command demo: a local Pebble CA on loopback, the Netty example server obtaining a certificate
# through its own port-80 pipeline, serving HTTPS, and renewing it live every ~80 s (2-minute
# certificates). Prints https-url:, connect-to:, trust-root:, and certificate: lines. Ctrl-C stops it
# (and Pebble). Usage: ./demo.sh [netty|jetty|tomcat|spring] (default netty; spring: the Spring Boot 4
# application of examples-spring-boot, on Tomcat, with autocert4j-spring-boot-starter). Ports: DEMO_HTTP_PORT
# (default 5002, where Pebble validates), DEMO_HTTPS_PORT (8443).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/get-pebble.sh >&2
if [ "${1:-}" = spring ]; then
  # Built and resolved in one reactor run (nothing is installed into ~/.m2): the class path points at
  # the modules' target/ jars and at Boot 4's own dependencies.
  build=(-q -B -DskipTests -pl examples-spring-boot -am package dependency:build-classpath
         -Dmdep.outputFile=target/demo.classpath -Dmdep.includeScope=runtime)
  mvn -o "${build[@]}" >&2 2>/dev/null || mvn "${build[@]}" >&2
  exec java -cp "examples-spring-boot/target/classes:$(cat examples-spring-boot/target/demo.classpath)" \
    io.github.autocert4j.examples.spring.SpringDemoMain
fi
if ! mvn -q -B -o install -DskipTests -pl examples -am >&2 2>/dev/null; then
  mvn -q -B install -DskipTests -pl examples -am >&2
fi
mvn -q -B -o -pl examples dependency:build-classpath -Dmdep.outputFile=target/demo.classpath -Dmdep.includeScope=runtime >&2 2>/dev/null \
  || mvn -q -B -pl examples dependency:build-classpath -Dmdep.outputFile=target/demo.classpath -Dmdep.includeScope=runtime >&2
exec java -Dorg.slf4j.simpleLogger.defaultLogLevel=info -Dorg.slf4j.simpleLogger.logFile=System.err \
  -cp "examples/target/classes:$(cat examples/target/demo.classpath)" io.github.autocert4j.examples.DemoMain "$@"
