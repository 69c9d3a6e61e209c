package io.github.autocert4j.internal.names;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Not a test: a main that measures the bundled public suffix list in this JVM (docs/startup.md). {@code cold}: the
 * list's load ({@link PublicSuffixes#configured}, no Guava and no user file on the class path) and the guard's
 * {@code isPublicSuffix} calls of a {@code build()}, wall and this thread's CPU, then the first registrable-domain
 * lookups; {@code warm}: ns per name for {@code registrableDomain} + {@code isPublicSuffix} after 3 s of warm-up.
 * Uses only what main's core had before the compact form, so that one class path can run either core jar:
 * {@code java -cp CORE.jar:core/target/test-classes io.github.autocert4j.internal.names.PublicSuffixColdBench cold}.
 */
public final class PublicSuffixColdBench {
    private PublicSuffixColdBench() {
    }

    public static void main(String[] args) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        if (args[0].equals("cold")) {
            long cpu0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            PublicSuffixes ps = PublicSuffixes.configured(Map.of(), PublicSuffixColdBench.class.getClassLoader());
            // what build() asks: PublicSuffixGuard.problem -> isPublicSuffix per configured name
            boolean a = ps.isPublicSuffix("co.uk") && !ps.isPublicSuffix("example.com") && !ps.isPublicSuffix("*.example.com");
            long t1 = System.nanoTime();
            long cpu1 = mx.getCurrentThreadCpuTime();
            // then the on-demand path's first registrable-domain lookups
            a &= ps.registrableDomain("www.example.co.uk").isPresent() && ps.registrableDomain("a.b.github.io").isPresent();
            long t2 = System.nanoTime();
            long cpu2 = mx.getCurrentThreadCpuTime();
            System.out.printf("cold build_path wall_ms=%.2f cpu_ms=%.2f first_registrableDomain wall_ms=%.2f cpu_ms=%.2f ok=%s%n",
                    (t1 - t0) / 1e6, (cpu1 - cpu0) / 1e6, (t2 - t1) / 1e6, (cpu2 - cpu1) / 1e6, a);
            return;
        }
        PublicSuffixes ps = PublicSuffixes.configured(Map.of(), PublicSuffixColdBench.class.getClassLoader());
        List<String> names = new ArrayList<>();
        String[] tails = {"com", "co.uk", "github.io", "www.ck", "xn--fiqs8s", "unknowntld", "s3.amazonaws.com", "city.kawasaki.jp", "de", "com.au"};
        for (int i = 0; i < 2000; i++) {
            String t = tails[i % tails.length];
            names.add(i % 3 == 0 ? "host" + i + ".example" + (i % 97) + "." + t : i % 3 == 1 ? "shop" + i + "." + t : "a.b.c" + i + "." + t);
        }
        String[] arr = names.toArray(new String[0]);
        long sink = 0;
        long end = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < end) {
            for (String n : arr) {
                sink += ps.registrableDomain(n).map(String::length).orElse(0) + (ps.isPublicSuffix(n) ? 1 : 0);
            }
        }
        List<Double> per = new ArrayList<>();
        for (int r = 0; r < 7; r++) {
            long t0 = System.nanoTime();
            for (int k = 0; k < 200; k++) {
                for (String n : arr) {
                    sink += ps.registrableDomain(n).map(String::length).orElse(0) + (ps.isPublicSuffix(n) ? 1 : 0);
                }
            }
            per.add((System.nanoTime() - t0) / (200.0 * arr.length));
        }
        per.sort(null);
        System.out.printf("warm ns_per_name(registrableDomain+isPublicSuffix) median=%.0f min=%.0f max=%.0f sink=%d%n", per.get(3), per.get(0), per.get(6), sink);
    }
}
