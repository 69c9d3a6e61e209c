package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PostgresServer;

/**
 * The server itself fails: down at first use, restarted or killed while a lock is held, restarted under a
 * watch. Unpooled DataSources, so every operation dials the server afresh as a node's pool would after a restart.
 */
@IntegrationTest
class PostgresFaultTest {

    static PostgresServer pg;

    @BeforeAll
    static void start() throws Exception {
        pg = PostgresServer.startNew();
    }

    @AfterAll
    static void stop() {
        if (pg != null) {
            pg.close();
        }
    }

    @AfterEach
    void serverUpAgain() throws IOException {
        pg.start();
    }

    private static PostgresCertStore.Builder node(String prefix) {
        return PostgresCertStore.builder(pg.dataSource()).tablePrefix(prefix);
    }

    @Test
    void downAtFirstUseFailsFastAndClearlyThenWorksOnceTheServerIsUp() throws Exception {
        pg.stop();
        PostgresCertStore store = node(PgSupport.freshPrefix("down")).lockTimeout(Duration.ofSeconds(60)).build(); // build() never connects
        for (PostgresCertStoreTest.ThrowingCall call : new PostgresCertStoreTest.ThrowingCall[] {
                store::checkAccess, () -> store.load("k"), () -> store.lock("l").close()}) {
            long t0 = System.nanoTime();
            IOException e = assertThrows(IOException.class, call::run);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(millis < 5000, "took " + millis + " ms");
            assertTrue(e.getMessage().contains("could not get a connection from the DataSource")
                    && e.getMessage().contains("refused") && !e.getMessage().contains(pg.password()), e.getMessage());
            // down, not misconfigured: AutoCertBuilder.build() starts the node anyway
            assertInstanceOf(CertStore.UnavailableException.class, e);
        }
        pg.start();
        store.checkAccess();
        store.store("k", new byte[] {1});
        assertArrayEquals(new byte[] {1}, store.load("k").orElseThrow());
        store.close();
    }

    @Test
    void aRestartShorterThanTheLeaseKeepsTheLockAndTheHeartbeatResumes() throws Exception {
        String prefix = PgSupport.freshPrefix("restart");
        Duration lease = Duration.ofSeconds(6);
        PostgresCertStore store = node(prefix).leaseDuration(lease).build();
        try (CertStore.Lock lock = store.lock("order")) {
            store.store("cert", new byte[] {1}, lock);
            long t0 = System.nanoTime();
            pg.restart();
            long outage = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            // past the lease that was current before the restart: only resumed heartbeats keep it
            Thread.sleep(lease.toMillis() + 1000);
            lock.ensureHeld();
            store.store("cert", new byte[] {2}, lock);
            assertEquals(lock.fencingToken(), PgSupport.adminLong(pg, "SELECT token FROM " + prefix + "locks WHERE name = 'order'"));
            PostgresCertStore other = node(prefix).lockTimeout(Duration.ofMillis(500)).build();
            assertThrows(IOException.class, () -> other.lock("order"));
            System.out.printf("restart: server down %d ms, lock kept (lease %s)%n", outage, lease);
        }
        assertArrayEquals(new byte[] {2}, store.load("cert").orElseThrow());
        store.close();
    }

    @Test
    void anOutageLongerThanTheLeaseReportsTheLockLostAndRejectsItsWrites() throws Exception {
        String prefix = PgSupport.freshPrefix("outage");
        Duration lease = Duration.ofSeconds(2);
        PostgresCertStore store = node(prefix).leaseDuration(lease).build();
        CertStore.Lock lock = store.lock("order");
        store.store("cert", new byte[] {1}, lock);
        pg.kill(); // a crash: nothing is released, nothing is extended
        Thread.sleep(lease.toMillis() + 800);
        CertStore.LockLostException lost = assertThrows(CertStore.LockLostException.class, lock::ensureHeld);
        assertTrue(lost.getMessage().contains("ran out"), lost.getMessage());
        pg.start();
        assertThrows(CertStore.LockLostException.class, () -> store.store("cert", new byte[] {9}, lock));
        // the row's lease is over on the database's clock too: another node takes the lock at once
        PostgresCertStore other = node(prefix).lockTimeout(Duration.ofSeconds(2)).build();
        try (CertStore.Lock next = other.lock("order")) {
            assertEquals(lock.fencingToken() + 1, next.fencingToken());
        }
        assertArrayEquals(new byte[] {1}, store.load("cert").orElseThrow(), "the committed value survived the crash");
        lock.close();
        store.close();
    }

    @Test
    void aWatchAsksForAReReadAfterARestartAndKeepsNotifying() throws Exception {
        String prefix = PgSupport.freshPrefix("watchrestart");
        PostgresCertStore watching = node(prefix).build();
        PostgresCertStore writer = node(prefix).build();
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        try (AutoCloseable watch = watching.watch("acme/", seen::add).orElseThrow()) {
            writer.store("acme/a", new byte[] {1});
            assertEquals("acme/a", seen.poll(2, TimeUnit.SECONDS));
            pg.restart();
            assertEquals("acme/", seen.poll(15, TimeUnit.SECONDS), "no re-read request after the restart");
            writer.store("acme/b", new byte[] {1});
            assertEquals("acme/b", seen.poll(2, TimeUnit.SECONDS));
        }
        watching.close();
        writer.close();
    }

    /**
     * After an outage long enough for a growing backoff to reach many seconds (it went 0.25, 0.5, 1, 2, 4, 8, 16 s
     * and so came back up to 16 s late), the watch listens again and asks for a re-read within 2 s of the database
     * answering.
     */
    @Test
    void aWatchListensAgainWithinTwoSecondsOfTheDatabaseAnsweringAfterALongOutage() throws Exception {
        String prefix = PgSupport.freshPrefix("watchlong");
        PostgresCertStore watching = node(prefix).build();
        PostgresCertStore writer = node(prefix).build();
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        try (AutoCloseable watch = watching.watch("certs/", seen::add).orElseThrow()) {
            pg.stop();
            Thread.sleep(12_000);
            pg.start(); // returns once the server accepts connections
            long up = System.nanoTime();
            assertEquals("certs/", seen.poll(10, TimeUnit.SECONDS), "no re-read request after the outage");
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - up);
            assertTrue(millis <= 2000, "LISTEN back " + millis + " ms after the database answered (at most 2 s)");
            writer.store("certs/x", new byte[] {1});
            assertEquals("certs/x", seen.poll(2, TimeUnit.SECONDS));
            System.out.printf("long outage: LISTEN back %d ms after the database answered%n", millis);
        }
        watching.close();
        writer.close();
    }
}
