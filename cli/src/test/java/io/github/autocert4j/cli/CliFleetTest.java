package io.github.autocert4j.cli;

import static io.github.autocert4j.cli.CliTestSupport.cli;
import static io.github.autocert4j.cli.CliTestSupport.orders;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.postgres.PostgresCertStore;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code renew --force} against a two-node fleet on one store (a file store: the nodes list {@code renewals/} every
 * 3 s; PostgreSQL: LISTEN/NOTIFY) with real Pebble: both nodes see the request, one orders, the other adopts it;
 * Pebble gets exactly one order, and the listing matches both nodes' {@code status()}.
 */
@WithPebble
class CliFleetTest {
    static final String NAME = "fleet.cli.autocert4j.test";
    static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path work;

    @Test
    void fileStoreFleetRenewsOnce(PebbleServer pebble) throws Exception {
        Path dir = work.resolve("store");
        Files.createDirectories(dir);
        fleetRenewsOnce(pebble, () -> FileCertStore.of(dir), Map.of(), List.of("--store", dir.toString()));
    }

    @Test
    void postgresFleetRenewsOnce(PebbleServer pebble) throws Exception {
        try (PostgresServer pg = PostgresServer.startNew();
             PostgresCertStore s1 = PostgresCertStore.builder(pg.dataSource()).build();
             PostgresCertStore s2 = PostgresCertStore.builder(pg.dataSource()).build()) {
            List<CertStore> stores = new java.util.ArrayList<>(List.of(s1, s2));
            fleetRenewsOnce(pebble, () -> stores.remove(0), Map.of("AUTOCERT4J_DB_PASSWORD", pg.password()),
                    List.of("--jdbc-url", pg.jdbcUrl(), "--db-user", pg.user()));

            // exit codes on PostgreSQL: a wrong password or an unreachable database is a store failure (4), with the reason
            CliTestSupport.Result wrong = cli(Map.of("AUTOCERT4J_DB_PASSWORD", "wrong"), "--jdbc-url", pg.jdbcUrl(), "--db-user", pg.user(),
                    "certificates");
            assertEquals(4, wrong.code(), wrong.toString());
            int closedPort = io.github.autocert4j.testkit.FreePorts.loopback();
            CliTestSupport.Result down = cli(Map.of(), "--jdbc-url", "jdbc:postgresql://127.0.0.1:" + closedPort + "/x", "certificates");
            assertEquals(4, down.code(), down.toString());
            assertEquals(2, cli(Map.of(), "--jdbc-url", "jdbc:mysql://127.0.0.1/x", "certificates").code(), "not PostgreSQL");
            assertEquals(2, cli(Map.of(), "--jdbc-url", pg.jdbcUrl(), "--store", "/tmp", "certificates").code(), "two stores");
        }
    }

    private void fleetRenewsOnce(PebbleServer pebble, Supplier<CertStore> stores, Map<String, String> env, List<String> storeArgs)
            throws Exception {
        try (CliTestSupport.Http01Listener http = new CliTestSupport.Http01Listener(pebble.httpPort());
             AutoCert n1 = node(pebble, stores.get());
             AutoCert n2 = node(pebble, stores.get())) {
            http.responder = n1.http01(); // answers n2's challenges too, from the shared store
            n1.start();
            n2.start();
            assertTrue(CliTestSupport.await(T, () -> valid(n1) && valid(n2)
                    && n1.status(NAME).orElseThrow().serial().equals(n2.status(NAME).orElseThrow().serial())),
                    n1.status() + " / " + n2.status());
            BigInteger old = n1.status(NAME).orElseThrow().serial();

            CliTestSupport.Result json = cli(env, args(storeArgs, "certificates", "--json"));
            assertEquals(0, json.code(), json.toString());
            CertificateStatus st = n1.status(NAME).orElseThrow();
            assertTrue(json.out().contains("\"serial\":\"" + st.serialHex() + "\""), json.toString());
            assertTrue(json.out().contains("\"notAfter\":\"" + st.notAfter() + "\""), json.toString());
            assertTrue(json.out().contains("\"renewalPending\":false"), json.toString());

            int before = orders(pebble);
            CliTestSupport.Result renew = cli(env, args(storeArgs, "renew", NAME, "--force", "--wait", "60"));
            assertEquals(0, renew.code(), renew.toString());
            assertTrue(CliTestSupport.await(T, () -> !n1.status(NAME).orElseThrow().serial().equals(old)
                    && n1.status(NAME).orElseThrow().serial().equals(n2.status(NAME).orElseThrow().serial())),
                    "both nodes serve the renewal: " + n1.status() + " / " + n2.status());
            Thread.sleep(4_000); // past a request poll on the file store, and any late notification
            assertEquals(before + 1, orders(pebble), "the fleet ordered once: " + pebble.logTail(30));
            assertTrue(n1.status(NAME).orElseThrow().serial().equals(n2.status(NAME).orElseThrow().serial()));
            CliTestSupport.Result list = cli(env, args(storeArgs, "certificates"));
            assertTrue(list.out().contains("Serial Number: " + n2.status(NAME).orElseThrow().serialHex()), list.toString());
            assertTrue(list.out().contains("(done)"), list.toString());
        }
    }

    private static boolean valid(AutoCert node) {
        return node.status(NAME).map(s -> s.state() == CertificateStatus.State.VALID).orElse(false);
    }

    private static AutoCert node(PebbleServer pebble, CertStore store) {
        return AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem()).agreeToTermsOfService(true)
                .certificate(NAME).store(store).build();
    }

    private static String[] args(List<String> storeArgs, String... rest) {
        List<String> all = new java.util.ArrayList<>(storeArgs);
        all.addAll(List.of(rest));
        return all.toArray(new String[0]);
    }
}
