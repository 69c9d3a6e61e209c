#!/usr/bin/env bash
# bench.sh - build the benchmarks module, run every benchmark section and write benchmarks/RESULTS.md.
#
#   ./bench.sh            full run (about 10 minutes on 2 cores; the first run also writes a
#                         100,000-certificate store under benchmarks/target/scale-store, reused later)
#   BENCH_QUICK=1 ./bench.sh   smoke run (short rounds, smaller N; results are not meaningful)
#
# Every section runs in its own JVM under `timeout`, so the whole run is bounded (< 20 min).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"
out=benchmarks/target/results
lib=benchmarks/target/lib
started=$(date +%s)

echo "== build"
if ! mvn -q -o install -DskipTests -pl testkit,core,netty-adapter,postgres-store,benchmarks -am; then
  echo "offline build failed; retrying online"
  mvn -q install -DskipTests -pl testkit,core,netty-adapter,postgres-store,benchmarks -am || { echo "build failed" >&2; exit 1; }
fi
# Snapshot of the class path: copies, so concurrent installs into ~/.m2 cannot change jars mid-run.
rm -rf "$lib" "$out"
mkdir -p "$lib" "$out"
mvn -q -o dependency:copy-dependencies -DoutputDirectory=target/lib -DincludeScope=runtime -pl benchmarks \
  || mvn -q dependency:copy-dependencies -DoutputDirectory=target/lib -DincludeScope=runtime -pl benchmarks \
  || { echo "cannot resolve the benchmark class path" >&2; exit 1; }
cp -r benchmarks/target/classes "$lib/bench-classes"
cp=$(ls "$lib"/*.jar | tr '\n' ':')"$lib/bench-classes"

echo "== pebble"
bash scripts/get-pebble.sh || echo "get-pebble.sh failed; the issuance section will report the error"
bash scripts/get-postgres.sh || echo "get-postgres.sh failed; the storeops section will report the error"

{
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(free -h | awk '/^Mem:/{print $2}') total"
  echo "kernel: $(uname -sr)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  java -version 2>&1
} > "$out/machine.txt"

quick=false
[ "${BENCH_QUICK:-0}" = 1 ] && quick=true
jvm=(java -Dbench.quick=$quick -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true
     -XX:+UseG1GC -cp "$cp")

run() { # section timeout-seconds heap
  local section=$1 limit=$2 heap=$3 t0=$(date +%s)
  echo "== $section (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "${jvm[@]}" -Xmx"$heap" -Xms"$heap" io.github.autocert4j.benchmarks.Bench "$section" "$out" \
    > "$out/$section.log" 2>&1
  local rc=$?
  grep '^\[bench' "$out/$section.log" | tail -n 40
  [ $rc -eq 0 ] || { echo "section $section failed (exit $rc); last lines:"; tail -n 30 "$out/$section.log"; }
  echo "   ($section took $(( $(date +%s) - t0 )) s)"
}

run handshake 300 1g
run swap 180 1g
run issuance 150 1g
run scale 510 6g
run storeops 600 1g   # PostgreSQL store vs file store; 3 nodes starting with 10,000 certificates each from PostgreSQL

elapsed=$(( $(date +%s) - started ))
cat > "$out/meta.txt" <<META
Produced by \`./bench.sh\` (at the repository root$( $quick && echo ", BENCH_QUICK=1: smoke run, not meaningful")) on $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo " + uncommitted changes"); whole run ${elapsed} s including the build.
The harness is a plain Java program (\`benchmarks/src/main/java/io/github/autocert4j/benchmarks/Bench.java\`), one JVM per section; all traffic is on 127.0.0.1 and client and server share the machine's cores, so absolute rates are low and only the ratios measured within one run are meaningful.
META
"${jvm[@]}" io.github.autocert4j.benchmarks.Bench report "$out" benchmarks/RESULTS.md > "$out/report.log" 2>&1 \
  || { echo "report failed:"; cat "$out/report.log"; exit 1; }
echo
sed -n '/^## Summary/,/^## 1\./p' benchmarks/RESULTS.md | sed '$d'
echo "wrote benchmarks/RESULTS.md (${elapsed} s)"
