#!/usr/bin/env bash
# get-certbot.sh - make sure certbot (Debian package `certbot`) is installed: the cli module's CertbotImport* tests run
# the real certbot against a local Pebble (standalone http-01, config/work/logs dirs in a temp directory) to make the
# certbot directory (live/, archive/, accounts/, renewal/) that `autocert4j import certbot` reads.
#
# Idempotent: does nothing when a certbot binary is already there. Otherwise needs root (apt-get) on Debian/Ubuntu.
# The package's certbot.timer is not started (policy-rc.d, see apt-install-no-start.sh); the tests never use
# /etc/letsencrypt. Exits non-zero with a clear message if certbot cannot be installed: the tests never skip.
# CERTBOT_BIN=/path/to/certbot skips the lookup and the install.
set -euo pipefail

die() { echo "get-certbot: ERROR: $*" >&2; exit 1; }

if [ -n "${CERTBOT_BIN:-}" ]; then
  [ -x "$CERTBOT_BIN" ] || die "CERTBOT_BIN=$CERTBOT_BIN is not an executable"
  echo "get-certbot: certbot: $CERTBOT_BIN"
  exit 0
fi

have() { [ -x /usr/bin/certbot ] || command -v certbot >/dev/null 2>&1; }

if have; then
  echo "get-certbot: certbot present: $(command -v certbot 2>/dev/null || echo /usr/bin/certbot)"
  exit 0
fi
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install-no-start.sh" get-certbot certbot
have || die "certbot installed but no certbot binary found at /usr/bin/certbot"
echo "get-certbot: installed $(/usr/bin/certbot --version 2>&1 | head -n1)"
