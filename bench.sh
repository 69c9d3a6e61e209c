#!/usr/bin/env bash
# bench.sh - build the benchmarks module, run every benchmark section, write benchmarks/results.json
# (machine-readable, with the commit) and benchmarks/RESULTS.md (tables and details of this run only).
#
#   ./bench.sh                   full run (about 11 minutes on 2 cores; the first run also writes a
#                                100,000-certificate store under benchmarks/target/scale-store and a
#                                1,000,000-certificate on-demand store under benchmarks/target/ondemand-store
#                                (about 7 minutes more, 13 GB), both reused later)
#   BENCH_QUICK=1 ./bench.sh     smoke run (short rounds, smaller N; figures not meaningful, marked so)
#   BENCH_FORCE=1 ./bench.sh     run even with uncommitted changes (results.json then says "dirty": true)
#   BENCH_SECTIONS="swap renewal" ./bench.sh   only these sections (the report lists the others as missing)
#
# Refuses to run from a tree with uncommitted changes (other than its own outputs), so every published figure
# belongs to a commit. Every section runs in its own JVM under `timeout`, so the whole run is bounded.
# Method and row definitions: docs/benchmarks.md. The table of docs/measured.md: `./bench.sh table`.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"
out=benchmarks/target/results
lib=benchmarks/target/lib
started=$(date +%s)

if [ "${1:-}" = table ]; then
  cp=$(ls "$lib"/*.jar 2>/dev/null | tr '\n' ':')"$lib/bench-classes"
  exec java -cp "$cp" io.github.autocert4j.benchmarks.Bench table benchmarks/results.json
fi

# The run's own outputs (and the Pebble binaries) do not make the tree dirty.
dirty_files=$(git status --porcelain 2>/dev/null | grep -v -E '^.. (benchmarks/results\.json|benchmarks/RESULTS\.md|\.pebble/?)$' || true)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
dirty=false
if [ -n "$dirty_files" ] || [ "$commit" = unknown ]; then
  dirty=true
  if [ "${BENCH_FORCE:-0}" != 1 ]; then
    echo "refusing to benchmark a tree with uncommitted changes (figures must belong to a commit):" >&2
    echo "$dirty_files" | head -20 >&2
    echo "commit them, or run with BENCH_FORCE=1 (results.json then records \"dirty\": true)" >&2
    exit 2
  fi
  echo "BENCH_FORCE=1: benchmarking commit $commit WITH uncommitted changes"
fi

echo "== build (reactor, nothing installed into ~/.m2)"
build() {
  mvn -q "$@" -pl benchmarks -am package dependency:copy-dependencies -DskipTests \
      -DoutputDirectory=target/lib -DincludeScope=runtime
}
rm -rf "$lib" "$out"
if ! build -o; then
  echo "offline build failed; retrying online"
  build || { echo "build failed" >&2; exit 1; }
fi
mkdir -p "$out"
# Snapshot of the class path: copies, so a rebuild meanwhile cannot change classes mid-run.
cp -r benchmarks/target/classes "$lib/bench-classes"
rm -f "$lib"/autocert4j-benchmarks-*.jar
cp=$(ls "$lib"/*.jar | tr '\n' ':')"$lib/bench-classes"

echo "== pebble"
bash scripts/get-pebble.sh || echo "get-pebble.sh failed; the sections that need Pebble will report the error"
bash scripts/get-postgres.sh || echo "get-postgres.sh failed; the storeops section will report the error"
command -v uacme >/dev/null || { echo "uacme missing: installing it for the cold-start comparison"; { apt-get update -qq && apt-get install -y -qq uacme; } >/dev/null 2>&1 || echo "cannot install uacme; the cold-start section reports it"; }

{
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(free -h | awk '/^Mem:/{print $2}') total"
  echo "kernel: $(uname -sr)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "uacme: $(uacme -V 2>&1 | head -1)"
  java -version 2>&1
} > "$out/machine.txt"

quick=false
[ "${BENCH_QUICK:-0}" = 1 ] && quick=true
jvm=(java -Dbench.quick=$quick -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true
     -XX:+UseG1GC -cp "$cp")

failed=()
run() { # section timeout-seconds heap [extra JVM flags]
  local section=$1 limit=$2 heap=$3 t0=$(date +%s)
  local extra=("${@:4}")
  if [ -n "${BENCH_SECTIONS:-}" ] && [[ " $BENCH_SECTIONS " != *" $section "* ]]; then
    return
  fi
  echo "== $section (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "${jvm[@]}" -Xmx"$heap" -Xms"$heap" "${extra[@]}" io.github.autocert4j.benchmarks.Bench "$section" "$out" \
    > "$out/$section.log" 2>&1
  local rc=$?
  grep '^\[bench' "$out/$section.log" | tail -n 40
  [ $rc -eq 0 ] || { failed+=("$section"); echo "section $section failed (exit $rc); last lines:"; tail -n 30 "$out/$section.log"; }
  echo "   ($section took $(( $(date +%s) - t0 )) s)"
}

run handshake 300 1g
run swap 150 1g
run renewal 420 1g
run issuance 150 1g
run coldstart 300 1g
run scale 660 3g -XX:+AlwaysPreTouch  # pre-touched heap: resident growth is native memory
run storeops 600 1g   # PostgreSQL store vs file store; 3 nodes starting with 10,000 certificates each from PostgreSQL
# On-demand TLS: first handshakes against Pebble, then 1,000,000 stored on-demand certificates. The limit also covers
# the one-time generation of that store (benchmarks/target/ondemand-store, reused for 25 days); later runs take about 4 min.
run ondemand 1800 2g

elapsed=$(( $(date +%s) - started ))
cat > "$out/meta.properties" <<META
commit=$commit
dirty=$dirty
quick=$quick
date=$(date -u +%Y-%m-%dT%H:%MZ)
seconds=$elapsed
META
"${jvm[@]}" io.github.autocert4j.benchmarks.Bench report "$out" benchmarks > "$out/report.log" 2>&1 \
  || { echo "report failed:"; cat "$out/report.log"; exit 1; }
echo
cat "$out/report.log"
echo "wrote benchmarks/results.json and benchmarks/RESULTS.md (${elapsed} s, commit ${commit:0:12}$($dirty && echo ', DIRTY'))"
[ ${#failed[@]} -eq 0 ] || { echo "failed sections: ${failed[*]}" >&2; exit 1; }
