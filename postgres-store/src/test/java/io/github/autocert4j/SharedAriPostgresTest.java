package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.github.autocert4j.postgres.PostgresCertStore;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PostgresServer;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One ARI pick and one ARI fetch for three servers on one {@link PostgresCertStore} (issue 18):
 * the first server fetches the window and stores its pick in the certificate's metadata row, the
 * other two load the certificate with that record and neither fetch nor pick. A small in-test CA
 * (the {@link Issuer} SPI) counts the ARI fetches; the database is a real PostgreSQL (testkit).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@IntegrationTest
class SharedAriPostgresTest {
    static final String NAME = "app.shared-ari-pg.test";
    static final SecureRandom RANDOM = new SecureRandom();

    /** Signs what it is asked for with a throw-away EC CA; counts ARI fetches; the window opens 50 days after notBefore. */
    static final class CountingCa implements Issuer {
        final KeyPair caKey = ecKey();
        final X509Certificate ca = sign(new JcaX509v3CertificateBuilder(new X500Name("CN=shared-ari test CA"), serial(),
                Date.from(Instant.now().minusSeconds(3600)), Date.from(Instant.now().plus(Duration.ofDays(400))),
                new X500Name("CN=shared-ari test CA"), caKey.getPublic()), true, null);
        final List<Instant> ariFetches;

        CountingCa(List<Instant> ariFetches) {
            this.ariFetches = ariFetches;
        }

        @Override
        public String id() {
            return "counting-ca";
        }

        @Override
        public Result issue(Request r) {
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, serial(), Date.from(now.minusSeconds(60)),
                    Date.from(now.plus(Duration.ofDays(90))), new X500Name("CN=" + r.names().get(0)), r.publicKey());
            GeneralName[] sans = r.names().stream().map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new);
            return new Result(List.of(sign(b, false, new GeneralNames(sans)), ca), null);
        }

        @Override
        public Optional<Window> renewalWindow(X509Certificate certificate) {
            ariFetches.add(Instant.now());
            Instant nb = certificate.getNotBefore().toInstant();
            return Optional.of(new Window(nb.plus(Duration.ofDays(50)), nb.plus(Duration.ofDays(55)), null, null));
        }

        private X509Certificate sign(JcaX509v3CertificateBuilder b, boolean isCa, GeneralNames sans) {
            try {
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
                if (sans != null) {
                    b.addExtension(Extension.subjectAlternativeName, false, sans);
                }
                return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
            } catch (Exception e) {
                throw new IllegalStateException("cannot sign test certificate", e);
            }
        }

        private static KeyPair ecKey() {
            try {
                KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
                g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
                return g.generateKeyPair();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        private static BigInteger serial() {
            return new BigInteger(64, RANDOM).setBit(62);
        }
    }

    @Test
    void sharedAriThreeNodesOnPostgresMakeOneFetchAndOnePick() throws Exception {
        List<Instant> fetches = new CopyOnWriteArrayList<>();
        CountingCa ca = new CountingCa(fetches);
        List<AutoCert> nodes = new ArrayList<>();
        try (PostgresServer pg = PostgresServer.startNew(); HikariDataSource pool = pool(pg)) {
            try {
                for (int i = 0; i < 3; i++) {
                    PostgresCertStore store = PostgresCertStore.builder(pool).tablePrefix("shared_ari_").build();
                    List<CertEvent> events = new CopyOnWriteArrayList<>();
                    AutoCert a = AutoCert.builder().issuer(ca).certificate(NAME).store(store).listener(events::add).build();
                    nodes.add(a);
                    Instant started = Instant.now();
                    a.start();
                    // the first check of this node has run once its next check is hours away
                    await(() -> {
                        Instant next = a.status(NAME).orElseThrow().nextCheck();
                        return next != null && next.isAfter(started.plus(Duration.ofHours(1))) && a.managed(NAME).ariChosen() != null;
                    }, "node " + i + " checked and has a pick: " + a.status(NAME));
                }
                assertEquals(1, fetches.size(), "one ARI fetch for three nodes: " + fetches);
                Instant pick = nodes.get(0).managed(NAME).ariChosen();
                assertNotNull(pick);
                BigInteger serial = nodes.get(0).status(NAME).orElseThrow().serial();
                for (AutoCert a : nodes) {
                    assertEquals(pick, a.managed(NAME).ariChosen(), "every node uses the first one's pick");
                    assertEquals(serial, a.status(NAME).orElseThrow().serial(), "one certificate, one order");
                }
                PostgresCertStore reader = PostgresCertStore.builder(pool).tablePrefix("shared_ari_").build();
                String meta = new String(reader.load(StoreLayout.certMeta(NAME)).orElseThrow(), StandardCharsets.UTF_8);
                assertTrue(meta.contains("ari.chosen=" + pick.toString().replace(":", "\\:")), "the pick is in the metadata row: " + meta);
                assertTrue(meta.contains("ari.serial=" + serial.toString(16)), meta);
            } finally {
                nodes.forEach(AutoCert::close);
            }
        }
    }

    static HikariDataSource pool(PostgresServer pg) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(pg.jdbcUrl());
        config.setUsername(pg.user());
        config.setPassword(pg.password());
        config.setMaximumPoolSize(12);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(5_000);
        return new HikariDataSource(config);
    }

    static void await(BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (done.getAsBoolean()) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("not within 30 s: " + what);
    }
}
