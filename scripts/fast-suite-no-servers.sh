#!/usr/bin/env bash
# Runs the fast suite (mvn -q test -DexcludedGroups=integration) the way a machine without an ACME
# server sees it: in a private mount namespace (root: unshare -m) where caddy, knotd, nginx, openssl,
# certbot, pebble, the PostgreSQL binaries and .pebble/ are bind-mounted over by an empty file or
# directory, and the *_BIN overrides are unset. Nothing outside the namespace changes. A test that
# starts a server without the integration tag fails here (a missing server fails, never skips).
# Usage: sudo scripts/fast-suite-no-servers.sh [extra mvn args, e.g. -o]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--inside" ]; then
  exec unshare -m "$0" --inside "$@"
fi
shift
empty_dir=$(mktemp -d); empty_file=$(mktemp)
for f in caddy knotd knotc nginx openssl certbot pebble pebble-challtestsrv postgres pg_ctl initdb; do
  for p in $(type -ap "$f") /usr/sbin/"$f" /usr/bin/"$f"; do
    [ -f "$p" ] && mount --bind "$empty_file" "$p"
  done
done
for d in /usr/lib/postgresql "$(readlink -f .pebble 2>/dev/null || echo .pebble)"; do
  [ -d "$d" ] && mount --bind "$empty_dir" "$d"
done
unset PEBBLE_BIN CADDY_BIN KNOTD_BIN NGINX_BIN POSTGRES_BIN
exec mvn -B -q test -DexcludedGroups=integration "$@"
