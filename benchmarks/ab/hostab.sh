#!/bin/bash
# Interleaved A/B cold starts of the Micronaut and Reactor Netty (Spring Boot starter) HTTPS hosts with the JDK TLS
# provider (docs/micronaut.md, docs/spring-boot.md, docs/startup.md): fresh JVMs of MicronautColdStartMain (micronaut's
# test sources) and ReactorNettyColdStartMain (spring-boot-tests-shared, run with the class path of spring-boot-tests-3,
# Netty 4.1, and of spring-boot-tests-4, Netty 4.2), every netty-tcnative jar left off the class path; the certificate
# is in the store already (a restart). A and B alternate first per round.
#
# Usage: benchmarks/ab/hostab.sh ROUNDS A_ROOT B_ROOT
#   A_ROOT / B_ROOT: two checkouts of this repository (e.g. `git worktree add /tmp/before <commit>` for A and this
#   one for B). The script compiles both (mvn -o test-compile of micronaut, spring-boot-tests-3 and -4 with what they
#   need; nothing is installed); the mains and the third-party class path come from B, the autocert4j classes of each
#   side from its own root.
# Prints per round each step's wall and process CPU ms, then per app and step the medians with min..max and the load.
set -u
ROUNDS=$1; A=$(cd "$2" && pwd); B=$(cd "$3" && pwd)
MODS=micronaut,spring-boot-tests-3,spring-boot-tests-4
(cd "$A" && nice -n 19 mvn -B -q -o -pl $MODS -am test-compile) || exit 1
(cd "$B" && nice -n 19 mvn -B -q -o -pl $MODS -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/test.classpath -Dmdep.includeScope=test) || exit 1
W=$(mktemp -d /tmp/hostab.XXXX)
# class path of module $1 for side root $2: its classes, the dependencies (B's reactor dirs moved to $2, no tcnative),
# B's test classes of the module (the main)
cp_of() {
  echo "$2/$1/target/classes:$(tr ':' '\n' < "$B/$1/target/test.classpath" | grep -v tcnative | sed "s#^$B/#$2/#" | paste -sd:):$B/$1/target/test-classes"
}
declare -A MAIN=([mn]=io.github.autocert4j.micronaut.MicronautColdStartMain
                 [rn3]=io.github.autocert4j.spring.boot.ReactorNettyColdStartMain
                 [rn4]=io.github.autocert4j.spring.boot.ReactorNettyColdStartMain)
declare -A MOD=([mn]=micronaut [rn3]=spring-boot-tests-3 [rn4]=spring-boot-tests-4)
for app in mn rn3 rn4; do
  for side in A B; do
    root=${!side}
    cp_of "${MOD[$app]}" "$root" > "$W/$app.$side.cp"
  done
  nice -n 19 java -cp "$(cat "$W/$app.B.cp")" "${MAIN[$app]}" prepare "$W/store-$app" > "$W/prepare-$app.log" 2>&1 \
    || { echo "prepare $app failed: $W/prepare-$app.log" >&2; exit 1; }
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
one() { # app side
  local out; out=$(nice -n 19 java -cp "$(cat "$W/$1.$2.cp")" "${MAIN[$1]}" run "$W/store-$1" 2>"$W/$1.$2.err")
  echo "$1 $2 load=$(cut -d' ' -f1 /proc/loadavg) $(echo "$out" | awk '/^T /{printf "%s=%d/%d ", $2, $3, $4}')"
}
for r in $(seq 1 "$ROUNDS"); do
  for app in mn rn3 rn4; do
    if [ $((r % 2)) -eq 1 ]; then one $app A; one $app B; else one $app B; one $app A; fi
  done
done | tee "$W/all.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); class paths, stores and each run's stderr in $W"
python3 - "$W/all.txt" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list); loads = []
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) < 3:
        continue
    loads.append(float(p[2].split('=')[1]))
    for kv in p[3:]:
        step, v = kv.split('=')
        wall, cpu = map(int, v.split('/'))
        runs[(p[0], step, p[1])].append((wall, cpu))
def fmt(xs):
    return f"{statistics.median(xs):.0f} ({min(xs)}..{max(xs)})"
for (app, step, side), v in sorted(runs.items()):
    print(f"{app:4} {step:22} {side} n={len(v)}  wall ms {fmt([w for w, _ in v]):18} process CPU ms {fmt([c for _, c in v])}")
print(f"load average (1 min) at the runs: median {statistics.median(loads):.2f} ({min(loads):.2f}..{max(loads):.2f})")
PY
