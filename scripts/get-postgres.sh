#!/usr/bin/env bash
# get-postgres.sh - make sure the PostgreSQL server binaries (initdb, postgres) that the tests start exist.
#
# The tests (testkit's PostgresServer) run their own throw-away server from Debian's package layout,
# /usr/lib/postgresql/<version>/bin, as an unprivileged user when they run as root. This script installs
# Debian's `postgresql` package when no such directory is there; it never creates or starts a system-wide
# cluster (create_main_cluster = false for the duration of the install). Idempotent: prints the directory
# and exits 0 when the binaries are already there. Needs root (apt-get) only when it has to install.
# POSTGRES_BIN=/path/to/bin (a directory with initdb and postgres) skips the lookup and the install.
set -euo pipefail

die() { echo "get-postgres: ERROR: $*" >&2; exit 1; }

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  done
  return 1
}

if [ -n "${POSTGRES_BIN:-}" ]; then
  [ -x "$POSTGRES_BIN/initdb" ] && [ -x "$POSTGRES_BIN/postgres" ] || die "POSTGRES_BIN=$POSTGRES_BIN has no initdb/postgres"
  echo "postgres: $POSTGRES_BIN"
  exit 0
fi

if bin=$(find_bin); then
  echo "postgres: $bin"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin and not running as root: run this script as root, or apt-get install postgresql"
command -v apt-get >/dev/null || die "apt-get is required (Debian/Ubuntu host); or set POSTGRES_BIN to a directory with initdb and postgres"

# The tests start their own server: keep the package from creating and starting a 'main' cluster on port 5432.
conf=/etc/postgresql-common/createcluster.d/zz-autocert4j-get-postgres.conf
mkdir -p "$(dirname "$conf")"
echo "create_main_cluster = false" > "$conf"
log=$(mktemp "${TMPDIR:-/tmp}/get-postgres.XXXXXX")
trap 'rm -f "$conf" "$log"' EXIT

export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -q --no-install-recommends postgresql >>"$log" 2>&1; }
if ! install; then
  # a clean machine has no package lists yet
  apt-get update -q >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "apt-get update failed"; }
  install || { tail -n 30 "$log" >&2; die "apt-get install postgresql failed"; }
fi

bin=$(find_bin) || { tail -n 30 "$log" >&2; die "postgresql installed but no initdb/postgres under /usr/lib/postgresql/*/bin"; }
echo "get-postgres: installed $(basename "$(dirname "$bin")") from Debian's postgresql package" >&2
echo "postgres: $bin"
