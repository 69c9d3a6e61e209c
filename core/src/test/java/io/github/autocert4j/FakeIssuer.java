package io.github.autocert4j;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An {@link Issuer} for state-machine tests: signs what it is asked for with a throw-away CA,
 * valid from the test clock's "now" for {@link #lifetime}, unless the test scripted something
 * else for the next calls (a failure, a wrong certificate, a wait). Records every request.
 */
final class FakeIssuer implements Issuer {
    /** What one issue() call does. */
    interface Behaviour {
        Result apply(FakeIssuer issuer, Request request) throws IssuanceException, InterruptedException;
    }

    final String id;
    final FaultPki pki;
    private final Clock clock;
    volatile Duration lifetime = Duration.ofDays(90);
    /** How far notBefore lies before "now" (CAs backdate a little). */
    volatile Duration backdate = Duration.ofSeconds(60);
    volatile Window window;
    /** When set, the window for each certificate (wins over {@link #window}). */
    volatile java.util.function.Function<X509Certificate, Window> windowFor;
    volatile RuntimeException windowCrash;
    volatile IssuanceException windowFailure;
    final List<Request> requests = new CopyOnWriteArrayList<>();
    /** The test clock's time at each issue() call. */
    final List<Instant> times = new CopyOnWriteArrayList<>();
    final AtomicInteger windowCalls = new AtomicInteger();
    private final ConcurrentLinkedDeque<Behaviour> script = new ConcurrentLinkedDeque<>();

    /**
     * A new issuer ("fake-ca") that has issued one certificate for each of {@code names} into a file store at
     * {@code dir} (waits at most 20 s for all of them to be VALID): a store for a later start to load.
     */
    static FakeIssuer seeded(java.nio.file.Path dir, List<String> names) throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        AutoCertBuilder seed = AutoCert.builder().issuer(issuer).storageDirectory(dir);
        names.forEach(seed::certificate);
        try (AutoCert a = seed.build().start()) {
            long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            while (a.status().stream().anyMatch(s -> s.state() != CertificateStatus.State.VALID) && System.nanoTime() < until) {
                Thread.sleep(20);
            }
        }
        return issuer;
    }

    /**
     * For a scripted issue() call: removes {@code name} from {@code holder[0]} on another thread (its stop() interrupts this
     * order) and waits, at most 10 s, until that interrupt has arrived; {@code removal} gets removeCertificate's answer.
     */
    static void removeAndAwaitInterrupt(AutoCert[] holder, String name, java.util.concurrent.CompletableFuture<Boolean> removal) {
        new Thread(() -> removal.complete(holder[0].removeCertificate(name))).start();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (!Thread.currentThread().isInterrupted() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        org.junit.jupiter.api.Assertions.assertTrue(Thread.currentThread().isInterrupted(), "stop() interrupted the order");
    }

    FakeIssuer(String id, Clock clock) {
        this.id = id;
        this.clock = clock;
        this.pki = new FaultPki("fake CA " + id);
    }

    /** The next issue() call behaves like this (calls queue up in order). */
    FakeIssuer then(Behaviour b) {
        script.addLast(b);
        return this;
    }

    /** The next issue() call throws {@code e}. */
    FakeIssuer failNext(IssuanceException e) {
        return then((i, r) -> {
            throw e;
        });
    }

    /** The next {@code n} issue() calls fail transiently. */
    FakeIssuer failNextTimes(int n, String why) {
        for (int k = 0; k < n; k++) {
            failNext(IssuanceException.transientFailure(why + " #" + (k + 1), null));
        }
        return this;
    }

    int issueCalls() {
        return requests.size();
    }

    @Override
    public String id() {
        return id;
    }

    /** While the test clock is before this, every issue() call fails transiently (a CA outage). */
    volatile Instant downUntil;

    @Override
    public Result issue(Request request) throws IssuanceException, InterruptedException {
        requests.add(request);
        times.add(clock.instant());
        Instant down = downUntil;
        if (down != null && clock.instant().isBefore(down)) {
            throw IssuanceException.transientFailure("CA " + id + " is down until " + down, null);
        }
        Behaviour b = script.pollFirst();
        return b != null ? b.apply(this, request) : valid(request);
    }

    /** A correct certificate for the request, valid from now - {@link #backdate} for {@link #lifetime}. */
    Result valid(Request r) {
        Instant now = clock.instant();
        return new Result(chainFor(r, now.minus(backdate), now.plus(lifetime), r.names().toArray(new String[0])), "classic");
    }

    List<X509Certificate> chainFor(Request r, Instant notBefore, Instant notAfter, String... names) {
        return List.of(pki.leaf(r.publicKey(), notBefore, notAfter, names), pki.ca);
    }

    @Override
    public Optional<Window> renewalWindow(X509Certificate certificate) throws IssuanceException {
        windowCalls.incrementAndGet();
        if (windowCrash != null) {
            throw windowCrash;
        }
        if (windowFailure != null) {
            throw windowFailure;
        }
        return Optional.ofNullable(windowFor != null ? windowFor.apply(certificate) : window);
    }
}
