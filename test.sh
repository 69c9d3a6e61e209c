#!/usr/bin/env bash
# Runs the whole test suite, getting what it needs first. Needs Java 17+ and Maven 3.8+.
# Pebble (Let's Encrypt's ACME test server) is unpacked into .pebble/ by scripts/get-pebble.sh,
# which uses apt-get download + dpkg -x and so needs root the first time (or run it once with sudo).
# The Pebble integration tests never skip: a missing Pebble fails the build. Knot DNS (knotd, for the DNS-01
# tests) is installed by scripts/get-dns.sh with apt-get when missing; a missing knotd fails them too. The same goes for
# PostgreSQL (scripts/get-postgres.sh), nginx (scripts/get-lb.sh, the Cluster* tests' load balancer) and Caddy
# (scripts/get-caddy.sh, the second ACME server).
set -euo pipefail
cd "$(dirname "$0")"
command -v java >/dev/null || { echo "test.sh: install Java 17+ first: apt-get install -y openjdk-17-jdk-headless" >&2; exit 1; }
command -v mvn >/dev/null || { echo "test.sh: install Maven first: apt-get install -y maven" >&2; exit 1; }
bash scripts/get-pebble.sh
bash scripts/get-dns.sh
bash scripts/get-postgres.sh   # PostgreSQL server binaries for the Postgres* tests (Debian's package; see docs/postgres.md)
bash scripts/get-lb.sh         # nginx, the round-robin load balancer the Cluster* tests start in front of the nodes (docs/cluster.md)
bash scripts/get-caddy.sh      # Caddy, whose built-in ACME server is the second CA of the SecondCa* and AccountRecoveryCaddy* tests
bash scripts/get-certbot.sh    # certbot, which makes the real certbot directory the cli module's CertbotImport* tests import (Pebble as its CA)
bash scripts/get-softhsm.sh   # SoftHSM2, the PKCS#11 token holding the key-encryption key in the EncryptedStoreSoftHsm* tests (docs/security.md)
# A second JDK: core's tests whose subject behaves differently since Java 21 run once more on Java 25 (docs/testing.md).
java25=${AUTOCERT4J_JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
[ -x "$java25" ] || { echo "test.sh: no Java 25 at $java25. Fix: install a Java 25 JDK (e.g. Temurin) or set AUTOCERT4J_JAVA25 to its bin/java" >&2; exit 1; }
exec mvn -B verify -Pjava25 -Dautocert4j.java25="$java25" "$@"
