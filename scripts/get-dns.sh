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
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install-no-start.sh" get-dns knot
have || die "knot installed but knotd not found at /usr/sbin/knotd"
echo "get-dns: installed $(/usr/sbin/knotd --version 2>/dev/null | head -n1)"
