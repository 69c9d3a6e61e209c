#!/usr/bin/env bash
# apt-install-no-start.sh TAG PACKAGE - install a Debian package without starting its system service.
#
# The test servers (Knot, nginx) are run by the tests themselves as child processes on loopback; the
# package's own service would sit on a system port (53, 80). While installing, a temporary policy-rc.d
# denies service starts, unless the host already has one. Runs `apt-get update` only if the plain install
# fails (a clean machine may have no or stale package lists). Needs root. Messages are prefixed with TAG.
set -euo pipefail
tag=$1
package=$2
die() { echo "$tag: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "$package is missing and this is not root: run 'sudo apt-get install -y $package' or re-run this script as root"
command -v apt-get >/dev/null || die "apt-get not found: install $package with your package manager"

policy=/usr/sbin/policy-rc.d
added_policy=0
cleanup() { if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# %s: no service starts while installing %s\nexit 101\n' "$tag" "$package" > "$policy"
  chmod 755 "$policy"
  added_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "$package" >/dev/null 2>&1; then
  apt-get update -q || die "apt-get update failed"
  apt-get install -y -q --no-install-recommends "$package" || die "apt-get install $package failed"
fi
