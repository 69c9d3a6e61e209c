#!/usr/bin/env bash
# get-dns.sh - make sure Knot DNS (knotd, Debian package `knot`) is installed: the testkit's DnsServer starts it
# on a loopback port as an authoritative server for the DNS-01 and wildcard tests.
#
# Idempotent: does nothing when knotd is already there. Otherwise needs root (apt-get) on Debian/Ubuntu.
# The package's own system service is not started (it would sit on port 53): while installing, a temporary
# policy-rc.d denies service starts, unless the host already has one. The tests run their own knotd.
# Exits non-zero with a clear message if knotd cannot be installed: the DNS tests never skip.
set -euo pipefail

die() { echo "get-dns: ERROR: $*" >&2; exit 1; }

have() { [ -x /usr/sbin/knotd ] || command -v knotd >/dev/null 2>&1; }

if have; then
  echo "get-dns: knotd present: $(command -v knotd 2>/dev/null || echo /usr/sbin/knotd)"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || die "knotd (Debian package knot) is missing and this is not root: run 'sudo apt-get install -y knot' or re-run this script as root"
command -v apt-get >/dev/null || die "apt-get not found: install Knot DNS 3.x (knotd) with your package manager"

policy=/usr/sbin/policy-rc.d
added_policy=0
cleanup() { if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# get-dns.sh: no service starts while installing knot\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  added_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends knot >/dev/null 2>&1; then
  # a clean machine may have no package lists yet, or stale ones
  apt-get update -q || die "apt-get update failed"
  apt-get install -y -q --no-install-recommends knot || die "apt-get install knot failed"
fi
have || die "knot installed but knotd not found at /usr/sbin/knotd"
echo "get-dns: installed $(/usr/sbin/knotd --version 2>/dev/null | head -n1)"
