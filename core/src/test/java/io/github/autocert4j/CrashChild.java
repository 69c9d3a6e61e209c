package io.github.autocert4j;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The JVM that {@link CrashSafetyTest} kills. It obtains a certificate on an empty store (creating
 * the account), then renews it once, numbering every save step; with {@code haltAt > 0} it dies at that step
 * ({@code Runtime.halt}: no shutdown hooks, no finally blocks, like {@code kill -9}). The parent
 * also kills it from outside (SIGKILL) at ACME requests.
 *
 * <p>Args: directory, acme-trust-pem, store-dir, name, haltAt.
 */
public final class CrashChild {
    static final PrintStream OUT = System.out;
    static final AtomicInteger STEP = new AtomicInteger();
    static int haltAt;

    private CrashChild() {
    }

    public static void main(String[] args) throws Exception {
        URI directory = URI.create(args[0]);
        Path trust = Path.of(args[1]);
        Path storeDir = Path.of(args[2]);
        String name = args[3];
        haltAt = Integer.parseInt(args[4]);
        CertStore store = new HaltingStore(FileCertStore.of(storeDir));
        CompletableFuture<Void> issued = new CompletableFuture<>();
        try (AutoCert autoCert = AutoCert.builder().directory(directory).acmeServerTrust(trust).agreeToTermsOfService(true)
                .certificate(name).store(store)
                .listener(e -> {
                    if (e instanceof CertEvent.Issued i) {
                        step("issued " + i.serial().toString(16));
                        issued.complete(null);
                    } else if (e instanceof CertEvent.Failed f) {
                        OUT.println("FAILED " + f.error());
                        OUT.flush();
                    }
                }).build()) {
            autoCert.start();
            issued.get(60, TimeUnit.SECONDS);
            autoCert.renewNow(name).get(60, TimeUnit.SECONDS);
        }
        OUT.println("DONE " + STEP.get());
        OUT.flush();
        System.exit(0);
    }

    static void step(String what) {
        int n = STEP.incrementAndGet();
        OUT.println("STEP " + n + " " + what);
        OUT.flush();
        if (n == haltAt) {
            OUT.println("HALT " + n);
            OUT.flush();
            Runtime.getRuntime().halt(137);
        }
    }

    /** A FileCertStore whose every write is three crash points: before, torn (half-written temp file), after. */
    static final class HaltingStore implements CertStore {
        private final FileCertStore delegate;

        HaltingStore(FileCertStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public Optional<byte[]> load(String key) throws IOException {
            return delegate.load(key);
        }

        @Override
        public void store(String key, byte[] value) throws IOException {
            step("before store " + key);
            if (STEP.get() + 1 == haltAt) {
                // What a kill in the middle of FileCertStore's write leaves: a partial temp file next to the target.
                Path target = delegate.directory().resolve(key);
                Files.createDirectories(target.getParent());
                Files.write(target.getParent().resolve("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-1"),
                        new String(value, StandardCharsets.ISO_8859_1).substring(0, value.length / 2).getBytes(StandardCharsets.ISO_8859_1));
            }
            step("torn write of " + key);
            delegate.store(key, value);
            step("after store " + key);
        }

        @Override
        public List<String> list(String prefix) throws IOException {
            return delegate.list(prefix);
        }

        @Override
        public boolean delete(String key) throws IOException {
            step("before delete " + key);
            boolean existed = delegate.delete(key);
            step("after delete " + key);
            return existed;
        }

        @Override
        public Lock lock(String name) throws IOException {
            Lock lock = delegate.lock(name);
            step("holding lock " + name);
            return lock;
        }

        @Override
        public void checkAccess() throws IOException {
            delegate.checkAccess();
        }
    }
}
