package io.github.autocert4j.benchmarks;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
     * spawn to now, read from Linux's {@code /proc/self/task/<tid>/stat} (clock ticks of 10 ms); threads that already
     * ended are the process total ({@code /proc/self/stat}) less the living ones. Nothing on other systems.
     */
    static void print() {
        File[] tasks = new File("/proc/self/task").listFiles();
        if (tasks == null) {
            return;
        }
        try {
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
            String[] all = ticks(Path.of("/proc/self/stat"));
            if (all != null) {
                groups.put("ended threads", Math.max(0, Long.parseLong(all[1]) - living));
            }
            groups.forEach((g, t) -> System.out.println("C " + g.replace(' ', '_') + " " + t * 10));
        } catch (IOException | RuntimeException e) {
            System.out.println("C unreadable 0");
        }
    }

    /** {thread name, utime + stime in ticks} of a {@code stat} file, or null if it is gone. */
    private static String[] ticks(Path stat) throws IOException {
        String s;
        try {
            s = Files.readString(stat);
        } catch (NoSuchFileException e) {
            return null;
        }
        int open = s.indexOf('('), close = s.lastIndexOf(')');
        String[] f = s.substring(close + 2).split(" "); // f[0] is the state; utime and stime are fields 14 and 15
        return new String[] {s.substring(open + 1, close), Long.toString(Long.parseLong(f[11]) + Long.parseLong(f[12]))};
    }

    private static String group(String thread) {
        if (thread.startsWith("C1 Compiler") || thread.startsWith("C2 Compiler")) {
            return thread.substring(0, 2) + " JIT compiler";
        }
        if (thread.startsWith("GC ") || thread.startsWith("G1 ")) {
            return "GC";
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
