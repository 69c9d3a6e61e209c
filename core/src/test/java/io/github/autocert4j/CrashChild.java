package io.github.autocert4j;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The JVM that {@link CrashSafetyTest} kills. It obtains a certificate on an empty store (creating
 * the account), then renews it twice, numbering every crash point: each step of
 * {@link FileCertStore}'s write sequence (temp file created, half written, written, fsynced,
 * renamed, directory fsynced; deletes likewise) and each lock taken. With {@code haltAt > 0} it
 * prints {@code HALT n} at that point and waits there until the parent SIGKILLs it. The parent
 * also kills it at ACME requests (right after the CA answered).
 *
 * <p>Args: directory, acme-trust-pem, store-dir, name, haltAt.
 */
public final class CrashChild {
    static final PrintStream OUT = System.out;
    final AtomicInteger step = new AtomicInteger();
    final int haltAt;

    private CrashChild(int haltAt) {
        this.haltAt = haltAt;
    }

    public static void main(String[] args) throws Exception {
        URI directory = URI.create(args[0]);
        Path trust = Path.of(args[1]);
        Path storeDir = Path.of(args[2]);
        String name = args[3];
        new CrashChild(Integer.parseInt(args[4])).run(directory, trust, storeDir, name);
    }

    private void run(URI directory, Path trust, Path storeDir, String name) throws Exception {
        FileCertStore files = new FileCertStore(storeDir, Duration.ofMinutes(1), (what, key) -> {
            if (!key.startsWith(".")) { // the build()-time access probe is not part of the write path under test
                step(what + " " + key);
            }
        });
        CertStore store = new LockSteps(files);
        CompletableFuture<Void> issued = new CompletableFuture<>();
        try (AutoCert autoCert = AutoCert.builder().directory(directory).acmeServerTrust(trust).agreeToTermsOfService(true)
                .certificate(name).store(store)
                .listener(e -> {
                    if (e instanceof CertEvent.Issued i) {
                        OUT.println("ISSUED " + i.serial().toString(16));
                        OUT.flush();
                        issued.complete(null);
                    } else if (e instanceof CertEvent.Failed f) {
                        OUT.println("FAILED " + f.error());
                        OUT.flush();
                    }
                }).build()) {
            autoCert.start();
            issued.get(60, TimeUnit.SECONDS);
            awaitCheck(autoCert, name);
            autoCert.renewNow(name).get(60, TimeUnit.SECONDS);
            awaitCheck(autoCert, name);
            autoCert.renewNow(name).get(60, TimeUnit.SECONDS);
            awaitCheck(autoCert, name);
        }
        OUT.println("DONE " + step.get());
        OUT.flush();
        System.exit(0);
    }

    /**
     * Waits (bounded) for the check that follows each new certificate (it fetches the ARI window and
     * stores it with the certificate under its lock: crash points too), so every run takes its steps
     * in the dry run's order and none is cut off by the exit.
     */
    static void awaitCheck(AutoCert autoCert, String name) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            java.time.Instant next = autoCert.status(name).orElseThrow().nextCheck();
            if (next != null && next.isAfter(java.time.Instant.now().plus(Duration.ofMinutes(1)))) {
                return;
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("the check after the new certificate did not run within 30 s: " + autoCert.status(name));
    }

    void step(String what) {
        int n = step.incrementAndGet();
        OUT.println("STEP " + n + " " + what);
        OUT.flush();
        if (n == haltAt) {
            OUT.println("HALT " + n);
            OUT.flush();
            try {
                Thread.sleep(30_000); // the parent SIGKILLs us now; this is only the fallback
            } catch (InterruptedException ignored) {
                // halt anyway
            }
            Runtime.getRuntime().halt(137);
        }
    }

    /** The file store, plus a crash point whenever a lock has just been taken. */
    final class LockSteps extends DelegatingStore {
        LockSteps(FileCertStore delegate) {
            super(delegate);
        }

        @Override
        public Lock lock(String name) throws IOException {
            Lock lock = super.lock(name);
            step("holding lock " + name);
            return lock;
        }
    }
}
