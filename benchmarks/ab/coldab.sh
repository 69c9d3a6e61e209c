#!/bin/bash
# Interleaved A/B cold starts (docs/startup.md): fresh JVMs of the benchmark's ColdStartChild (the README Netty quickstart,
# empty store, until its first certificate is live) against one Pebble, A and B alternating first per round.
# Needs benchmarks/target/lib as ./bench.sh's build step leaves it (run ./bench.sh once, or its build step).
#
# Usage: benchmarks/ab/coldab.sh ROUNDS A_JARDIR B_JARDIR [extra java flags for both]
#   A_JARDIR / B_JARDIR: directories holding the autocert4j-core-*.jar and autocert4j-netty-*.jar to compare
#   (e.g. benchmarks/target/lib/quickstart as "before" and a copy of freshly packaged core/target and netty-adapter/target
#   jars as "after").
# Per variant (V = A or B), optional environment:
#   CP_V      the rest of the class path, ':'-terminated (default: the quickstart's other jars in Maven's order, as bench.sh)
#   FLAGS_V   JVM flags of that variant only
#   CHILD_V   main class (default io.github.autocert4j.benchmarks.ColdStartChild)
#   BENCHJAR  the benchmark classes' jar (default benchmarks/target/lib/bench-classes.jar)
# Prints per round the ms from spawn to each of the child's marks and its CPU (user + sys), then medians and the
# per-round B - A medians with min..max and how many rounds B was lower; the load average before and after.
set -u
ROUNDS=$1; A=$2; B=$3; shift 3
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
L=$REPO/benchmarks/target/lib
[ -d "$L/quickstart" ] || { echo "no $L/quickstart. Fix: run ./bench.sh (its build step fills it)" >&2; exit 1; }
DEFAULT_CP=""
for jar in $(tr ':' '\n' < "$REPO/netty-adapter/target/runtime.classpath" | sed 's#.*/##; s#^#'"$L"'/quickstart/#') "$L"/quickstart/*.jar; do
  case $jar in */autocert4j-*) continue ;; esac
  [ -f "$jar" ] && case ":$DEFAULT_CP" in *":$jar:"*) ;; *) DEFAULT_CP="$DEFAULT_CP$jar:" ;; esac
done
TAIL=${BENCHJAR:-$L/bench-classes.jar}:$(ls "$L"/slf4j-simple-*.jar | head -n 1)
W=$(mktemp -d /tmp/coldab.XXXX)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
ALL=$(ls "$L"/*.jar | tr '\n' ':')
javac -cp "$ALL" -d "$W" "$REPO/benchmarks/ab/RunPebble.java" || exit 1
(cd "$REPO" && exec java -cp "$ALL:$W" RunPebble "$PORT") > "$W/pebble.out" 2>&1 &
PEBBLE=$!
trap 'kill $PEBBLE 2>/dev/null' EXIT
for i in $(seq 1 100); do [ -s "$W/pebble.out" ] && break; sleep 0.2; done
read -r D CA < "$W/pebble.out"
echo "pebble: $D (load $(cut -d' ' -f1-3 /proc/loadavg))"
one() { # label jardir
  local st=$W/st$RANDOM; local s; s=$(date +%s%3N)
  local cpv=CP_$1 flv=FLAGS_$1 chv=CHILD_$1
  local cp; cp=$(ls "$2"/autocert4j-*.jar | tr '\n' ':')${!cpv:-$DEFAULT_CP}$TAIL
  local out
  # shellcheck disable=SC2086
  out=$(/usr/bin/time -o "$st.time" -f "CPU %U %S" java "${EXTRA[@]}" ${!flv:-} -cp "$cp" ${!chv:-io.github.autocert4j.benchmarks.ColdStartChild} \
        "$D" "$CA" "$PORT" "$st" "n$RANDOM.autocert4j.test" 2>"$st.err"; cat "$st.time")
  echo "$1 $(echo "$out" | awk -v s="$s" '/^T /{printf "%s=%d ", $2, $3-s} /^CPU/{printf "cpu=%.2f", $2+$3}')"
}
EXTRA=("$@")
[ ${#EXTRA[@]} -eq 0 ] && EXTRA=(-Dcoldab=1)
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then one A "$A"; one B "$B"; else one B "$B"; one A "$A"; fi
done | tee "$W/all.txt"
python3 - "$W/all.txt" <<'PY'
import sys, statistics
rows = {'A': [], 'B': []}
for line in open(sys.argv[1]):
    p = line.split()
    if p and p[0] in rows:
        rows[p[0]].append(dict(kv.split('=') for kv in p[1:] if '=' in kv))
keys = ['main', 'built', 'listening', 'started', 'https', 'live', 'cpu']
for l in 'AB':
    out = []
    for k in keys:
        v = sorted(float(d[k]) for d in rows[l] if k in d)
        if v: out.append("%s=%s [%s..%s]" % (k, statistics.median(v), v[0], v[-1]))
    print(l, "median of", len(rows[l]), ":", " ".join(out))
for k in keys:
    d = sorted(float(b[k]) - float(a[k]) for a, b in zip(rows['A'], rows['B']) if k in a and k in b)
    if d: print("B-A %s: median %s [%s..%s], B lower in %d/%d" % (k, statistics.median(d), d[0], d[-1], sum(x < 0 for x in d), len(d)))
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
