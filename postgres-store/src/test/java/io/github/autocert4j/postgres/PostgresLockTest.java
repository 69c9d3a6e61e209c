package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.zaxxer.hikari.HikariDataSource;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.testkit.IntegrationTest;

/** Lock semantics in one JVM on a real PostgreSQL: exclusivity, ownership, leases, heartbeat, fencing, cut connections, pool limits. */
@IntegrationTest
class PostgresLockTest {

    @RegisterExtension
    static final PostgresExtension DB = new PostgresExtension(8);

    private static PostgresCertStore.Builder node(String prefix) {
        return PostgresCertStore.builder(DB.pool()).tablePrefix(prefix);
    }

    @Test
    void aHeldLockMakesOthersWaitBoundedAndTokensGrowWithEveryAcquisition() throws Exception {
        String prefix = PgSupport.freshPrefix("excl");
        PostgresCertStore a = node(prefix).build();
        PostgresCertStore b = node(prefix).lockTimeout(Duration.ofMillis(600)).build();
        CertStore.Lock first = a.lock("cert-x");
        long t0 = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> b.lock("cert-x"));
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(waited >= 550 && waited < 3000, "waited " + waited + " ms for a 600 ms lock timeout");
        assertTrue(e.getMessage().contains("timed out after PT0.6S waiting for lock 'cert-x'") && e.getMessage().contains("held by ")
                && e.getMessage().contains("token " + first.fencingToken()), e.getMessage());
        // another name is independent
        try (CertStore.Lock other = b.lock("cert-y")) {
            assertTrue(other.fencingToken() >= 1);
        }
        // a waiter gets it as soon as it is released
        CompletableFuture<CertStore.Lock> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return node(prefix).lockTimeout(Duration.ofSeconds(10)).build().lock("cert-x");
            } catch (IOException ex) {
                throw new RuntimeException(ex);
            }
        });
        Thread.sleep(300);
        assertFalse(waiting.isDone());
        long released = System.nanoTime();
        first.close();
        try (CertStore.Lock second = waiting.get(5, TimeUnit.SECONDS)) {
            long handover = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - released);
            assertTrue(handover < 1000, "hand-over after release took " + handover + " ms");
            assertEquals(first.fencingToken() + 1, second.fencingToken());
        }
        try (CertStore.Lock third = a.lock("cert-x")) {
            assertEquals(first.fencingToken() + 2, third.fencingToken());
        }
        a.close();
        b.close();
    }

    @Test
    void locksAreNotReentrantAndCloseIsIdempotent() throws Exception {
        PostgresCertStore store = node(PgSupport.freshPrefix("reent")).build();
        CertStore.Lock lock = store.lock("n");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> store.lock("n"));
        assertTrue(e.getMessage().contains("not reentrant"), e.getMessage());
        lock.close();
        lock.close();
        assertThrows(CertStore.LockLostException.class, lock::ensureHeld);
        assertThrows(CertStore.LockLostException.class, () -> store.store("k", new byte[1], lock));
        try (CertStore.Lock again = store.lock("n")) {
            again.ensureHeld();
        }
        store.close();
    }

    @Test
    void onlyTheHolderReleases() throws Exception {
        String prefix = PgSupport.freshPrefix("owner");
        PostgresCertStore a = node(prefix).build();
        PostgresCertStore b = node(prefix).lockTimeout(Duration.ofMillis(300)).build();
        LeasedLock held = (LeasedLock) a.lock("n");
        // the release statement matches holder and token: a forged holder id or a wrong token releases nothing
        assertFalse(b.releaseRow("n", "someone-else/pid-1", held.token));
        assertFalse(b.releaseRow("n", held.holder, held.token + 1));
        assertFalse(b.releaseRow("n", held.holder, held.token - 1));
        assertThrows(IOException.class, () -> b.lock("n"), "released by someone who does not hold it");
        held.close();
        b.lock("n").close();
        a.close();
        b.close();
    }

    @Test
    void aStaleHandleCannotReleaseTheNextHoldersLock() throws Exception {
        String prefix = PgSupport.freshPrefix("stale");
        Duration lease = Duration.ofSeconds(1);
        PostgresCertStore dying = node(prefix).leaseDuration(lease).build();
        PostgresCertStore next = node(prefix).leaseDuration(Duration.ofSeconds(30)).lockTimeout(Duration.ofSeconds(10)).build();
        CertStore.Lock old = dying.lock("n");
        dying.close(); // heartbeat stops: the lease runs out
        try (CertStore.Lock current = next.lock("n")) {
            assertEquals(old.fencingToken() + 1, current.fencingToken());
            assertThrows(CertStore.LockLostException.class, old::ensureHeld);
            old.close(); // must not release `current`
            PostgresCertStore third = node(prefix).lockTimeout(Duration.ofMillis(500)).build();
            assertThrows(IOException.class, () -> third.lock("n"));
            current.ensureHeld();
            next.store("k", new byte[] {1}, current);
        }
        next.close();
    }

    @Test
    void theHeartbeatExtendsALongHoldBeyondTheLease() throws Exception {
        String prefix = PgSupport.freshPrefix("long");
        Duration lease = Duration.ofSeconds(2);
        PostgresCertStore holder = node(prefix).leaseDuration(lease).build();
        PostgresCertStore other = node(prefix).leaseDuration(lease).lockTimeout(Duration.ofMillis(5500)).build();
        try (CertStore.Lock lock = holder.lock("order")) {
            long t0 = System.nanoTime();
            // another node keeps trying for almost three leases and never gets it
            assertThrows(IOException.class, () -> other.lock("order"));
            assertTrue(System.nanoTime() - t0 > 3 * lease.toNanos() - TimeUnit.MILLISECONDS.toNanos(600));
            lock.ensureHeld();
            holder.store("cert", new byte[] {1}, lock);
            long millisLeft = PgSupport.adminLong(DB.pg(), "SELECT (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::bigint FROM "
                    + prefix + "locks WHERE name = 'order'");
            assertTrue(millisLeft > 0, "lease not extended");
        }
        holder.close();
        other.close();
    }

    @Test
    void aFencedWriteIsRejectedByTheDatabaseOnceAnotherNodeTookTheLock() throws Exception {
        String prefix = PgSupport.freshPrefix("fence");
        PostgresCertStore a = node(prefix).leaseDuration(Duration.ofSeconds(30)).build();
        PostgresCertStore b = node(prefix).lockTimeout(Duration.ofSeconds(5)).build();
        CertStore.Lock stale = a.lock("order");
        a.store("cert", "from-a".getBytes(), stale);
        // Injected fault: the lease ends on the database's clock while A's own clock says it has 30 s left
        // (a paused process, a clock step on the server). Only the database check can catch this.
        PgSupport.admin(DB.pg(), "UPDATE " + prefix + "locks SET expires_at = clock_timestamp() - interval '1 second' WHERE name = 'order'");
        try (CertStore.Lock current = b.lock("order")) {
            b.store("cert", "from-b".getBytes(), current);
            CertStore.LockLostException e = assertThrows(CertStore.LockLostException.class,
                    () -> a.store("cert", "stale-from-a".getBytes(), stale));
            assertTrue(e.getMessage().contains("'cert' was not stored"), e.getMessage());
            assertArrayEquals("from-b".getBytes(), b.load("cert").orElseThrow());
            assertThrows(CertStore.LockLostException.class, stale::ensureHeld);
            stale.close();
            current.ensureHeld();
            b.store("cert", "from-b-2".getBytes(), current);
        }
        // a lock from another store instance is refused outright
        try (CertStore.Lock foreign = b.lock("other")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.store("cert", new byte[1], foreign));
            assertTrue(e.getMessage().contains("not taken from this PostgresCertStore"), e.getMessage());
        }
        a.close();
        b.close();
    }

    @Test
    void theHeartbeatReportsTheLockLostWhenItsLeaseWasTakenOver() throws Exception {
        String prefix = PgSupport.freshPrefix("hblost");
        Duration lease = Duration.ofSeconds(3);
        PostgresCertStore a = node(prefix).leaseDuration(lease).build();
        PostgresCertStore b = node(prefix).leaseDuration(lease).build();
        CertStore.Lock stale = a.lock("order");
        PgSupport.admin(DB.pg(), "UPDATE " + prefix + "locks SET expires_at = clock_timestamp() - interval '1 second' WHERE name = 'order'");
        try (CertStore.Lock current = b.lock("order")) {
            long deadline = System.nanoTime() + lease.toNanos() / 3 + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < deadline && isHeld(stale)) {
                Thread.sleep(50);
            }
            CertStore.LockLostException e = assertThrows(CertStore.LockLostException.class, stale::ensureHeld);
            assertTrue(e.getMessage().contains("heartbeat found its lease gone"), e.getMessage());
            current.ensureHeld();
        }
        a.close();
        b.close();
    }

    private static boolean isHeld(CertStore.Lock lock) {
        try {
            lock.ensureHeld();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aLockSurvivesItsConnectionsBeingCut() throws Exception {
        String prefix = PgSupport.freshPrefix("cut");
        Duration lease = Duration.ofSeconds(3);
        PostgresCertStore store = node(prefix).leaseDuration(lease).build();
        try (CertStore.Lock lock = store.lock("order")) {
            long token = lock.fencingToken();
            long until = System.nanoTime() + 2 * lease.toNanos();
            int cuts = 0;
            while (System.nanoTime() < until) {
                cuts += (int) PgSupport.terminateBackendsOf(DB.pg(), DB.pg().user());
                Thread.sleep(400);
            }
            assertTrue(cuts > 0, "no connection was cut");
            // the pool replaced the dead connections; the heartbeat kept the lease; the row is unchanged
            lock.ensureHeld();
            store.store("cert", new byte[] {1}, lock);
            assertEquals(token, PgSupport.adminLong(DB.pg(), "SELECT token FROM " + prefix + "locks WHERE name = 'order'"));
        }
        store.close();
    }

    @Test
    void anExhaustedPoolGivesABoundedClearErrorAndAHeartbeatStarvedPastTheLeaseLosesTheLock() throws Exception {
        String prefix = PgSupport.freshPrefix("pool");
        try (HikariDataSource one = PgSupport.pool(DB.pg(), 1, Duration.ofMillis(300))) {
            PostgresCertStore store = PostgresCertStore.builder(one).tablePrefix(prefix).leaseDuration(Duration.ofSeconds(2))
                    .lockTimeout(Duration.ofSeconds(10)).build();
            store.checkAccess();
            try (Connection hog = one.getConnection()) {
                for (PostgresCertStoreTest.ThrowingCall call : new PostgresCertStoreTest.ThrowingCall[] {
                        () -> store.load("k"), () -> store.store("k", new byte[1]), () -> store.lock("l").close()}) {
                    long t0 = System.nanoTime();
                    IOException e = assertThrows(IOException.class, call::run);
                    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                    assertTrue(millis < 3000, "took " + millis + " ms");
                    assertTrue(e.getMessage().contains("could not get a connection from the DataSource")
                            && e.getMessage().contains("exhausted"), e.getMessage());
                }
                assertTrue(hog.isValid(1));
            }
            // the heartbeat needs a connection too: starve it for longer than the lease and the lock is lost
            CertStore.Lock lock = store.lock("l");
            try (Connection hog = one.getConnection()) {
                Thread.sleep(2600);
                assertThrows(CertStore.LockLostException.class, lock::ensureHeld);
                assertTrue(hog.isValid(1));
            }
            lock.close();
            store.store("k", new byte[] {5});
            assertArrayEquals(new byte[] {5}, store.load("k").orElseThrow());
            store.close();
        }
    }
}
