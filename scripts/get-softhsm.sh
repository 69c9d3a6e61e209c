#!/usr/bin/env bash
# get-softhsm.sh - make sure SoftHSM2 (Debian package `softhsm2`) is installed: the EncryptedStoreSoftHsm* tests keep the
# key-encryption key of EncryptedCertStore in a PKCS#11 token (SunPKCS11 over libsofthsm2.so). Each test run creates its
# own token in a temporary directory (SOFTHSM2_CONF points at a generated configuration); /var/lib/softhsm is never used.
#
# Idempotent: does nothing when softhsm2-util and the library are there. Otherwise needs root (apt-get) on Debian/Ubuntu.
# Exits non-zero with a clear message if SoftHSM2 cannot be installed: the tests never skip.
# SOFTHSM2_LIB=/path/to/libsofthsm2.so skips the lookup and the install (softhsm2-util must then be on PATH).
set -euo pipefail

die() { echo "get-softhsm: ERROR: $*" >&2; exit 1; }

if [ -n "${SOFTHSM2_LIB:-}" ]; then
  [ -f "$SOFTHSM2_LIB" ] || die "SOFTHSM2_LIB=$SOFTHSM2_LIB is not a file"
  echo "get-softhsm: library: $SOFTHSM2_LIB"
  exit 0
fi

have() { command -v softhsm2-util >/dev/null 2>&1 && [ -f /usr/lib/softhsm/libsofthsm2.so ]; }

if have; then
  echo "get-softhsm: softhsm2 present: $(softhsm2-util --version 2>/dev/null || echo '?')"
  exit 0
fi
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install-no-start.sh" get-softhsm softhsm2
have || die "softhsm2 installed but softhsm2-util or /usr/lib/softhsm/libsofthsm2.so is missing"
echo "get-softhsm: installed softhsm2 $(softhsm2-util --version 2>/dev/null || echo '?')"
