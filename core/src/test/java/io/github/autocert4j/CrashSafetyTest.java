package io.github.autocert4j;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.tls.ChainVerifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILLs a child JVM ({@link CrashChild}) between every two steps of {@link FileCertStore}'s
 * write sequence (temp file created, half written, written, fsynced, renamed, directory fsynced;
 * so also between the PEM and the .properties file of a certificate), whenever it has just taken
 * a lock, and at every ACME request (right after the CA acted), across account creation, a first
 * issuance and two renewals. After each kill the store must hold a complete certificate whose key
 * matches (old or new, never a mix) and that the CA issued in this very run (seen in the proxy's
 * certificate downloads), and a restart must serve it without placing an order or creating a
 * second account.
 */
// Validation is not what is tested here: the VA accepts every challenge, so several children can run at once.
@WithPebble(env = "PEBBLE_VA_ALWAYS_VALID=1")
class CrashSafetyTest {
    static final String NAME = "crash.autocert4j.test";
    static final long T0 = System.nanoTime();
    static final Path LOGS = Path.of("target", "crash-logs");

    static PebbleServer pebble;
    @TempDir
    static Path work;

    @BeforeAll
    static void start(PebbleServer running) throws IOException {
        pebble = running;
        Files.createDirectories(LOGS);
        childClassPath = snapshotClassPath();
    }

    static String childClassPath;

    /** The children run from jars of target/classes and target/test-classes, so a rebuild of the module meanwhile cannot break them. */
    static String snapshotClassPath() throws IOException {
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Path.of(e);
            if (Files.isDirectory(p)) {
                // A jar (not a directory): class-data sharing accepts only jars.
                Path jar = work.resolve("cp-" + i++ + ".jar");
                try (java.util.jar.JarOutputStream out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar));
                     java.util.stream.Stream<Path> files = Files.walk(p)) {
                    for (Path f : files.filter(Files::isRegularFile).toList()) {
                        out.putNextEntry(new java.util.jar.JarEntry(p.relativize(f).toString().replace(java.io.File.separatorChar, '/')));
                        out.write(Files.readAllBytes(f));
                        out.closeEntry();
                    }
                }
                entries.add(jar.toString());
            } else {
                entries.add(e);
            }
        }
        return String.join(java.io.File.pathSeparator, entries);
    }

    record Point(String kind, int n) {
        @Override
        public String toString() {
            return kind + "#" + n;
        }
    }

    /** {@code issued}: leaf serials of every certificate the CA handed out to this child (certificate downloads at the proxy). */
    record ChildRun(int exit, List<String> out, int posts, List<BigInteger> issued) {
        /** What the dry run did at step {@code n} ("temp-created certs/x/x.pem", "holding lock ..."). */
        String step(int n) {
            String prefix = "STEP " + n + " ";
            return out.stream().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length())).findFirst().orElse("");
        }

        long challengesWritten() {
            return out.stream().filter(l -> l.startsWith("STEP ") && l.contains(" renamed challenges/")).count();
        }

        int steps() {
            return out.stream().filter(l -> l.startsWith("DONE ")).map(l -> Integer.parseInt(l.substring(5).trim())).findFirst().orElse(-1);
        }
    }

    @Test
    void killedAtAnyStepTheStoreHoldsAMatchingCertificateAndARestartPlacesNoOrder() throws Exception {
        Path dryStore = work.resolve("dry");
        ChildRun dryRun = null;
        // The crash points are numbered after the dry run, so it must be the usual run: three orders, each validated
        // (Pebble reuses an authorization for about 1 % of orders, and such an order writes no challenge token).
        for (int attempt = 1; attempt <= 3 && (dryRun == null || dryRun.challengesWritten() < 3); attempt++) {
            try (FaultProxy proxy = new FaultProxy(pebble, Files.createDirectories(work.resolve("dry-" + attempt)))) {
                dryRun = runChild(proxy, dryStore.resolve(Integer.toString(attempt)), 0, 0, "dry");
            }
        }
        ChildRun dry = dryRun;
        assertEquals(0, dry.exit, "dry run completes: " + dry.out);
        System.out.println("crash dry run: " + dry.steps() + " save steps, " + dry.posts + " ACME POSTs: " + dry.out);
        int steps = dry.steps();
        List<Point> points = new ArrayList<>();
        for (int i = 1; i <= steps; i++) {
            String what = dry.step(i);
            // Challenge tokens are transient (nothing reads them after the order): one crash point per token write
            // (a torn temp file) and delete; every step of the account and certificate writes is a crash point.
            if (what.contains(" challenges/") && !what.startsWith("temp-half-written") && !what.startsWith("deleted")) {
                continue;
            }
            points.add(new Point("step", i));
        }
        // Every ACME request (the CA acted, the client never heard back): account creation, orders, challenges, finalize, downloads.
        for (int i = 1; i <= dry.posts; i++) {
            points.add(new Point("post", i));
        }
        assertEquals(3, dry.issued.size(), "the dry run downloads three certificates (issuance, two renewals): " + dry.out);
        assertEquals(3, dry.challengesWritten(), "the dry run validates each of its three orders: " + dry.out);
        assertTrue(dry.out.stream().filter(l -> l.contains("directory-synced certs/")).count() >= 6,
                "the dry run writes PEM and properties of three certificates: " + dry.out);
        assertTrue(points.size() >= 60, "every step and every request is a crash point: " + points.size() + " (" + dry.out + ")");

        List<String> failures = new CopyOnWriteArrayList<>();
        List<Point> unreached = new CopyOnWriteArrayList<>();
        AtomicInteger restartsServing = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<?>> runs = new ArrayList<>();
        for (Point p : points) {
            runs.add(pool.submit(() -> {
                try {
                    // How often the client polls an order depends on Pebble's timing, so a run can make fewer requests than
                    // the dry run: a request number beyond this run's last one is tried again, then counted as unreached.
                    Outcome o = Outcome.UNREACHED;
                    for (int attempt = 1; attempt <= 3 && o == Outcome.UNREACHED; attempt++) {
                        o = crashAndCheck(p, attempt, p.kind.equals("step") ? stepShape(dry.step(p.n)) : "");
                    }
                    if (o == Outcome.SERVED) {
                        restartsServing.incrementAndGet();
                    } else if (o == Outcome.UNREACHED) {
                        unreached.add(p);
                    }
                } catch (Throwable t) {
                    failures.add(p + ": " + t);
                }
                return null;
            }));
        }
        for (Future<?> f : runs) {
            f.get(5, TimeUnit.MINUTES);
        }
        pool.shutdown();
        System.out.println("crash points: " + points.size() + " in " + Duration.ofNanos(System.nanoTime() - T0).toMillis() + " ms");
        assertTrue(failures.isEmpty(), failures.size() + " of " + points.size() + " crash points failed:\n" + String.join("\n", failures));
        // A store step is reached in one of three tries unless Pebble reused an authorization in all three (about 1 % each).
        assertTrue(unreached.size() <= 2 && unreached.stream().allMatch(u -> u.kind.equals("post") && u.n > dry.posts - 3),
                "only the last requests of the dry run may lie beyond what a run with fewer polls sends: " + unreached);
        assertTrue(restartsServing.get() >= 10, "many crash points leave a certificate that a restart serves: " + restartsServing);
    }

    enum Outcome { SERVED, ORDERED_AGAIN, UNREACHED }

    /**
     * What a store step does, without what differs from run to run: the challenge token and the proxy's port in the
     * account's path ("temp-written challenges/http-01/*", "renamed acme/#.#.#.#-#-dir/account/account.url").
     */
    static String stepShape(String step) {
        return step.replaceAll("/http-01/\\S+", "/http-01/*").replaceAll("\\d+", "#");
    }

    /**
     * SERVED: a certificate was in the store after the kill and the restart served it; ORDERED_AGAIN: none was, and the
     * restart obtained one; UNREACHED: the child finished without sending request {@code p.n} (fewer polls than the dry run),
     * or its step {@code p.n} was not the dry run's ({@code expectedStep}): Pebble reuses a valid authorization for about
     * 1 % of orders even with {@code PEBBLE_AUTHZREUSE=0}, and such an order writes no challenge, so the later steps shift.
     * The store is checked after such a kill all the same (it is a crash point too), and the intended one is tried again.
     */
    private Outcome crashAndCheck(Point p, int attempt, String expectedStep) throws Exception {
        Path store = work.resolve("store-" + p.kind + "-" + p.n + "-" + attempt);
        try (FaultProxy proxy = new FaultProxy(pebble, Files.createDirectories(store))) {
            long t0 = System.nanoTime();
            ChildRun run = runChild(proxy, store.resolve("s"), p.kind.equals("step") ? p.n : 0, p.kind.equals("post") ? p.n : 0, p.toString());
            long t1 = System.nanoTime();
            boolean shifted = false;
            if (p.kind.equals("step")) {
                if (run.exit == 0 && run.steps() >= 0 && run.steps() < p.n) {
                    System.out.println("point " + p + " attempt " + attempt + ": the child finished after " + run.steps() + " steps");
                    return Outcome.UNREACHED;
                }
                assertTrue(run.out.contains("HALT " + p.n) && run.exit != 0, "the child was killed at crash point " + p + ": " + run.out);
                shifted = !stepShape(run.step(p.n)).equals(expectedStep);
            } else {
                if (run.exit == 0 && run.posts < p.n && run.out.stream().anyMatch(l -> l.startsWith("DONE "))) {
                    return Outcome.UNREACHED;
                }
                assertTrue(run.posts >= p.n && run.exit != 0, "the child was killed at " + p + ": " + run.out);
            }
            boolean childCreatedAccount = proxy.requests("POST", "newAccount").stream().anyMatch(s -> s.status() == 201);

            StoreLayout layout = new StoreLayout(proxy.directoryUri());
            FileCertStore files = FileCertStore.of(store.resolve("s"));
            Optional<byte[]> bundleBytes = files.load(StoreLayout.certBundle(NAME));
            BigInteger storedSerial = null;
            if (bundleBytes.isPresent()) {
                CertBundle b = Pem.decodeBundle(bundleBytes.get());
                ChainVerifier.verify(b, List.of(NAME), Instant.now()); // key matches leaf, names, validity, chain order
                b.chain().get(b.chain().size() - 1).verify(pebble.issuanceRoot().getPublicKey());
                storedSerial = b.serial();
                // Every store starts empty: what it holds must be one of the certificates the CA issued to this child.
                assertTrue(run.issued.contains(storedSerial), "stored serial " + storedSerial.toString(16)
                        + " is one the CA issued in this run: " + run.issued.stream().map(x -> x.toString(16)).toList());
            }
            BigInteger pemSerial = storedSerial;
            files.load(StoreLayout.certMeta(NAME)).ifPresent(m -> {
                java.util.Properties meta = new java.util.Properties();
                try {
                    meta.load(new java.io.StringReader(new String(m, StandardCharsets.UTF_8)));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                assertEquals(NAME, meta.getProperty("names"), "metadata is complete");
                assertTrue(pemSerial != null, "metadata is never stored without its certificate");
                // Between the PEM and the .properties write the metadata may still describe the previous generation.
                BigInteger metaSerial = new BigInteger(meta.getProperty("serial"), 16);
                assertTrue(run.issued.contains(metaSerial), "metadata serial " + metaSerial.toString(16) + " was issued in this run");
                assertTrue(run.issued.indexOf(metaSerial) <= run.issued.indexOf(pemSerial),
                        "metadata is never newer than the certificate it sits beside");
            });
            Optional<byte[]> keyBefore = files.load(layout.accountKey());
            Optional<byte[]> urlBefore = files.load(layout.accountLocation());
            if (urlBefore.isPresent()) {
                assertTrue(keyBefore.isPresent(), "an account location is never stored without its key");
            }

            // Restart on the same store.
            proxy.reset();
            List<CertEvent> events = new CopyOnWriteArrayList<>();
            try (AutoCert restarted = AutoCert.builder().directory(proxy.directoryUri()).acmeServerTrust(proxy.caPem())
                    .agreeToTermsOfService(true).certificate(NAME).storageDirectory(store.resolve("s")).listener(events::add).build()) {
                Instant started = Instant.now();
                restarted.start();
                if (storedSerial != null) {
                    CertificateStatus s = restarted.status(NAME).orElseThrow();
                    assertEquals(CertificateStatus.State.VALID, s.state(), "served at once after the crash");
                    assertEquals(storedSerial, s.serial());
                    awaitFirstCheck(restarted, started);
                    assertEquals(null, restarted.status(NAME).orElseThrow().lastAttempt(), "no order after restart");
                    assertEquals(0, proxy.count("POST", "newOrder"), "no order after restart: " + proxy.seen);
                    assertEquals(0, proxy.count("POST", "newAccount"), "no account after restart: " + proxy.seen);
                    assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Issued), events.toString());
                } else {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (events.stream().noneMatch(e -> e instanceof CertEvent.Issued) && System.nanoTime() < deadline) {
                        Thread.sleep(20);
                    }
                    assertTrue(events.stream().anyMatch(e -> e instanceof CertEvent.Issued), "the restart obtains the certificate: " + events);
                    assertTrue(proxy.count("POST", "newAccount") <= 1);
                    if (keyBefore.isPresent()) {
                        assertTrue(Arrays.equals(keyBefore.get(), files.load(layout.accountKey()).orElseThrow()), "the account key is kept");
                    }
                    if (childCreatedAccount) {
                        assertTrue(proxy.requests("POST", "newAccount").stream().allMatch(s -> s.status() == 200),
                                "an account whose key exists is looked up, never created again: " + proxy.requests("POST", "newAccount"));
                    }
                    if (urlBefore.isPresent()) {
                        assertEquals(0, proxy.count("POST", "newAccount"), "a stored account is reused without newAccount");
                        assertTrue(Arrays.equals(urlBefore.get(), files.load(layout.accountLocation()).orElseThrow()));
                    }
                }
            }
            System.out.println("point " + p + ": child " + (t1 - t0) / 1_000_000 + " ms, restart check " + (System.nanoTime() - t1) / 1_000_000 + " ms");
            if (shifted) {
                System.out.println("point " + p + " attempt " + attempt + ": killed at '" + run.step(p.n) + "', the dry run's step was '"
                        + expectedStep + "'");
                return Outcome.UNREACHED;
            }
            return storedSerial != null ? Outcome.SERVED : Outcome.ORDERED_AGAIN;
        }
    }

    static void awaitFirstCheck(AutoCert autoCert, Instant started) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            Instant next = autoCert.status().get(0).nextCheck();
            if (next != null && next.isAfter(started.plus(Duration.ofMinutes(1)))) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the first check did not finish: " + autoCert.status());
    }

    /**
     * Runs the child; {@code haltAt}: SIGKILL when it reports reaching that step; {@code killAtPost}: SIGKILL right after
     * the CA answered that POST (before the child reads the answer).
     */
    static ChildRun runChild(FaultProxy proxy, Path store, int haltAt, int killAtPost, String label) throws Exception {
        AtomicReference<Process> child = new AtomicReference<>();
        AtomicInteger posts = new AtomicInteger();
        List<BigInteger> issued = new CopyOnWriteArrayList<>();
        proxy.rule((req, fwd) -> {
            FaultProxy.Resp r = fwd.call();
            if (proxy.isCertDownload(req) && r.status() == 200) {
                issued.add(Pem.decodeCertificates(r.body()).get(0).getSerialNumber());
            }
            if (req.method().equals("POST") && posts.incrementAndGet() == killAtPost) {
                Process p = child.get();
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            return r;
        });
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"));
        // The dry run records a class-data archive that every later child starts from (about twice as fast).
        Path cds = work.resolve("child.jsa");
        cmd.add(label.equals("dry") ? "-XX:ArchiveClassesAtExit=" + cds : "-XX:SharedArchiveFile=" + cds);
        cmd.addAll(List.of("-cp", childClassPath, CrashChild.class.getName(),
                proxy.directoryUri().toString(), proxy.caPem().toString(), store.toString(), NAME, Integer.toString(haltAt)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(LOGS.resolve("child-" + label.replace('#', '-') + ".log").toFile());
        Process p = pb.start();
        child.set(p);
        List<String> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null && out.size() < 10_000; line = r.readLine()) {
                out.add(line);
                if (line.equals("HALT " + haltAt)) {
                    p.destroyForcibly(); // SIGKILL while the child waits at the step (this also closes its streams)
                    break;
                }
            }
        } catch (IOException killedMeanwhile) {
            // the proxy SIGKILLed the child at an ACME request: its output ends here
        }
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child " + label + " hung: " + out);
        }
        proxy.rule(null);
        return new ChildRun(p.exitValue(), out, posts.get(), List.copyOf(issued));
    }
}
