package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;


import io.github.autocert4j.CertStore;
import io.github.autocert4j.testkit.IntegrationTest;

/**
 * Mutual exclusion across processes, and what happens to the lock of a process that dies or stalls: separate
 * JVMs ({@link LockNode}) on one real PostgreSQL.
 */
@IntegrationTest
class PostgresLockContentionTest {

    static final int JVMS = 3;
    static final int THREADS = 4;
    static final int ITERATIONS = 100;
    /** Threads share stores (3 stores for 4 threads): two threads queue in one store, the rest meet only in the database. */
    static final int STORES_PER_JVM = 3;

    @RegisterExtension
    static final PostgresExtension DB = new PostgresExtension(6);

    private List<String> nodeArgs(String mode, String prefix, String lock, String... more) {
        List<String> args = new ArrayList<>(List.of(mode, DB.pg().jdbcUrl(), DB.pg().user(), DB.pg().password(), prefix, lock));
        args.addAll(List.of(more));
        return args;
    }

    @Test
    void severalJvmsTimesSeveralThreadsNeverHoldTheLockTogether() throws Exception {
        String prefix = PgSupport.freshPrefix("hammer");
        PostgresCertStore store = PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).build();
        store.checkAccess();
        PgSupport.admin(DB.pg(),
                "CREATE TABLE " + prefix + "hammer (id int PRIMARY KEY, inside int NOT NULL, max_inside int NOT NULL, entries bigint NOT NULL)",
                "INSERT INTO " + prefix + "hammer VALUES (1, 0, 0, 0)",
                "CREATE TABLE " + prefix + "hammer_log (token bigint NOT NULL, jvm int NOT NULL, thread int NOT NULL)",
                "GRANT ALL ON " + prefix + "hammer, " + prefix + "hammer_log TO " + DB.pg().user());
        long started = System.nanoTime();
        List<PgSupport.Child> children = new ArrayList<>();
        try {
            for (int j = 0; j < JVMS; j++) {
                List<String> args = nodeArgs("hammer", prefix, "the-one-lock");
                args.addAll(List.of(Integer.toString(j), Integer.toString(THREADS), Integer.toString(ITERATIONS), Integer.toString(STORES_PER_JVM), "20"));
                children.add(new PgSupport.Child("hammer-" + j, args));
            }
            for (PgSupport.Child child : children) {
                child.awaitLine("READY", Duration.ofSeconds(30));
            }
            started = System.nanoTime();
            for (PgSupport.Child child : children) {
                child.send("GO");
            }
            long acquisitions = 0;
            long overlaps = 0;
            for (PgSupport.Child child : children) {
                String done = child.awaitLine("DONE", Duration.ofSeconds(100));
                assertEquals(0, child.awaitExit(Duration.ofSeconds(20)), child.errTail());
                String[] f = done.split("[ =]");
                acquisitions += Long.parseLong(f[2]);
                overlaps += Long.parseLong(f[4]);
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            long expected = (long) JVMS * THREADS * ITERATIONS;
            long maxInside = PgSupport.adminLong(DB.pg(), "SELECT max_inside FROM " + prefix + "hammer");
            long entries = PgSupport.adminLong(DB.pg(), "SELECT entries FROM " + prefix + "hammer");
            long distinctTokens = PgSupport.adminLong(DB.pg(), "SELECT count(DISTINCT token) FROM " + prefix + "hammer_log");
            long tokenSpan = PgSupport.adminLong(DB.pg(), "SELECT max(token) - min(token) + 1 FROM " + prefix + "hammer_log");
            System.out.printf("contention: %d JVMs x %d threads (%d stores each) x %d = %d acquisitions in %.1f s, overlaps %d, max holders at once %d%n",
                    JVMS, THREADS, STORES_PER_JVM, ITERATIONS, acquisitions, seconds, overlaps, maxInside);
            assertEquals(expected, acquisitions);
            assertEquals(0, overlaps, "two holders at once");
            assertEquals(1, maxInside, "the shared counter saw two holders at once");
            assertEquals(expected, entries);
            // every acquisition got its own fencing token, and each one is the previous plus one
            assertEquals(expected, distinctTokens);
            assertEquals(expected, tokenSpan);
            // the last fenced write is the one of the holder with the highest token
            // the JVMs really contended: in token order, the holder's JVM changes again and again
            long jvmSwitches = PgSupport.adminLong(DB.pg(), "SELECT count(*) FROM (SELECT jvm, lag(jvm) OVER (ORDER BY token) AS prev FROM "
                    + prefix + "hammer_log) s WHERE prev IS NOT NULL AND prev <> jvm");
            System.out.printf("contention: the lock passed from one JVM to another %d times%n", jvmSwitches);
            assertTrue(jvmSwitches >= expected / 10, "only " + jvmSwitches + " hand-overs between JVMs");
            long maxToken = PgSupport.adminLong(DB.pg(), "SELECT max(token) FROM " + prefix + "hammer_log");
            String last = new String(store.load("hammer/last").orElseThrow(), StandardCharsets.UTF_8);
            assertTrue(last.endsWith("/" + maxToken), last + " was not written by the last holder (token " + maxToken + ")");
        } finally {
            children.forEach(PgSupport.Child::close);
            store.close();
        }
    }

    @Test
    void threadsOfOneJvmOnSeveralStoresNeverHoldTheLockTogether() throws Exception {
        String prefix = PgSupport.freshPrefix("threads");
        List<PostgresCertStore> stores = List.of(
                PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).build(),
                PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).build());
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        AtomicLong acquisitions = new AtomicLong();
        List<CompletableFuture<Void>> runs = new ArrayList<>();
        for (int t = 0; t < 6; t++) {
            PostgresCertStore store = stores.get(t % 2);
            runs.add(CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 25; i++) {
                    try (CertStore.Lock lock = store.lock("shared")) {
                        maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                        Thread.sleep(1);
                        inside.decrementAndGet();
                        acquisitions.incrementAndGet();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }
            }));
        }
        CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        stores.forEach(PostgresCertStore::close);
        assertEquals(150, acquisitions.get());
        assertEquals(1, maxInside.get());
    }

    @Test
    void aHolderKilledWithSigkillLosesTheLockWithinTheLeaseAndAWaiterTakesOver() throws Exception {
        String prefix = PgSupport.freshPrefix("kill");
        Duration lease = Duration.ofSeconds(3);
        PostgresCertStore waiter = PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).leaseDuration(lease)
                .lockTimeout(Duration.ofSeconds(30)).build();
        waiter.checkAccess();
        try (PgSupport.Child holder = new PgSupport.Child("kill-holder", nodeArgs("hold", prefix, "order", Long.toString(lease.toMillis())))) {
            long heldToken = Long.parseLong(holder.awaitLine("HELD", Duration.ofSeconds(30)).split(" ")[1]);
            // the holder's heartbeat keeps it well past its lease while it lives
            Thread.sleep(lease.toMillis() + 500);
            holder.send("ENSURE");
            assertEquals("HELD", holder.awaitLine("", Duration.ofSeconds(10)));

            CompletableFuture<CertStore.Lock> taken = CompletableFuture.supplyAsync(() -> {
                try {
                    return waiter.lock("order");
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(300);
            assertTrue(!taken.isDone(), "the waiter got the lock while the holder was alive");
            long killedAt = System.nanoTime();
            holder.process.destroyForcibly(); // SIGKILL: no release, no more heartbeats
            try (CertStore.Lock lock = taken.get(20, TimeUnit.SECONDS)) {
                long takeoverMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
                System.out.printf("takeover after SIGKILL: %d ms (lease %d ms)%n", takeoverMillis, lease.toMillis());
                assertTrue(takeoverMillis <= lease.toMillis() + 1000, "takeover took " + takeoverMillis + " ms, lease is " + lease);
                assertEquals(heldToken + 1, lock.fencingToken());
                waiter.store("after-kill", new byte[] {7}, lock);
            }
        } finally {
            waiter.close();
        }
    }

    @Test
    void aStalledHolderCannotWriteAfterItsLeaseWasTakenOver() throws Exception {
        String prefix = PgSupport.freshPrefix("stall");
        Duration lease = Duration.ofSeconds(2);
        PostgresCertStore other = PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).leaseDuration(lease)
                .lockTimeout(Duration.ofSeconds(20)).build();
        other.checkAccess();
        try (PgSupport.Child holder = new PgSupport.Child("stall-holder", nodeArgs("hold", prefix, "order", Long.toString(lease.toMillis())))) {
            holder.awaitLine("HELD", Duration.ofSeconds(30));
            holder.send("WRITE cert/x before-stall");
            assertEquals("WROTE", holder.awaitLine("", Duration.ofSeconds(10)));

            // a stop-the-world pause of the whole process (GC, VM migration, SIGSTOP): no heartbeat, no clock
            PgSupport.signal(holder.process.pid(), "STOP");
            try (CertStore.Lock lock = other.lock("order")) {
                other.store("cert/x", "new-holder".getBytes(StandardCharsets.UTF_8), lock);
                PgSupport.signal(holder.process.pid(), "CONT");
                holder.send("WRITE cert/x stale-holder");
                String answer = holder.awaitLine("", Duration.ofSeconds(10));
                assertTrue(answer.startsWith("LOST "), "the stale holder's fenced write was not rejected: " + answer);
                assertEquals("new-holder", new String(other.load("cert/x").orElseThrow(), StandardCharsets.UTF_8));
                // and it cannot release the new holder's lock either
                holder.send("EXIT");
                holder.awaitLine("BYE", Duration.ofSeconds(10));
                lock.ensureHeld();
                try (PostgresCertStore third = PostgresCertStore.builder(DB.pool()).tablePrefix(prefix)
                        .lockTimeout(Duration.ofMillis(300)).build()) {
                    assertThrows(java.io.IOException.class, () -> third.lock("order"));
                }
            } finally {
                if (holder.process.isAlive()) {
                    PgSupport.signal(holder.process.pid(), "CONT");
                }
            }
        } finally {
            other.close();
        }
    }
}
