#!/usr/bin/env bash
# get-caddy.sh - make sure Caddy (Debian package `caddy`, 2.6.x) is installed: the testkit's CaddyAcmeServer starts it as a
# child process on loopback with its built-in ACME server (`acme_server`, smallstep's ACME code), the second CA the
# SecondCa* and AccountRecoveryCaddy* tests run against (docs/ca-features.md).
#
# Idempotent: does nothing when a caddy binary is already there. Otherwise needs root (apt-get) on Debian/Ubuntu.
# The package's own system service is not started (it would sit on port 80): while installing, a temporary
# policy-rc.d denies service starts, unless the host already has one. The tests run their own caddy with a generated
# Caddyfile and throw-away data directory; they never use /etc/caddy. Exits non-zero with a clear message if caddy
# cannot be installed: the tests never skip. CADDY_BIN=/path/to/caddy skips the lookup and the install.
set -euo pipefail

die() { echo "get-caddy: ERROR: $*" >&2; exit 1; }

if [ -n "${CADDY_BIN:-}" ]; then
  [ -x "$CADDY_BIN" ] || die "CADDY_BIN=$CADDY_BIN is not an executable"
  echo "get-caddy: caddy: $CADDY_BIN"
  exit 0
fi

have() { [ -x /usr/bin/caddy ] || command -v caddy >/dev/null 2>&1; }

if have; then
  echo "get-caddy: caddy present: $(command -v caddy 2>/dev/null || echo /usr/bin/caddy)"
  exit 0
fi
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install-no-start.sh" get-caddy caddy
have || die "caddy installed but no caddy binary found at /usr/bin/caddy"
echo "get-caddy: installed $(/usr/bin/caddy version 2>&1 | head -n1)"
