package io.github.autocert4j.benchmarks;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.postgres.PostgresCertStore;

/**
 * One node of the fleet start-up benchmark ({@link StoreOpsBench}), run in its own JVM:
 * {@code StoreStartupNode postgres|file <count> <jdbc url|store dir>} (database user and password in
 * {@code DB_USER}/{@code DB_PASSWORD}). Builds an {@code AutoCert} managing {@code count} certificates
 * ({@link StoreOpsBench#name}), starts it, checks that {@code servedCertificate(name)} returns the stored
 * certificate for every name, prints {@code ready served=<n> jvmToServedMs=<ms> startMs=<ms>} and exits.
 *
 * <pre>{@code
 * java -cp ... io.github.autocert4j.benchmarks.StoreStartupNode postgres 10000 jdbc:postgresql://127.0.0.1:5432/app
 * }</pre>
 */
public final class StoreStartupNode {
    private StoreStartupNode() {
    }

    /** How many names serve their stored certificate (issued by the benchmark CA for the name), not the self-signed fallback. */
    private static int served(AutoCert autoCert, int n) {
        int served = 0;
        for (int i = 0; i < n; i++) {
            String name = StoreOpsBench.name(i);
            X509Certificate leaf = (X509Certificate) autoCert.servedCertificate(name).chain().get(0);
            if (leaf.getSubjectX500Principal().getName().equals("CN=" + name)
                    && !leaf.getIssuerX500Principal().equals(leaf.getSubjectX500Principal())) {
                served++;
            }
        }
        return served;
    }

    public static void main(String[] args) throws Exception {
        try {
            boolean pg = args[0].equals("postgres");
            int n = Integer.parseInt(args[1]);
            HikariDataSource pool = null;
            CertStore store;
            if (pg) {
                HikariConfig c = new HikariConfig();
                c.setJdbcUrl(args[2]);
                c.setUsername(System.getenv("DB_USER"));
                c.setPassword(System.getenv("DB_PASSWORD"));
                c.setMaximumPoolSize(4);
                c.setConnectionTimeout(10_000);
                pool = new HikariDataSource(c);
                store = PostgresCertStore.builder(pool).build();
            } else {
                store = FileCertStore.of(Path.of(args[2]));
            }
            AutoCertBuilder b = AutoCert.builder().directory(BenchCa.DEAD_DIRECTORY).agreeToTermsOfService(true).store(store)
                    .renewal(Bench.quietPolicy());
            for (int i = 0; i < n; i++) {
                b.certificate(StoreOpsBench.name(i));
            }
            AutoCert autoCert = b.build();
            long t0 = System.nanoTime();
            autoCert.start();
            long startMs = (System.nanoTime() - t0) / 1_000_000;
            // start() returns early when a store read fails or the store is silent for 2 s (a loaded machine);
            // the rest is loaded in the background: wait for it (bounded), as a load balancer would.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            int served = served(autoCert, n);
            int servedAtStart = served;
            while (served != n && System.nanoTime() < deadline) {
                Thread.sleep(20);
                served = served(autoCert, n);
            }
            long jvmToServed = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
            if (served != n) {
                System.out.println("FAILED served=" + served + " of " + n + " 120 s after start() (" + servedAtStart + " when it returned)");
                System.exit(1);
            }
            if (servedAtStart != n) {
                System.err.println("note: start() returned with " + servedAtStart + " of " + n + " served; the rest followed in the background");
            }
            System.out.println("ready served=" + served + " jvmToServedMs=" + jvmToServed + " startMs=" + startMs);
            System.out.flush();
            autoCert.close();
            if (pool != null) {
                pool.close();
            }
        } catch (Exception | Error e) {
            System.out.println("FAILED " + e);
            System.exit(1);
        }
        System.exit(0);
    }
}
