package io.github.autocert4j.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Two clients handshaking with every node in a loop (every 50 ms, for at most 2 minutes) until closed:
 * one trusting only a forged chain's anchor (it must never complete a handshake), one trusting only the
 * CA's root. Used by the ForgedCertificate tests of the file and the PostgreSQL store.
 *
 * <pre>{@code
 * try (ForgedProbes probes = new ForgedProbes(List.of(server.address()), NAME, forged.trustAnchor(), pebble.issuanceRoot(0), T, 10)) {
 *     probes.awaitTrustedServed(serial, 10);
 *     probes.assertNeverForged();
 * }
 * }</pre>
 */
public final class ForgedProbes implements AutoCloseable {
    private final AtomicInteger forgedServed = new AtomicInteger();
    private final AtomicInteger forgedTried = new AtomicInteger();
    private final List<List<BigInteger>> trustedSerials = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final int minForgedTries;
    private final Thread thread;

    /**
     * @param minForgedTries how many handshakes of the forged-trusting client {@link #assertNeverForged()} waits for
     */
    public ForgedProbes(List<InetSocketAddress> nodes, String name, X509Certificate forgedAnchor, X509Certificate trustedRoot,
                        Duration handshakeTimeout, int minForgedTries) {
        this.minForgedTries = minForgedTries;
        nodes.forEach(n -> trustedSerials.add(new CopyOnWriteArrayList<>()));
        thread = new Thread(() -> {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (!stop.get() && System.nanoTime() < deadline) {
                for (int i = 0; i < nodes.size(); i++) {
                    forgedTried.incrementAndGet();
                    try {
                        TlsProbe.handshake(nodes.get(i), name, forgedAnchor, handshakeTimeout);
                        forgedServed.incrementAndGet();
                    } catch (IOException expected) {
                        // not the forged certificate: right
                    }
                    try {
                        trustedSerials.get(i).add(TlsProbe.handshake(nodes.get(i), name, trustedRoot, handshakeTimeout).serial());
                    } catch (IOException e) {
                        // the fallback before the first certificate is live; counted by awaitTrustedServed
                    }
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "forged-probes");
        thread.setDaemon(true);
        thread.start();
    }

    /** Waits (at most {@code seconds}) until every node served {@code serial} to the client trusting the CA's root. */
    public void awaitTrustedServed(BigInteger serial, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (trustedSerials.stream().anyMatch(l -> !l.contains(serial)) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        for (int i = 0; i < trustedSerials.size(); i++) {
            assertTrue(trustedSerials.get(i).contains(serial), "node " + i + " serves " + serial.toString(16) + " to a client trusting the CA's root");
        }
    }

    /** Probes on (at least minForgedTries tries of the forged-trusting client, at most 30 s), then asserts none succeeded. */
    public void assertNeverForged() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (forgedTried.get() < minForgedTries && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(forgedTried.get() >= minForgedTries, "probed " + forgedTried.get() + " times");
        assertEquals(0, forgedServed.get(), "verified handshakes served with the forged certificate (of " + forgedTried.get() + ")");
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        thread.join(10_000);
    }
}
