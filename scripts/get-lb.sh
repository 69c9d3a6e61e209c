#!/usr/bin/env bash
# get-lb.sh - make sure nginx (Debian package `nginx`) is installed: the testkit's internal LoadBalancer (io.github.autocert4j.testkit.internal) starts it as a child
# process on loopback, round-robin in front of the cluster nodes' plain-HTTP ports (the Cluster* tests, ./demo.sh cluster).
#
# Idempotent: does nothing when an nginx binary is already there. Otherwise needs root (apt-get) on Debian/Ubuntu.
# The package's own system service is not started (it would sit on port 80): while installing, a temporary
# policy-rc.d denies service starts, unless the host already has one. The tests run their own nginx with a generated
# configuration; they never use /etc/nginx. Exits non-zero with a clear message if nginx cannot be installed: the
# cluster tests never skip. NGINX_BIN=/path/to/nginx skips the lookup and the install.
set -euo pipefail

die() { echo "get-lb: ERROR: $*" >&2; exit 1; }

if [ -n "${NGINX_BIN:-}" ]; then
  [ -x "$NGINX_BIN" ] || die "NGINX_BIN=$NGINX_BIN is not an executable"
  echo "get-lb: nginx: $NGINX_BIN"
  exit 0
fi

have() { [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; }

if have; then
  echo "get-lb: nginx present: $(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)"
  exit 0
fi
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install-no-start.sh" get-lb nginx
have || die "nginx installed but no nginx binary found at /usr/sbin/nginx"
echo "get-lb: installed $(/usr/sbin/nginx -v 2>&1 | head -n1)"
