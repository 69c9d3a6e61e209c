package io.github.autocert4j;

import io.github.autocert4j.internal.store.LeftoverSweep;
import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a kill or an abandoned order leaves in the file store: temporary files of a write cut halfway are
 * removed at start (never those of a write still in progress), and challenge answers older than the maximum age
 * are neither answered nor kept. The PostgreSQL store's rows: {@code LeftoverSweepPostgresTest}.
 */
class LeftoverSweepTest {
    @TempDir
    Path dir;

    /** A pid that is no process: beyond Linux's pid_max (at most 2^22). */
    static final long DEAD_PID = 4_999_999;

    @Test
    void temporaryFilesOfAKilledWriterAreRemovedAndThoseOfALiveWriteKept() throws Exception {
        FileCertStore store = FileCertStore.of(dir);
        store.store("certs/a/a.pem", "A".getBytes(StandardCharsets.US_ASCII));
        Path certDir = dir.resolve("certs/a");
        Path killed = certDir.resolve(".a.pem.tmp-" + DEAD_PID + "-31");              // its writer is gone
        Path reusedPid = certDir.resolve(".a.pem.tmp-" + ProcessHandle.current().pid() + "-7"); // our pid, before we started (a container's pid 1)
        Path inProgress = certDir.resolve(".a.pem.tmp-" + ProcessHandle.current().pid() + "-8"); // our own write, now
        Path otherLive = certDir.resolve(".b.pem.tmp-" + ProcessHandle.current().parent().orElseThrow().pid() + "-9"); // a live process's
        Path stale = certDir.resolve(".c.pem.tmp-" + ProcessHandle.current().parent().orElseThrow().pid() + "-10"); // live pid, 1 h old
        for (Path p : new Path[] {killed, reusedPid, inProgress, otherLive, stale}) {
            Files.write(p, "half".getBytes(StandardCharsets.US_ASCII));
        }
        Files.setLastModifiedTime(killed, store.beforeStart());
        Files.setLastModifiedTime(reusedPid, store.beforeStart());
        Files.setLastModifiedTime(stale, FileTime.from(Instant.now().minus(Duration.ofHours(1))));

        assertEquals(3, store.removeLeftovers());
        assertFalse(Files.exists(killed));
        assertFalse(Files.exists(reusedPid));
        assertFalse(Files.exists(stale), "no write takes an hour, whoever wrote it");
        assertTrue(Files.exists(inProgress), "a write of this process in progress is never touched");
        assertTrue(Files.exists(otherLive), "nor a recent one of another live process (it may be about to rename it)");
        assertEquals(Optional.of("A"), store.load("certs/a/a.pem").map(b -> new String(b, StandardCharsets.US_ASCII)));
        assertEquals(0, store.removeLeftovers());
    }

    @Test
    void oldChallengeAnswersAreSweptAndFreshOnesKept() throws Exception {
        FileCertStore store = FileCertStore.of(dir);
        for (String key : new String[] {StoreLayout.http01Challenge("abandoned"), StoreLayout.http01Challenge("pending"),
                StoreLayout.tlsAlpn01Challenge("old.example"), "certs/x/x.pem"}) {
            store.store(key, "v".getBytes(StandardCharsets.US_ASCII));
        }
        FileTime twoHoursAgo = FileTime.from(Instant.now().minus(Duration.ofHours(2)));
        Files.setLastModifiedTime(dir.resolve(StoreLayout.http01Challenge("abandoned")), twoHoursAgo);
        Files.setLastModifiedTime(dir.resolve(StoreLayout.tlsAlpn01Challenge("old.example")), twoHoursAgo);
        Files.setLastModifiedTime(dir.resolve("certs/x/x.pem"), twoHoursAgo);
        Path tmp = dir.resolve("challenges/http-01/.pending.tmp-" + DEAD_PID + "-1");
        Files.write(tmp, new byte[] {1});
        Files.setLastModifiedTime(tmp, store.beforeStart());

        LeftoverSweep sweep = new LeftoverSweep(store, Duration.ofHours(1));
        assertEquals(new LeftoverSweep.Swept(1, 2), sweep.run());
        assertEquals(java.util.List.of(StoreLayout.http01Challenge("pending")), store.list("challenges/"),
                "the abandoned answers are gone, the pending one stays");
        assertTrue(store.load("certs/x/x.pem").isPresent(), "only challenges expire, never certificates");
        assertEquals(new LeftoverSweep.Swept(0, 0), sweep.run());
    }

    @Test
    void theManagerSweepsAtStartAndNoLongerAnswersAnAbandonedToken() throws Exception {
        FileCertStore store = FileCertStore.of(dir);
        String key = StoreLayout.http01Challenge("leftoverToken");
        store.store(key, "leftoverToken.thumb".getBytes(StandardCharsets.US_ASCII));
        Files.setLastModifiedTime(dir.resolve(key), FileTime.from(Instant.now().minus(Duration.ofHours(2))));
        Path tmp = dir.resolve("certs/.x.pem.tmp-" + DEAD_PID + "-3");
        Files.createDirectories(tmp.getParent());
        Files.write(tmp, new byte[] {1});
        Files.setLastModifiedTime(tmp, store.beforeStart());

        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        try (AutoCert a = AutoCert.builder().issuer(issuer).certificate("sweep.test").store(store).build()) {
            assertEquals(404, a.http01().answer("leftoverToken").status(), "an abandoned order's token is not answered, even before the sweep");
            a.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while ((Files.exists(tmp) || Files.exists(dir.resolve(key))) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertFalse(Files.exists(tmp), "the temporary file of the killed write is removed at start");
            assertFalse(Files.exists(dir.resolve(key)), "the abandoned challenge file is removed at start");
        }
    }
}
