package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

import com.zaxxer.hikari.HikariDataSource;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.IntegrationTest;

/** The key/value half of the store, its schema, its configuration, its errors and its watch, on a real PostgreSQL. */
@IntegrationTest
class PostgresCertStoreTest {

    @RegisterExtension
    static final PostgresExtension DB = new PostgresExtension(8);

    private static PostgresCertStore store(String what) {
        return PostgresCertStore.builder(DB.pool()).tablePrefix(PgSupport.freshPrefix(what)).build();
    }

    // ------------------------------------------------------------------ configuration

    @Test
    void buildRejectsInvalidConfigurationNamingTheFieldAndTheFix() {
        assertMessage(() -> PostgresCertStore.builder(null), "dataSource", "javax.sql.DataSource");
        for (String bad : new String[] {null, "", "Autocert_", "a-b_", "x;drop table y;", "1abc_", "a".repeat(41), "public.certs_"}) {
            assertMessage(() -> PostgresCertStore.builder(DB.pool()).tablePrefix(bad), "tablePrefix", "e.g. \"autocert4j_\"");
        }
        for (Duration bad : new Duration[] {null, Duration.ZERO, Duration.ofMillis(500), Duration.ofHours(2), Duration.ofSeconds(-1)}) {
            assertMessage(() -> PostgresCertStore.builder(DB.pool()).leaseDuration(bad), "leaseDuration", "Duration.ofSeconds(30)");
        }
        for (Duration bad : new Duration[] {null, Duration.ZERO, Duration.ofSeconds(-5)}) {
            assertMessage(() -> PostgresCertStore.builder(DB.pool()).lockTimeout(bad), "lockTimeout", "Duration.ofMinutes(10)");
        }
        PostgresCertStore ok = PostgresCertStore.builder(DB.pool()).tablePrefix("_x9_").leaseDuration(Duration.ofSeconds(1))
                .lockTimeout(Duration.ofMillis(1)).build();
        assertEquals("_x9_", ok.tablePrefix());
        PostgresCertStore defaults = PostgresCertStore.builder(DB.pool()).build();
        assertEquals("autocert4j_", defaults.tablePrefix());
        assertEquals(Duration.ofSeconds(30), defaults.leaseDuration());
        assertEquals(Duration.ofMinutes(10), defaults.lockTimeout());
    }

    private static void assertMessage(Supplier<PostgresCertStore.Builder> config, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config.get().build());
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' does not mention " + part);
        }
    }

    @Test
    void invalidKeysAreRejected() {
        PostgresCertStore store = store("keys");
        for (String bad : new String[] {null, "", "../x", "/abs", "a//b", "a b", "a/../b", "x%", "é", "a".repeat(1001)}) {
            assertThrows(IllegalArgumentException.class, () -> store.load(bad), "key " + bad);
            assertThrows(IllegalArgumentException.class, () -> store.store(bad, new byte[1]), "key " + bad);
            assertThrows(IllegalArgumentException.class, () -> store.delete(bad), "key " + bad);
            assertThrows(IllegalArgumentException.class, () -> store.lock(bad), "lock " + bad);
        }
    }

    // ------------------------------------------------------------------ key/value

    @Test
    void storesLoadsListsAndDeletesArbitraryBytes() throws Exception {
        PostgresCertStore store = store("kv");
        byte[] everyByte = new byte[256];
        for (int i = 0; i < 256; i++) {
            everyByte[i] = (byte) i;
        }
        byte[] big = new byte[1 << 20];
        new Random(7).nextBytes(big);
        assertTrue(store.load("acme/a/account.key.pem").isEmpty());
        store.store("acme/a/account.key.pem", everyByte);
        store.store("acme/a/certs/x.test/x.test.pem", big);
        store.store("acme/a/empty", new byte[0]);
        store.store("acme/b/other", "b".getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(everyByte, store.load("acme/a/account.key.pem").orElseThrow());
        assertArrayEquals(big, store.load("acme/a/certs/x.test/x.test.pem").orElseThrow());
        assertArrayEquals(new byte[0], store.load("acme/a/empty").orElseThrow());
        // replaced, not appended
        store.store("acme/a/account.key.pem", new byte[] {0, 0});
        assertArrayEquals(new byte[] {0, 0}, store.load("acme/a/account.key.pem").orElseThrow());

        assertEquals(Set.of("acme/a/account.key.pem", "acme/a/certs/x.test/x.test.pem", "acme/a/empty"), new HashSet<>(store.list("acme/a/")));
        assertEquals(4, store.list("").size());
        assertEquals(List.of(), store.list("nothing/"));
        assertTrue(store.delete("acme/a/empty"));
        assertFalse(store.delete("acme/a/empty"));
        assertTrue(store.load("acme/a/empty").isEmpty());
        assertEquals(2, store.list("acme/a/").size());
    }

    @Test
    void listMatchesThePrefixLiterallyNotAsALikePattern() throws Exception {
        PostgresCertStore store = store("like");
        for (String key : List.of("a_b/1", "aXb/2", "a_bc/3", "ab/4", "A_b/5")) {
            store.store(key, new byte[] {1});
        }
        assertEquals(Set.of("a_b/1", "a_bc/3"), new HashSet<>(store.list("a_b")));
        assertEquals(Set.of("a_b/1"), new HashSet<>(store.list("a_b/")));
        assertEquals(List.of(), store.list("a%"));
        assertEquals(List.of(), store.list("%"));
        assertEquals(List.of(), store.list("a!"));
        assertEquals(List.of(), store.list("a\\"));
        assertEquals(Set.of("aXb/2"), new HashSet<>(store.list("aX")));
        assertEquals(5, store.list("").size());
    }

    @Test
    void concurrentWritersNeverLeaveAMixedOrPartialValue() throws Exception {
        PostgresCertStore store = store("atomic");
        int size = 256 * 1024;
        store.store("bundle", filled(size, (byte) 0));
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong reads = new AtomicLong();
        List<CompletableFuture<Void>> tasks = new ArrayList<>();
        for (int w = 1; w <= 4; w++) {
            byte id = (byte) w;
            tasks.add(CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 25; i++) {
                    try {
                        store.store("bundle", filled(size, (byte) (id * 16 + i % 16)));
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                }
            }));
        }
        List<CompletableFuture<Void>> readers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            readers.add(CompletableFuture.runAsync(() -> {
                while (writing.get()) {
                    try {
                        byte[] v = store.load("bundle").orElseThrow();
                        assertEquals(size, v.length, "partial value");
                        for (byte b : v) {
                            if (b != v[0]) {
                                throw new AssertionError("mixed value: " + v[0] + " and " + b);
                            }
                        }
                        reads.incrementAndGet();
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                }
            }));
        }
        CompletableFuture.allOf(tasks.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        writing.set(false);
        CompletableFuture.allOf(readers.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        assertTrue(reads.get() > 10, "readers did not run: " + reads.get());
        assertEquals(1, PgSupport.adminLong(DB.pg(), "SELECT count(*) FROM " + store.tablePrefix() + "entries WHERE key = 'bundle'"));
    }

    private static byte[] filled(int size, byte b) {
        byte[] v = new byte[size];
        Arrays.fill(v, b);
        return v;
    }

    // ------------------------------------------------------------------ schema

    @Test
    void nodesStartingTogetherCreateTheSchemaOnceWithoutErrors() throws Exception {
        for (int round = 0; round < 4; round++) {
            String prefix = PgSupport.freshPrefix("schema");
            int nodes = 8;
            CyclicBarrier together = new CyclicBarrier(nodes);
            List<CompletableFuture<Void>> starts = new ArrayList<>();
            for (int n = 0; n < nodes; n++) {
                // unpooled: every node has its own session, like separate servers
                PostgresCertStore store = PostgresCertStore.builder(DB.pg().dataSource()).tablePrefix(prefix).build();
                starts.add(CompletableFuture.runAsync(() -> {
                    try {
                        together.await(10, TimeUnit.SECONDS);
                        store.checkAccess();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }));
            }
            CompletableFuture.allOf(starts.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            assertEquals(1, PgSupport.adminLong(DB.pg(), "SELECT count(*) FROM " + prefix + "schema_version"));
            assertEquals(1, PgSupport.adminLong(DB.pg(), "SELECT max(version) FROM " + prefix + "schema_version"));
            assertEquals(3, PgSupport.adminLong(DB.pg(), "SELECT count(*) FROM pg_tables WHERE tablename LIKE ?", prefix.replace("_", "\\_") + "%"));
        }
    }

    @Test
    void aNewerSchemaVersionIsRefusedWithAClearMessage() throws Exception {
        PostgresCertStore store = store("newer");
        store.checkAccess();
        PgSupport.admin(DB.pg(), "INSERT INTO " + store.tablePrefix() + "schema_version (version) VALUES (2)");
        PostgresCertStore older = PostgresCertStore.builder(DB.pool()).tablePrefix(store.tablePrefix()).build();
        IOException e = assertThrows(IOException.class, () -> older.load("x"));
        assertTrue(e.getMessage().contains("schema version 2") && e.getMessage().contains("upgrade autocert4j-postgres"), e.getMessage());
    }

    @Test
    void aUserWithoutCreateRightsGetsTheFixAndWorksOnTablesAnAdministratorCreated() throws Exception {
        String prefix = PgSupport.freshPrefix("limited");
        String role = prefix + "role";
        PgSupport.admin(DB.pg(), "CREATE ROLE " + role + " LOGIN PASSWORD 'limited-secret-pw'");
        DataSource limited = DB.pg().dataSource(role, "limited-secret-pw");
        PostgresCertStore store = PostgresCertStore.builder(limited).tablePrefix(prefix).build();
        IOException e = assertThrows(IOException.class, store::checkAccess);
        String m = e.getMessage();
        assertTrue(m.contains("42501") && m.contains("user '" + role + "'") && m.contains("GRANT CREATE ON SCHEMA public TO " + role)
                && m.contains("schema-v1.sql"), m);
        assertFalse(m.contains("limited-secret-pw"), m);

        // the administrator runs the documented SQL and grants row rights only
        List<String> ddl = new ArrayList<>(Schema.statements(1, prefix));
        ddl.add("GRANT SELECT, INSERT, UPDATE, DELETE ON " + prefix + "entries, " + prefix + "locks, " + prefix + "schema_version TO " + role);
        PgSupport.admin(DB.pg(), ddl.toArray(String[]::new));
        store.checkAccess();
        store.store("k", new byte[] {9});
        assertArrayEquals(new byte[] {9}, store.load("k").orElseThrow());
        try (var lock = store.lock("l")) {
            store.store("k", new byte[] {10}, lock);
        }
        store.close();
    }

    // ------------------------------------------------------------------ errors

    @Test
    void anUnreachableDatabaseFailsFastWithAClearMessageAndNoPassword() throws Exception {
        PGSimpleDataSource nowhere = new PGSimpleDataSource();
        nowhere.setServerNames(new String[] {"127.0.0.1"});
        nowhere.setPortNumbers(new int[] {FreePorts.loopback()});
        nowhere.setDatabaseName("app");
        nowhere.setUser("app");
        nowhere.setPassword("Sup3r-secret");
        nowhere.setConnectTimeout(3);
        PostgresCertStore store = PostgresCertStore.builder(nowhere).lockTimeout(Duration.ofSeconds(30)).build();
        for (ThrowingCall call : List.<ThrowingCall>of(store::checkAccess, () -> store.load("k"), () -> store.store("k", new byte[1]),
                () -> store.list(""), () -> store.delete("k"), () -> store.lock("l").close(), () -> store.watch("", k -> { }))) {
            long t0 = System.nanoTime();
            IOException e = assertThrows(IOException.class, call::run);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(millis < 5000, "took " + millis + " ms");
            String m = e.getMessage();
            assertTrue(m.contains("could not get a connection from the DataSource") && m.contains("Check that PostgreSQL is running"), m);
            assertFalse(m.contains("Sup3r-secret"), m);
        }

        PostgresCertStore wrongPassword = PostgresCertStore.builder(DB.pg().dataSource(DB.pg().user(), "Wr0ng-pw")).build();
        IOException e = assertThrows(IOException.class, wrongPassword::checkAccess);
        assertTrue(e.getMessage().contains("rejected the DataSource's user or password"), e.getMessage());
        assertFalse(e instanceof CertStore.UnavailableException, "a wrong password is a misconfiguration: build() must fail on it");
        assertFalse(e.getMessage().contains("Wr0ng-pw"), e.getMessage());

        PGSimpleDataSource noDb = (PGSimpleDataSource) DB.pg().dataSource();
        noDb.setDatabaseName("no_such_db");
        e = assertThrows(IOException.class, PostgresCertStore.builder(noDb).build()::checkAccess);
        assertTrue(e.getMessage().contains("does not exist: create it"), e.getMessage());
    }

    @FunctionalInterface
    interface ThrowingCall {
        void run() throws Exception;
    }

    @Test
    void messagesMaskPasswords() {
        assertEquals("jdbc:postgresql://h/db?user=a&password=***", SqlFailures.mask("jdbc:postgresql://h/db?user=a&password=s3cr3t"));
        assertEquals("postgresql://a:***@h/db", SqlFailures.mask("postgresql://a:s3cr3t@h/db"));
        assertEquals("PWD: *** rest", SqlFailures.mask("PWD: hunter2 rest"));
    }

    @Test
    void toStringShowsConfigurationButNeverValues() throws Exception {
        PostgresCertStore store = store("tostring");
        store.store("secret", "-----BEGIN PRIVATE KEY-----".getBytes(StandardCharsets.UTF_8));
        String s = store.toString();
        assertTrue(s.contains(store.tablePrefix() + "entries") && s.contains("PT30S"), s);
        assertFalse(s.contains("PRIVATE") || s.contains(DB.pg().password()) || s.contains("jdbc:"), s);
        try (var lock = store.lock("l")) {
            assertFalse(lock.toString().contains("/pid-"), "holder id leaked: " + lock);
        }
    }

    // ------------------------------------------------------------------ watch

    @Test
    void aWatchOnItsOwnListenDataSourceHoldsNoneOfThePoolsConnections() throws Exception {
        String prefix = PgSupport.freshPrefix("listends");
        try (HikariDataSource small = PgSupport.pool(DB.pg(), 2, Duration.ofSeconds(2))) {
            PostgresCertStore store = PostgresCertStore.builder(small).tablePrefix(prefix).listenDataSource(DB.pg().dataSource()).build();
            BlockingQueue<String> seen = new LinkedBlockingQueue<>();
            try (AutoCloseable watch = store.watch("certs/", seen::add).orElseThrow()) {
                assertEquals(0, small.getHikariPoolMXBean().getActiveConnections(), "the LISTEN session is not one of the pool's");
                store.store("certs/a", new byte[] {1});
                assertEquals("certs/a", seen.poll(2, TimeUnit.SECONDS));
            }
            store.close();
        }
    }

    @Test
    void watchTellsOtherNodesWithinASecondAndAsksForAReReadAfterItsConnectionWasCut() throws Exception {
        String prefix = PgSupport.freshPrefix("watch");
        try (HikariDataSource watcherPool = PgSupport.pool(DB.pg(), 2, Duration.ofSeconds(2))) {
            PostgresCertStore watching = PostgresCertStore.builder(watcherPool).tablePrefix(prefix).build();
            PostgresCertStore writer = PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).build();
            BlockingQueue<String> seen = new LinkedBlockingQueue<>();
            AutoCloseable watch = watching.watch("acme/", seen::add).orElseThrow();
            assertEquals(1, watcherPool.getHikariPoolMXBean().getActiveConnections(), "the watch holds one connection");

            long t0 = System.nanoTime();
            writer.store("acme/certs/x.pem", new byte[] {1});
            assertEquals("acme/certs/x.pem", seen.poll(2, TimeUnit.SECONDS));
            System.out.printf("watch: notified %d ms after the write%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            writer.store("other/y", new byte[] {1});
            writer.delete("acme/certs/x.pem");
            assertEquals("acme/certs/x.pem", seen.poll(2, TimeUnit.SECONDS), "deletes notify too; other prefixes do not");
            // a fenced write notifies as well, a rejected one does not
            try (var lock = writer.lock("w")) {
                writer.store("acme/fenced", new byte[] {2}, lock);
            }
            assertEquals("acme/fenced", seen.poll(2, TimeUnit.SECONDS));

            // cut every connection of the watcher's pool: it reconnects and asks for a full re-read
            long cut = PgSupport.adminLong(DB.pg(), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN " + prefix + "%'");
            assertEquals(1, cut);
            assertEquals("acme/", seen.poll(10, TimeUnit.SECONDS), "no re-read request after the LISTEN connection was cut");
            writer.store("acme/after-cut", new byte[] {3});
            assertEquals("acme/after-cut", seen.poll(5, TimeUnit.SECONDS));

            watch.close();
            assertEquals(0, watcherPool.getHikariPoolMXBean().getActiveConnections(), "close() gives the connection back");
            writer.store("acme/after-close", new byte[] {4});
            assertEquals(null, seen.poll(700, TimeUnit.MILLISECONDS));
            writer.close();
            watching.close();
        }
    }
}
