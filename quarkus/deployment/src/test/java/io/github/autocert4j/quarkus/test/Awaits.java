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

    /** The status once {@code name} has a CA certificate, within {@code timeout}. */
    static CertificateStatus issued(AutoCert a, String name, PebbleServer pebble, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            CertificateStatus s = a.status(name).orElseThrow();
            if (s.serial() != null) {
                return s;
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
