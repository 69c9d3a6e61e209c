package io.github.autocert4j.quarkus.test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;

/** Bounded waits shared by the tests. */
final class Awaits {
    private Awaits() {
    }

    /**
     * The status once {@code name} has a CA certificate, within {@code timeout}; fails at once if a
     * validation was refused (the order must not start before the plain port listens).
     */
    static CertificateStatus issued(AutoCert a, String name, PebbleServer pebble, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            CertificateStatus s = a.status(name).orElseThrow();
            if (s.serial() != null) {
                return s;
            }
            // The extension starts ordering only once Quarkus' plain port listens: a refused validation is a failure
            // (it used to happen, and the retry then waited the first backoff step, 1 min), not something to wait out.
            if (s.lastError() != null && s.lastError().contains("connection refused")) {
                throw new AssertionError("the CA's validation of " + name + " was refused: the order started before the plain "
                        + "HTTP port listened: " + s + "\n" + pebble.logTail(30));
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no certificate for " + name + " within " + timeout + ": " + a.status(name) + "\n" + pebble.logTail(30));
    }

    /** Certificates Pebble issued, from its own log. */
    static long issuedByPebble(PebbleServer pebble) throws IOException {
        return Files.readAllLines(pebble.logFile(), StandardCharsets.UTF_8).stream().filter(l -> l.contains("Issued certificate serial")).count();
    }
}
