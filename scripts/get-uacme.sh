#!/usr/bin/env bash
# get-uacme.sh - make sure uacme (Debian package `uacme`, a small ACME client in C) is installed: bench.sh's coldstart
# section measures the library's first certificate from a fresh JVM against uacme's whole processes on the same Pebble
# (docs/benchmarks.md, section 5).
#
# Idempotent: does nothing when a uacme binary is already there. Otherwise needs root (apt-get) on Debian/Ubuntu.
# Exits non-zero with a clear message if uacme cannot be installed; the coldstart rows then say so (status "failed").
# UACME_BIN=/path/to/uacme skips the lookup and the install (the benchmark still calls `uacme` from the PATH).
set -euo pipefail

die() { echo "get-uacme: ERROR: $*" >&2; exit 1; }

if [ -n "${UACME_BIN:-}" ]; then
  [ -x "$UACME_BIN" ] || die "UACME_BIN=$UACME_BIN is not an executable"
  echo "get-uacme: uacme: $UACME_BIN"
  exit 0
fi

have() { command -v uacme >/dev/null 2>&1; }

if have; then
  echo "get-uacme: uacme present: $(command -v uacme)"
  exit 0
fi
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install-no-start.sh" get-uacme uacme
have || die "uacme installed but no uacme binary on the PATH"
echo "get-uacme: installed $(uacme -V 2>&1 | head -n1)"
