package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.internal.store.IssuerRecord;
import io.github.autocert4j.testkit.CuttableTcpProxy;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A fleet node whose start-up load loses PostgreSQL part-way (the benchmark's fleet node that served
 * 291 of 999 certificates after a read timed out). 200 certificates are stored (issuers recorded, as
 * an earlier issuance would have); the node is configured with Pebble as its CA, so an order would
 * succeed at once and show as an {@link CertEvent.Issued}. Three real faults, each at about 30 % of the
 * load: the TCP connection to PostgreSQL cut (a proxy resets every connection and refuses new ones
 * for a while), PostgreSQL stopped (fast shutdown) and started again, and reads timing out (a table lock held by another session while the node's
 * statements run with a 300 ms {@code statement_timeout}: SQLState 57014, a plain IOException, not
 * "unavailable"). Either way: what was read is served at once (a TLS client verifying the chain), the
 * rest is reported as not loaded (status and one {@link CertEvent.Failed} each, naming the store)
 * and is served within seconds of the store answering, without a restart and with 0 orders at Pebble.
 */
@WithPebble(env = "PEBBLE_VA_ALWAYS_VALID=1")
class StartupLoadFaultPostgresTest {
    static final int N = 200;
    /** Each stored certificate is two reads (bundle, metadata), each a connection from the pool: 120 = about 30 % of the load. */
    static final int FAULT_AT_CONNECTION = 120;
    static final Duration T = Duration.ofSeconds(5);
    static final SecureRandom RANDOM = new SecureRandom();

    @RegisterExtension
    static final PostgresExtension DB = new PostgresExtension(4);
    static PebbleServer pebble;

    @BeforeAll
    static void start(PebbleServer running) {
        pebble = running;
    }

    static String name(int i) {
        return "n" + i + ".pg-startfault.test";
    }

    @Test
    void aConnectionCutMidLoadServesWhatWasReadAndTheRestOnceTheStoreAnswersWithoutOrdering() throws Exception {
        try (CuttableTcpProxy proxy = new CuttableTcpProxy(DB.pg().port());
                HikariDataSource pool = pool("jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + DB.pg().database(), null)) {
            outageMidLoad("cut", pool, proxy::cut, proxy::heal);
        }
    }

    @Test
    void aDatabaseRestartMidLoadServesWhatWasReadAndTheRestOnceItIsUpWithoutOrdering() throws Exception {
        PostgresServer pg = DB.pg();
        java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
        try (HikariDataSource pool = pool(pg.jdbcUrl(), null)) {
            outageMidLoad("restart", pool, () -> {
                stopping.set(true);
                try {
                    pg.stop(); // fast shutdown: statements in flight fail with 57P01, new connections are refused
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                } finally {
                    stopped.countDown();
                }
            }, () -> {
                try {
                    pg.start();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } finally {
            if (stopping.get()) {
                stopped.await(30, TimeUnit.SECONDS); // the stop runs on the node's reader thread
            }
            if (!pg.isRunning()) {
                pg.start(); // for the other tests of the class
            }
        }
    }

    /** The store fails ({@code outage}) at about 30 % of the load and stays down 3 s after the first round, then {@code recovery}. */
    void outageMidLoad(String what, HikariDataSource pool, Runnable outage, Runnable recovery) throws Exception {
        String prefix = PgSupport.freshPrefix(what);
        Seeded seeded = seed(prefix);
        FaultAt dataSource = new FaultAt(pool, FAULT_AT_CONNECTION, outage);
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert node = node(prefix, dataSource, events); ForgedCertificatePostgresTest.TlsServer tls = new ForgedCertificatePostgresTest.TlsServer(node)) {
            long t0 = System.nanoTime();
            node.start();
            long startMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(dataSource.fired(), "the store failed during the load");
            // The first round ends once every certificate is either live or reported as not loaded.
            List<String> live = awaitFirstRound(node, events);
            int loaded = live.size();
            assertTrue(loaded > 0 && loaded < N, "part of the load before the outage: " + loaded + " of " + N + " served");
            assertTrue(startMillis < 10_000, "start() returned " + startMillis + " ms after it was called");
            for (String name : live) {
                assertServed(tls, name, seeded.serials.get(name), seeded.root);
            }
            List<String> waiting = seeded.serials.keySet().stream().filter(n -> !live.contains(n)).toList();
            for (String name : waiting) {
                CertificateStatus s = node.status(name).orElseThrow();
                assertEquals(CertificateStatus.State.PENDING, s.state(), name);
                assertTrue(s.lastError() != null && s.lastError().startsWith("not loaded from the store yet: the store PostgresCertStore[")
                        && s.lastError().contains("Fix: "), name + ": " + s.lastError());
            }
            Map<String, Long> failedPerName = failedEvents(events);
            assertEquals(waiting.stream().sorted().toList(), failedPerName.keySet().stream().sorted().toList(),
                    "one Failed event per certificate not loaded");
            Thread.sleep(3_000); // the store stays down over several retry rounds: still no order, one event each
            assertEquals(List.of(), orders(events), "no order because a read failed");
            assertTrue(failedEvents(events).values().stream().allMatch(c -> c == 1), "one event per outage, not per retry: " + failedEvents(events));

            long upAt = System.nanoTime();
            recovery.run();
            long upMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upAt);
            awaitAllLive(node, Duration.ofSeconds(20));
            long allMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upAt);
            for (String name : seeded.serials.keySet()) {
                assertServed(tls, name, seeded.serials.get(name), seeded.root);
                assertNull(node.status(name).orElseThrow().lastError(), name);
            }
            assertEquals(List.of(), orders(events), "every stored certificate served, none ordered");
            System.out.printf("%s: %d of %d served at once (start() %d ms), the other %d within %d ms of the recovery (which took %d ms)%n",
                    what, loaded, N, startMillis, N - loaded, allMillis, upMillis);
        }
    }

    @Test
    void readsTimingOutMidLoadAreReadAgainNotOrdered() throws Exception {
        String prefix = PgSupport.freshPrefix("slow");
        Seeded seeded = seed(prefix);
        AtomicInteger lockHeldMillis = new AtomicInteger(2_000);
        try (HikariDataSource pool = pool(DB.pg().jdbcUrl(), "SET statement_timeout = '300ms'")) {
            Thread[] locker = new Thread[1];
            FaultAt dataSource = new FaultAt(pool, FAULT_AT_CONNECTION, () -> locker[0] = lockTable(prefix, lockHeldMillis.get()));
            List<CertEvent> events = new CopyOnWriteArrayList<>();
            try (AutoCert node = node(prefix, dataSource, events); ForgedCertificatePostgresTest.TlsServer tls = new ForgedCertificatePostgresTest.TlsServer(node)) {
                node.start();
                assertTrue(dataSource.fired(), "the table was locked during the load");
                awaitAllLive(node, Duration.ofSeconds(30));
                locker[0].join(10_000);
                for (String name : seeded.serials.keySet()) {
                    assertServed(tls, name, seeded.serials.get(name), seeded.root);
                    assertNull(node.status(name).orElseThrow().lastError(), name);
                }
                Map<String, Long> failed = failedEvents(events);
                assertTrue(!failed.isEmpty(), "some reads timed out while the table was locked");
                String error = events.stream().filter(e -> e instanceof CertEvent.Failed).map(e -> ((CertEvent.Failed) e).error()).findFirst().orElseThrow();
                assertTrue(error.contains("57014") && error.contains("PostgresCertStore["), error);
                assertEquals(List.of(), orders(events), "a read that timed out is not \"none stored\": no order");
                System.out.printf("timeouts: %d certificate(s) read again after their read timed out, 0 orders%n", failed.size());
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    static AutoCert node(String prefix, DataSource ds, List<CertEvent> events) {
        AutoCertBuilder b = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem()).agreeToTermsOfService(true)
                .store(PostgresCertStore.builder(ds).tablePrefix(prefix).build()).listener(events::add);
        for (int i = 0; i < N; i++) {
            b.certificate(name(i));
        }
        return b.build();
    }

    static HikariDataSource pool(String jdbcUrl, String initSql) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(DB.pg().user());
        config.setPassword(DB.pg().password());
        config.setMaximumPoolSize(8);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(1_000);
        config.addDataSourceProperty("connectTimeout", "2");
        config.addDataSourceProperty("socketTimeout", "30");
        if (initSql != null) {
            config.setConnectionInitSql(initSql);
        }
        return new HikariDataSource(config);
    }

    /** Holds an exclusive lock on the store's entries table for {@code millis} (another session, as a stuck transaction would); returns when it is held. */
    static Thread lockTable(String prefix, int millis) {
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        Thread t = new Thread(() -> {
            try (Connection c = DB.pg().adminDataSource().getConnection(); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                s.execute("LOCK TABLE " + prefix + "entries IN ACCESS EXCLUSIVE MODE");
                held.countDown();
                Thread.sleep(millis);
                c.commit();
            } catch (SQLException | InterruptedException e) {
                throw new IllegalStateException("locking the entries table failed", e);
            } finally {
                held.countDown();
            }
        }, "table-locker");
        t.setDaemon(true);
        t.start();
        try {
            held.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return t;
    }

    static void assertServed(ForgedCertificatePostgresTest.TlsServer tls, String name, BigInteger serial, X509Certificate root) throws IOException {
        X509Certificate leaf = TlsProbe.handshake(tls.address(), name, root, T).chain().get(0); // PKIX-verified against the seeding CA
        assertEquals(serial, leaf.getSerialNumber(), name + " serves its stored certificate");
    }

    /** Waits until every certificate is live or reported as not loaded; returns the live ones. */
    static List<String> awaitFirstRound(AutoCert node, List<CertEvent> events) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            List<String> live = new ArrayList<>();
            int notLoaded = 0;
            for (int i = 0; i < N; i++) {
                CertificateStatus s = node.status(name(i)).orElseThrow();
                if (s.state() == CertificateStatus.State.VALID) {
                    live.add(name(i));
                } else if (s.lastError() != null) {
                    notLoaded++;
                }
            }
            if (live.size() + notLoaded == N) {
                return live;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the first round did not end within 30 s: " + events.size() + " events");
    }

    static void awaitAllLive(AutoCert node, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        long live = 0;
        while (System.nanoTime() < deadline) {
            live = node.status().stream().filter(s -> s.state() == CertificateStatus.State.VALID).count();
            if (live == N) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(live + " of " + N + " live " + max + " after the store answered again; first not live: "
                + node.status().stream().filter(s -> s.state() != CertificateStatus.State.VALID).findFirst().map(Object::toString).orElse(""));
    }

    /** Failed events per certificate (each is a start-up read the store did not answer: there is no other failure here). */
    static Map<String, Long> failedEvents(List<CertEvent> events) {
        return events.stream().filter(e -> e instanceof CertEvent.Failed).collect(Collectors.groupingBy(CertEvent::certificate, Collectors.counting()));
    }

    /** What went to the CA: an issued certificate, or a failure that is not a store read's. */
    static List<CertEvent> orders(List<CertEvent> events) {
        return events.stream().filter(e -> e instanceof CertEvent.Issued
                || e instanceof CertEvent.Failed f && !f.error().startsWith("not loaded from the store yet")).toList();
    }

    record Seeded(X509Certificate root, Map<String, BigInteger> serials) {
    }

    /** Stores N certificates from one test CA with their metadata, and records the CA as their issuer (as issuance does). */
    static Seeded seed(String prefix) throws Exception {
        KeyPair caKey = ecKey();
        Instant now = Instant.now();
        X500Name caName = new X500Name("CN=autocert4j start-fault test CA");
        X509Certificate root = sign(new JcaX509v3CertificateBuilder(caName, serial(), Date.from(now.minus(Duration.ofDays(1))),
                Date.from(now.plus(Duration.ofDays(365))), caName, caKey.getPublic()), caKey, true, null);
        Map<String, BigInteger> serials = new LinkedHashMap<>();
        try (PostgresCertStore store = PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).build()) {
            store.checkAccess();
            KeyPair leafKey = ecKey();
            for (int i = 0; i < N; i++) {
                String name = name(i);
                X509Certificate leaf = sign(new JcaX509v3CertificateBuilder(root, serial(), Date.from(now.minusSeconds(60)),
                        Date.from(now.plus(Duration.ofDays(90))), new X500Name("CN=" + name), leafKey.getPublic()), caKey, false, name);
                if (i == 0) {
                    new IssuerRecord(store).record(name, null, List.of(leaf, root));
                }
                StringWriter pem = new StringWriter();
                try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
                    w.writeObject(new JcaPKCS8Generator(leafKey.getPrivate(), null));
                    w.writeObject(leaf);
                    w.writeObject(root);
                }
                String meta = "names=" + name + "\nissuedAt=" + now.toString().replace(":", "\\:") + "\nserial=" + leaf.getSerialNumber().toString(16) + "\n";
                store.store("certs/" + name + "/" + name + ".pem", pem.toString().getBytes(StandardCharsets.US_ASCII));
                store.store("certs/" + name + "/" + name + ".properties", meta.getBytes(StandardCharsets.UTF_8));
                serials.put(name, leaf.getSerialNumber());
            }
        }
        return new Seeded(root, serials);
    }

    static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer, boolean isCa, String dnsName) throws Exception {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        if (dnsName != null) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, dnsName)));
        }
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    }

    static KeyPair ecKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    static BigInteger serial() {
        return new BigInteger(64, RANDOM).add(BigInteger.ONE);
    }

    /** The node's DataSource: the pool, with {@code fault} injected (once, synchronously) when the {@code at}-th connection is asked for. */
    static final class FaultAt implements DataSource {
        private final DataSource pool;
        private final int at;
        private final Runnable fault;
        private final AtomicInteger asked = new AtomicInteger();
        private volatile boolean fired;

        FaultAt(DataSource pool, int at, Runnable fault) {
            this.pool = pool;
            this.at = at;
            this.fault = fault;
        }

        boolean fired() {
            return fired;
        }

        @Override
        public Connection getConnection() throws SQLException {
            if (asked.incrementAndGet() == at) {
                fired = true;
                fault.run();
            }
            return pool.getConnection();
        }

        @Override
        public Connection getConnection(String username, String password) throws SQLException {
            return getConnection();
        }

        @Override
        public PrintWriter getLogWriter() throws SQLException {
            return pool.getLogWriter();
        }

        @Override
        public void setLogWriter(PrintWriter out) throws SQLException {
            pool.setLogWriter(out);
        }

        @Override
        public void setLoginTimeout(int seconds) throws SQLException {
            pool.setLoginTimeout(seconds);
        }

        @Override
        public int getLoginTimeout() throws SQLException {
            return pool.getLoginTimeout();
        }

        @Override
        public Logger getParentLogger() throws SQLFeatureNotSupportedException {
            return pool.getParentLogger();
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            return pool.unwrap(iface);
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) throws SQLException {
            return pool.isWrapperFor(iface);
        }
    }
}
