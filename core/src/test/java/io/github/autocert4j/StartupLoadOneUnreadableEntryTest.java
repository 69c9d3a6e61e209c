package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An eager start (lazy loading off) with one stored entry that cannot be read (permission denied, not "the store is
 * down") still loads every readable certificate before start() returns: the failed entry is an answer of the store,
 * not a reason to hand the load to the background (review of issue 23: start() returned with 1 of 39 live).
 */
class StartupLoadOneUnreadableEntryTest {
    @TempDir
    Path dir;

    @Test
    void oneUnreadableEntryDoesNotEndTheWaitOfStart() throws Exception {
        List<String> names = IntStream.range(0, 40).mapToObj(i -> "e" + i + ".eager.test").toList();
        FakeIssuer issuer = FakeIssuer.seeded(dir, names);
        CertStore store = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (key.startsWith("certs/")) {
                    try { Thread.sleep(10); } catch (InterruptedException e) { throw new IOException(e); }
                    if (key.contains("e1.eager.test")) {
                        throw new IOException("permission denied");
                    }
                }
                return super.load(key);
            }
        };
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store).lazyLoadAbove(Integer.MAX_VALUE);
        names.forEach(b::certificate);
        try (AutoCert a = b.build()) {
            long t0 = System.nanoTime();
            a.start();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            long valid = a.status().stream().filter(s -> s.state() == CertificateStatus.State.VALID).count();
            assertEquals(names.size() - 1, valid, "eager start: every readable certificate loaded when start() returns (took " + ms + " ms)");
        }
    }
}
