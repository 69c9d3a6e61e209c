package io.github.autocert4j;

import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The fresh JVM that {@link ColdPathTest} measures: what a server pays on its first start with an
 * empty store. It prints {@code BUILD_MS n} (the time {@code build()} took), then, unless the mode
 * is {@code build}, starts the manager and prints {@code ISSUED_MS n} (from before {@code build()}
 * to the {@code Issued} event) or {@code FAILED ...}. It uses nothing but the public API, as a user's
 * {@code main} would, so the classes it loads are the library's.
 *
 * <p>Args: directory, acme-trust-pem ({@code -}: the JDK's default trust, as with Let's Encrypt), store-dir, name,
 * mode ({@code build} or {@code issue}).
 */
public final class ColdPathChild {
    private ColdPathChild() {
    }

    // Loaded (by their first use) at each step: the parent finds them in the JVM's class-load log, with its uptime.
    static final class BuildBegins {
    }

    static final class BuildReturned {
    }

    static final class StartCalled {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        long cpu0 = threadCpuMs();
        long sched0 = threadRunNanos();
        new BuildBegins();
        long t0 = System.nanoTime();
        CompletableFuture<String> issued = new CompletableFuture<>();
        AutoCertBuilder builder = AutoCert.builder().directory(URI.create(args[0]));
        if (!args[1].equals("-")) {
            builder.acmeServerTrust(Path.of(args[1]));
        }
        AutoCert autoCert = builder.agreeToTermsOfService(true).storageDirectory(Path.of(args[2])).certificate(args[3])
                .listener(e -> {
                    if (e instanceof CertEvent.Issued) {
                        issued.complete("ISSUED_MS " + (System.nanoTime() - t0) / 1_000_000);
                    } else if (e instanceof CertEvent.Failed f) {
                        issued.complete("FAILED " + f.failure());
                    }
                })
                .build();
        long built = System.nanoTime();
        new BuildReturned();
        long cpu1 = threadCpuMs();
        long sched1 = threadRunNanos();
        out.println("BUILD_MS " + (built - t0) / 1_000_000);
        out.println("BUILD_THREAD_CPU_MS " + (cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0));
        out.println("BUILD_THREAD_RUN_MS " + (sched0 < 0 || sched1 < 0 ? -1 : (sched1 - sched0) / 100_000 / 10.0));
        out.flush();
        if (!args[4].equals("build")) {
            new StartCalled();
            autoCert.start();
            out.println(issued.get(60, TimeUnit.SECONDS));
            out.println("CPU_MS " + ProcessHandle.current().info().totalCpuDuration().map(d -> d.toMillis()).orElse(-1L));
        }
        autoCert.close();
        out.flush();
        System.exit(0);
    }

    /**
     * This thread's CPU time (user + system) in ms, 10 ms resolution, from Linux's
     * {@code /proc/thread-self/stat} (-1 elsewhere): what {@code build()} costs the caller's thread on a
     * busy machine, where its wall time mostly measures the wait for a core. Read with classes the JVM
     * has loaded at boot, so that measuring adds none to the counts.
     */
    static long threadCpuMs() {
        try (java.io.FileInputStream in = new java.io.FileInputStream("/proc/thread-self/stat")) {
            String stat = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10; // utime, stime in 1/100 s
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * The time this thread ran on a CPU, in ns, from Linux's {@code /proc/thread-self/schedstat} (-1 elsewhere,
     * or without schedstats): the same as {@link #threadCpuMs} at the scheduler's resolution instead of 10 ms.
     */
    static long threadRunNanos() {
        try (java.io.FileInputStream in = new java.io.FileInputStream("/proc/thread-self/schedstat")) {
            String stat = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
            return Long.parseLong(stat.substring(0, stat.indexOf(' ')));
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }
}
