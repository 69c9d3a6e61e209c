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
[ "$(id -u)" -eq 0 ] || die "nginx (Debian package nginx) is missing and this is not root: run 'sudo apt-get install -y nginx' or re-run this script as root"
command -v apt-get >/dev/null || die "apt-get not found: install nginx with your package manager, or set NGINX_BIN"

policy=/usr/sbin/policy-rc.d
added_policy=0
cleanup() { if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# get-lb.sh: no service starts while installing nginx\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  added_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends nginx >/dev/null 2>&1; then
  # a clean machine may have no package lists yet, or stale ones
  apt-get update -q || die "apt-get update failed"
  apt-get install -y -q --no-install-recommends nginx || die "apt-get install nginx failed"
fi
have || die "nginx installed but no nginx binary found at /usr/sbin/nginx"
echo "get-lb: installed $(/usr/sbin/nginx -v 2>&1 | head -n1)"
