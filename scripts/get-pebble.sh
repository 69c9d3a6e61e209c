#!/usr/bin/env bash
# get-pebble.sh - make sure the Pebble ACME test server binaries used by the testkit exist under <repo>/.pebble/.
#
# Unpacks the Debian `pebble` package (Pebble + pebble-challtestsrv, static Go binaries needing only libc)
# of several Debian suites, without touching the system's apt sources:
#   .pebble/bookworm/usr/bin/  Pebble 2.4.0  (Debian 12; no ARI, no profiles)       -> Flavor.DEBIAN_12
#   .pebble/trixie/usr/bin/    Pebble 2.6.0  (ARI renewalInfo, Retry-After)          -> Flavor.ARI
#   .pebble/forky/usr/bin/     Pebble 2.10.0 (ARI + certificate profiles)            -> Flavor.LATEST
# Idempotent: a suite whose binaries already exist is skipped. Run as root (apt-get, dpkg) on Debian.
# Exits non-zero with a clear message if any suite cannot be obtained (forky is checked first: most tests need it).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest_root="$repo/.pebble"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

die() { echo "get-pebble: ERROR: $*" >&2; exit 1; }

find_mirror() {
  local m=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    m=$(sed -n 's/^URIs: *\([^ ]*\/debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\/debian\)\/\? .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n1)
  fi
  [ -n "$m" ] || m=http://deb.debian.org/debian
  echo "$m"
}

have() { [ -x "$1/usr/bin/pebble" ] && [ -x "$1/usr/bin/pebble-challtestsrv" ]; }

# fetch SUITE DEST: download the suite's pebble .deb with a private apt configuration and unpack it into DEST.
fetch() {
  local suite=$1 dest=$2 work rc=0
  work=$(mktemp -d "${TMPDIR:-/tmp}/get-pebble.XXXXXX")
  (
    set -euo pipefail
    mkdir -p "$work"/{lists/partial,cache/archives/partial,etc/sources.list.d,etc/preferences.d,etc/apt.conf.d,dl}
    echo "deb [signed-by=$keyring] $mirror $suite main" > "$work/etc/sources.list"
    cat > "$work/apt.conf" <<CONF
Dir::Etc::sourcelist "$work/etc/sources.list";
Dir::Etc::sourceparts "$work/etc/sources.list.d";
Dir::Etc::preferencesparts "$work/etc/preferences.d";
Dir::Etc::parts "$work/etc/apt.conf.d";
Dir::State::lists "$work/lists";
Dir::State::status "/var/lib/dpkg/status";
Dir::Cache "$work/cache";
APT::Sandbox::User "root";
CONF
    export APT_CONFIG="$work/apt.conf"
    if ! apt-get -qq update 2>"$work/update.err" || grep -q '^E:' "$work/update.err"; then
      cat "$work/update.err" >&2
      if grep -qi 'expired' "$work/update.err"; then
        # A mirror/snapshot (or a skewed clock) can serve a Release file past its Valid-Until date.
        # Signatures are still checked; only the freshness check is relaxed, and only for this private config.
        echo "get-pebble: $suite: Release file reported expired; retrying with Acquire::Check-Valid-Until=false" >&2
        echo 'Acquire::Check-Valid-Until "false";' >> "$work/apt.conf"
        apt-get -qq update
      else
        exit 1
      fi
    fi
    (cd "$work/dl" && apt-get -qq download pebble)
    deb=$(ls "$work"/dl/pebble_*.deb 2>/dev/null | head -n1)
    [ -n "$deb" ] || { echo "get-pebble: no pebble .deb downloaded for $suite" >&2; exit 1; }
    # unpack into a staging dir first so that a half-unpacked tree never looks complete
    mkdir -p "$work/x"
    dpkg -x "$deb" "$work/x"
    [ -x "$work/x/usr/bin/pebble" ] && [ -x "$work/x/usr/bin/pebble-challtestsrv" ] \
      || { echo "get-pebble: $deb does not contain usr/bin/pebble and usr/bin/pebble-challtestsrv" >&2; exit 1; }
    mkdir -p "$dest"
    rm -rf "$dest/usr"
    mv "$work/x/usr" "$dest/usr"
    echo "get-pebble: unpacked $(basename "$deb")" >&2
  ) || rc=$?
  rm -rf "$work"
  return $rc
}

[ -f "$keyring" ] || die "$keyring missing: install debian-archive-keyring (apt-get install debian-archive-keyring)"
command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "apt-get and dpkg are required (Debian/Ubuntu host)"
mirror=$(find_mirror)

failed=()
for suite in bookworm forky trixie; do
  dest="$dest_root/$suite"
  if ! have "$dest"; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "get-pebble: $suite: not present and not running as root; re-run as root" >&2
      failed+=("$suite"); continue
    fi
    if ! fetch "$suite" "$dest" || ! have "$dest"; then
      echo "get-pebble: $suite: could not download/unpack the pebble package from $mirror" >&2
      failed+=("$suite"); continue
    fi
  fi
  echo "$suite: $dest/usr/bin/pebble"
done

# report forky first: it is the one most tests need
for want in forky bookworm trixie; do
  case " ${failed[*]+"${failed[*]}"} " in *" $want "*) ;; *) continue;; esac
  case $want in
    forky)    die "could not get Pebble 2.10.0 (Debian forky) into $dest_root/forky - needed for Flavor.LATEST (ARI + profiles)";;
    bookworm) die "could not get Pebble 2.4.0 (Debian bookworm) into $dest_root/bookworm - needed for Flavor.DEBIAN_12";;
    trixie)   die "could not get Pebble 2.6.0 (Debian trixie) into $dest_root/trixie - needed for Flavor.ARI";;
  esac
done
exit 0
