package io.github.autocert4j.benchmarks;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a cold-start child's CPU went, by thread group, printed after its {@code live} mark (so not part of the measured
 * time) for {@link ColdStartBench}'s "CPU by thread" table: a class of its own so that {@link ColdStartChild}'s
 * verification before {@code main} loads none of it.
 *
 * <pre>{@code
 * ColdStartThreadCpu.print();   // prints e.g. "C C2_JIT_compiler 610", "C main 630", ...
 * }</pre>
 */
final class ColdStartThreadCpu {
    private ColdStartThreadCpu() {
    }

    /**
     * Prints {@code C <group> <ms>} per group of this process's threads: the CPU (user + system) each group used from
     * spawn to now, read from Linux's {@code /proc/self/task/<tid>/stat}, in clock ticks taken as 10 ms (USER_HZ, which
     * Linux exports as 100 on x86-64 and arm64); then {@code ended threads} (the process total of {@code /proc/self/stat},
     * read after the scan, less the living threads: an upper bound, as the living ones run on during the scan),
     * {@code this reading} (the process total after the scan less before it: what the scan itself and the threads
     * running meanwhile used) and {@code process total}. A thread whose file cannot be read (it ended) is left out.
     * Nothing on other systems.
     */
    static void print() {
        File[] tasks = new File("/proc/self/task").listFiles();
        long before = processTicks();
        if (tasks == null || before < 0) {
            return;
        }
        Map<String, Long> groups = new TreeMap<>();
        long living = 0;
        for (File task : tasks) {
            String[] nameAndTicks = ticks(task.toPath().resolve("stat"));
            if (nameAndTicks == null) {
                continue; // ended meanwhile
            }
            long t = Long.parseLong(nameAndTicks[1]);
            living += t;
            groups.merge(group(nameAndTicks[0]), t, Long::sum);
        }
        long after = processTicks();
        if (after >= 0) {
            groups.put("ended threads", Math.max(0, after - living));
            groups.put("this reading", after - before);
            groups.put("process total", after);
        }
        groups.forEach((g, t) -> System.out.println("C " + g.replace(' ', '_') + " " + t * 10));
    }

    private static long processTicks() {
        String[] all = ticks(Path.of("/proc/self/stat"));
        return all == null ? -1 : Long.parseLong(all[1]);
    }

    /** {thread name, utime + stime in ticks} of a {@code stat} file, or null if it cannot be read (gone, not Linux). */
    private static String[] ticks(Path stat) {
        String s;
        try {
            // Bytes, not UTF-8: the kernel cuts a thread's name at 15 bytes, possibly inside a character.
            s = new String(Files.readAllBytes(stat), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return null;
        }
        int open = s.indexOf('('), close = s.lastIndexOf(')');
        if (open < 0 || close < open) {
            return null;
        }
        String[] f = s.substring(close + 2).split(" "); // f[0] is the state; utime and stime are fields 14 and 15
        return new String[] {s.substring(open + 1, close), Long.toString(Long.parseLong(f[11]) + Long.parseLong(f[12]))};
    }

    private static String group(String thread) {
        if (thread.startsWith("C1 Compiler") || thread.startsWith("C2 Compiler")) {
            return thread.substring(0, 2) + " JIT compiler";
        }
        if (thread.startsWith("GC ") || thread.startsWith("G1 ")) {
            return "GC"; // G1's and Parallel's workers (the children run G1); Serial GC collects in the VM Thread
        }
        if (thread.equals("java")) {
            return "main"; // the launcher's thread that runs main() carries the process's name
        }
        if (thread.startsWith("autocert4j")) {
            return "library threads";
        }
        if (thread.startsWith("multiThreadIoEv") || thread.startsWith("nioEventLoop")) {
            return "Netty event loops";
        }
        return "other JVM threads";
    }
}
