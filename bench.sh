#!/usr/bin/env bash
# bench.sh - build the benchmarks module, run every benchmark section, write benchmarks/results.json
# (machine-readable, with the commit) and benchmarks/RESULTS.md (tables and details of this run only).
#
#   ./bench.sh                   full run: about 25 minutes on 2 cores nobody else uses (up to about an hour when
#                                noisy sections are repeated); the first run also writes a 100,000-certificate store
#                                under benchmarks/target/scale-store and a 1,000,000-certificate on-demand store under
#                                benchmarks/target/ondemand-store (7-13 minutes more, 13 GB), both reused later
#   BENCH_QUICK=1 ./bench.sh     smoke run (short rounds, smaller N; figures not meaningful, marked so)
#   BENCH_FORCE=1 ./bench.sh     run even with uncommitted changes (results.json then says "dirty": true)
#   BENCH_SECTIONS="swap renewal" ./bench.sh   only these sections (the others' rows say "not measured")
#   BENCH_LOAD_MAX=1.5 BENCH_FOREIGN_MAX=0.15 BENCH_RETRIES=2 BENCH_SETTLE_S=180   the noise rule (defaults shown)
#   BENCH_JAVA25=/path/to/java   the Java 25 of the AOT-cache row (default: /usr/lib/jvm/temurin-25-jdk-amd64)
#
# Refuses to run from a tree with uncommitted changes (other than its own outputs), so every published figure
# belongs to a commit. Every section runs in its own JVM under `timeout`, so the whole run is bounded, and every
# row is written even when its section fails (status "failed" and the reason). Each section records the load
# average before and after and the CPU other processes took meanwhile; a noisy section is repeated (bounded) and
# its rows are never "met". Method and row definitions: docs/benchmarks.md. The table of docs/measured.md:
# `./bench.sh table`.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)
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
  timeout 1800 mvn -q "$@" -pl benchmarks -am package dependency:copy-dependencies dependency:tree -DskipTests \
      -DoutputDirectory=target/lib -DincludeScope=runtime -DoutputFile=target/deptree.txt -Dscope=runtime \
      dependency:build-classpath -Dmdep.outputFile=target/runtime.classpath
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
# As a jar too: class-data sharing (AppCDS, the AOT cache) archives classes from jars only, never from a directory.
jar cf "$lib/bench-classes.jar" -C "$lib/bench-classes" . || { echo "jar failed" >&2; exit 1; }
cp=$(ls "$lib"/*.jar | tr '\n' ':')
cp=${cp%:}
# The README's Netty quickstart dependencies (autocert4j-netty and what it brings, nothing the benchmarks add): the
# anchors section runs the library's server on exactly this class path (plus the benchmark classes and slf4j-simple).
# Optional dependencies of autocert4j-netty (and everything under them in its dependency tree) never reach a user's
# class path, so they are left out here, as they would be there.
mkdir -p "$lib/quickstart"
cp netty-adapter/target/lib/*.jar netty-adapter/target/autocert4j-netty-*.jar "$lib/quickstart/" 2>/dev/null
rm -f "$lib"/quickstart/*-sources.jar "$lib"/quickstart/*-javadoc.jar
awk '{ match($0, /[a-zA-Z]/); d = RSTART
       if (skip && d > skipd) { split(substr($0, d), a, ":"); print a[2]; next }
       skip = 0
       if ($0 ~ /\(optional\)/) { skip = 1; skipd = d; split(substr($0, d), a, ":"); print a[2] } }' netty-adapter/target/deptree.txt \
  | sort -u | while read -r artifact; do [ -n "$artifact" ] && rm -f "$lib/quickstart/$artifact"-[0-9]*.jar; done
# Any other dependency the README's Netty quickstart block declares without marking it optional (e.g. netty-tcnative
# once it is the default) is added, from the benchmarks' own copies.
awk '/^## Quickstart: Netty/{q=1} q&&/^```xml/{x=1;next} x&&/^```/{exit} x' README.md \
  | awk '/<!--.*optional/{opt=1} /<artifactId>/{gsub(/.*<artifactId>|<\/artifactId>.*/, ""); if (!opt && $0 != "autocert4j-netty") print; opt=0}' \
  | while read -r artifact; do
      cp "$lib/$artifact"-[0-9]*.jar "$lib/quickstart/" 2>/dev/null || echo "README quickstart dependency $artifact: no jar in $lib" >&2
      case $artifact in netty-tcnative*) cp "$lib"/netty-tcnative-classes-[0-9]*.jar "$lib/quickstart/" 2>/dev/null ;; esac
    done
echo "quickstart class path (README Netty quickstart, optional dependencies left out): $(ls "$lib/quickstart" | tr '\n' ' ')"
# In Maven's order, as `mvn exec:java` or a launcher script made from `dependency:build-classpath` gives it to a user:
# autocert4j-netty, then its runtime class path as Maven lists it (jars the README adds come after). Not the alphabetical
# order of a directory listing (the benchmark's until 2026-12-07, which put netty-tcnative's seven jars in front of
# netty-transport): the JVM looks each class up in every jar in front of its own, so the order is part of what a cold
# start costs (docs/startup.md).
[ -s netty-adapter/target/runtime.classpath ] || { echo "no netty-adapter/target/runtime.classpath (dependency:build-classpath in the build above): the cold-start child's class path would not be Maven's order" >&2; exit 1; }
quickstart_cp=""
for jar in "$lib"/quickstart/autocert4j-netty-*.jar \
    $(tr ':' '\n' < netty-adapter/target/runtime.classpath | sed 's#.*/##; s#^#'"$lib"'/quickstart/#') "$lib"/quickstart/*.jar; do
  [ -f "$jar" ] && case ":$quickstart_cp" in *":$jar:"*) ;; *) quickstart_cp="$quickstart_cp$jar:" ;; esac
done
echo "quickstart class path order: $(echo "$quickstart_cp" | tr ':' '\n' | sed 's#.*/##' | tr '\n' ' ')"
quickstart_cp="$quickstart_cp$lib/bench-classes.jar:$(ls "$lib"/slf4j-simple-*.jar | head -n 1)"

echo "== pebble"
timeout 600 bash scripts/get-pebble.sh || echo "get-pebble.sh failed; the sections that need Pebble will report the error"
timeout 600 bash scripts/get-postgres.sh || echo "get-postgres.sh failed; the storeops section will report the error"
timeout 600 bash scripts/get-uacme.sh || echo "get-uacme.sh failed; the cold-start section reports the missing uacme in its rows"
timeout 600 bash scripts/get-caddy.sh || echo "get-caddy.sh failed; the anchors section reports the missing caddy in its rows"

{
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(free -h | awk '/^Mem:/{print $2}') total"
  echo "kernel: $(uname -sr)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "uacme: $(uacme -V 2>&1 | head -1)"
  echo "caddy: $(caddy version 2>&1 | head -1)"
  echo "java 25 (AOT cache): $(${BENCH_JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java} -version 2>&1 | head -1)"
  java -version 2>&1
} > "$out/machine.txt"

quick=false
[ "${BENCH_QUICK:-0}" = 1 ] && quick=true
jvm=(java -Dbench.quick=$quick -Dbench.quickstartCp="$quickstart_cp" -Dbench.java25="${BENCH_JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true
     -XX:+UseG1GC -cp "$cp")

# Noise control (docs/benchmarks.md "Noise"): before each section wait (bounded) for the 1-min load average to fall under
# BENCH_LOAD_MAX; measure the CPU other processes took while it ran (all of /proc/stat's busy time minus the CPU time of this
# shell's reaped children, i.e. the section's JVM and everything it started and waited for); a section that started above the
# load threshold or met more foreign CPU than BENCH_FOREIGN_MAX is noisy and runs again, at most BENCH_RETRIES more times.
load_max=${BENCH_LOAD_MAX:-1.5}
foreign_max=${BENCH_FOREIGN_MAX:-0.15}
retries=${BENCH_RETRIES:-2}
settle_s=${BENCH_SETTLE_S:-180}
hz=$(getconf CLK_TCK)
cpus=$(nproc)
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
own_ticks() { awk '{print $16+$17}' /proc/$$/stat; }   # cutime + cstime of this shell: every child it waited for, recursively
load3() { cut -d' ' -f1-3 /proc/loadavg; }
above() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a+0 >= b+0)}'; }
settle() {
  local waited=0
  while above "$(cut -d' ' -f1 /proc/loadavg)" "$load_max" && [ "$waited" -lt "$settle_s" ]; do sleep 5; waited=$((waited + 5)); done
}

failed=()
noisy_sections=()
run() { # section timeout-seconds heap [extra JVM flags]
  local section=$1 limit=$2 heap=$3 t0=$(date +%s)
  local extra=("${@:4}")
  if [ -n "${BENCH_SECTIONS:-}" ] && [[ " $BENCH_SECTIONS " != *" $section "* ]]; then
    return
  fi
  local try=0 rc=0 best="" bestf=""
  while :; do
    try=$((try + 1))
    settle
    local lb b0 o0 n0 la b1 o1 n1 foreign noisy=false why="" reason=""
    lb=$(load3); b0=$(busy_ticks); o0=$(own_ticks); n0=$(date +%s%N)
    echo "== $section (try $try, limit ${limit}s, load before: $lb)"
    rm -f "$out/$section.json" "$out/$section.md"
    timeout --kill-after=10 "$limit" "${jvm[@]}" -Xmx"$heap" -Xms"$heap" "${extra[@]}" io.github.autocert4j.benchmarks.Bench "$section" "$out" \
      > "$out/$section.log" 2>&1
    rc=$?
    la=$(load3); b1=$(busy_ticks); o1=$(own_ticks); n1=$(date +%s%N)
    foreign=$(awk -v b=$((b1 - b0)) -v o=$((o1 - o0)) -v t=$((n1 - n0)) -v hz="$hz" -v n="$cpus" \
      'BEGIN{f=(b-o)/(t/1e9*hz*n); if(f<0)f=0; printf "%.3f", f}')
    if above "${lb%% *}" "$load_max"; then noisy=true; why="1-min load average ${lb%% *} >= $load_max at the start"; fi
    if above "$foreign" "$foreign_max"; then noisy=true; why="${why:+$why; }other processes used $foreign of the $cpus cores (>= $foreign_max)"; fi
    if [ $rc -ne 0 ]; then
      reason="exit $rc$([ $rc -eq 124 ] && echo " (timeout after ${limit} s)"); last line: $(grep -v '^\s*$' "$out/$section.log" | tail -n 1 | cut -c1-300)"
    fi
    {
      echo "rc=$rc"; echo "reason=$reason"; echo "load_before=$lb"; echo "load_after=$la"; echo "foreign_cpu=$foreign"
      echo "noisy=$noisy"; echo "noisy_reason=$why"; echo "tries=$try"; echo "seconds=$(( (n1 - n0) / 1000000000 ))"
    } > "$out/$section.ctx"
    for f in json md log ctx; do [ -f "$out/$section.$f" ] && cp "$out/$section.$f" "$out/$section.try$try.$f"; done
    grep '^\[bench' "$out/$section.log" | tail -n 40
    echo "   ($section try $try: exit $rc, load $lb -> $la, foreign CPU $foreign$($noisy && echo ", NOISY: $why"))"
    if [ $rc -eq 0 ] && { [ -z "$bestf" ] || above "$bestf" "$foreign"; }; then best=$try; bestf=$foreign; fi
    if [ $rc -ne 0 ]; then
      failed+=("$section"); echo "section $section failed ($reason); last lines:"; tail -n 30 "$out/$section.log"; break
    fi
    $noisy || break
    if [ "$try" -gt "$retries" ]; then noisy_sections+=("$section"); break; fi
  done
  # Report the last try if it was clean; if every try was noisy, or a repeat failed after a noisy try that worked,
  # the working try with the least foreign CPU (its rows stay noisy).
  if [ $rc -ne 0 ] && [ -n "$best" ]; then
    echo "   ($section: try $try failed after a noisy try that worked; reporting try $best, noisy)"
    unset 'failed[${#failed[@]}-1]'
    noisy_sections+=("$section")
    rc=0 noisy=true
  fi
  if [ $rc -eq 0 ] && $noisy && [ -n "$best" ] && [ "$best" != "$try" ]; then
    for f in json md log ctx; do [ -f "$out/$section.try$best.$f" ] && cp "$out/$section.try$best.$f" "$out/$section.$f"; done
    sed -i "s/^tries=.*/tries=$try/" "$out/$section.ctx"
  fi
  echo "   ($section took $(( $(date +%s) - t0 )) s)"
}

run handshake 420 1g  # 11 socket rounds and 15 engine rounds per provider: about 3.5 min
run swap 150 1g
run renewal 420 1g
run issuance 150 1g
# Cold start vs uacme, no proxy in between: plain Java 17, AppCDS on 17 and the AOT cache on 25 (training runs included).
run coldstart 600 1g
run scale 900 3g -XX:+AlwaysPreTouch  # pre-touched heap: resident growth is native memory
run storeops 600 1g   # PostgreSQL store vs file store; 3 nodes starting with 10,000 certificates each from PostgreSQL; encryption at rest
# On-demand TLS: first handshakes against Pebble, then 1,000,000 stored on-demand certificates. The limit also covers
# the one-time generation of that store (benchmarks/target/ondemand-store, reused for 25 days); later runs take about 5 min.
run ondemand 1800 2g
# Anchors: Caddy (Debian package) beside the library's Netty server with the README quickstart's dependencies.
run anchors 600 1g
# ondemand_loaded_handshake_vs_static: a section class *Loaded*Bench in the benchmarks module, when there is one.
loaded_class=$(cd "$lib/bench-classes" 2>/dev/null && ls io/github/autocert4j/benchmarks/*Loaded*Bench.class 2>/dev/null | head -n 1 \
  | sed 's/\.class$//; s#/#.#g')
if [ -n "$loaded_class" ]; then
  run loaded 300 1g -Dbench.sectionClass="$loaded_class"
fi

elapsed=$(( $(date +%s) - started ))
cat > "$out/meta.properties" <<META
commit=$commit
dirty=$dirty
quick=$quick
date=$(date -u +%Y-%m-%dT%H:%MZ)
seconds=$elapsed
load_max=$load_max
foreign_max=$foreign_max
retries=$retries
settle_s=$settle_s
META
timeout 300 "${jvm[@]}" io.github.autocert4j.benchmarks.Bench report "$out" benchmarks > "$out/report.log" 2>&1 \
  || { echo "report failed:"; cat "$out/report.log"; exit 1; }
echo
cat "$out/report.log"
echo "wrote benchmarks/results.json and benchmarks/RESULTS.md (${elapsed} s, commit ${commit:0:12}$($dirty && echo ', DIRTY'))"
[ ${#noisy_sections[@]} -eq 0 ] || echo "noisy sections (every try; their rows are never 'met'): ${noisy_sections[*]}" >&2
[ ${#failed[@]} -eq 0 ] || { echo "failed sections: ${failed[*]}" >&2; exit 1; }
