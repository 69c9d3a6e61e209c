package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.KeyType;
import io.github.autocert4j.internal.cluster.OwnAccounts;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PostgresServer;

/**
 * Challenge rows that a killed or abandoned order left in PostgreSQL: older than the maximum age (1 h by default,
 * measured on the database's clock by {@code updated_at}) they are no longer answered, and the manager deletes
 * them at start; rows of an order in progress stay and are answered.
 */
@IntegrationTest
class LeftoverSweepPostgresTest {
    /** Never reaches a CA (port 9): only the responder and the start-up sweep matter here. */
    static final String DIRECTORY = "https://127.0.0.1:9/directory";


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

    @Test
    void theAgeIsMeasuredOnTheDatabasesClock() throws Exception {
        String prefix = PgSupport.freshPrefix("age");
        PostgresCertStore store = PostgresCertStore.builder(pg.dataSource()).tablePrefix(prefix).build();
        store.store("challenges/http-01/t", new byte[] {1});
        Duration fresh = store.age("challenges/http-01/t").orElseThrow();
        assertTrue(fresh.compareTo(Duration.ofSeconds(5)) < 0, fresh.toString());
        PgSupport.admin(pg, "UPDATE " + prefix + "entries SET updated_at = clock_timestamp() - interval '2 hours' WHERE key = 'challenges/http-01/t'");
        Duration old = store.age("challenges/http-01/t").orElseThrow();
        assertTrue(old.compareTo(Duration.ofHours(2)) >= 0 && old.compareTo(Duration.ofHours(2).plusSeconds(5)) < 0, old.toString());
        assertEquals(Optional.empty(), store.age("challenges/http-01/none"));
        store.close();
    }

    @Test
    void anAbandonedOrdersChallengeRowIsNotAnsweredAndIsDeletedAtStart() throws Exception {
        String prefix = PgSupport.freshPrefix("sweep");
        PostgresCertStore store = PostgresCertStore.builder(pg.dataSource()).tablePrefix(prefix).build();
        // The node's own account (a node answers only for its own account: docs/security.md), whose thumbprint the rows carry.
        KeyPair account = KeyType.EC_P256.generate();
        store.store(new StoreLayout(URI.create(DIRECTORY)).accountKey(), Pem.encodeKeyPair(account));
        String thumb = OwnAccounts.thumbprint(account.getPublic());
        store.store("challenges/http-01/abandonedToken", ("abandonedToken." + thumb).getBytes(StandardCharsets.US_ASCII));
        store.store("challenges/tls-alpn-01/old.example", ("x." + thumb).getBytes(StandardCharsets.US_ASCII));
        store.store("challenges/http-01/pendingToken", ("pendingToken." + thumb).getBytes(StandardCharsets.US_ASCII));
        PgSupport.admin(pg, "UPDATE " + prefix + "entries SET updated_at = clock_timestamp() - interval '2 hours'"
                + " WHERE key IN ('challenges/http-01/abandonedToken', 'challenges/tls-alpn-01/old.example')");

        try (AutoCert node = AutoCert.builder().directory(DIRECTORY).agreeToTermsOfService(true)
                .certificate("sweep.autocert4j.test").store(store).build()) {
            assertEquals(404, node.http01().answer("abandonedToken").status(), "2 h old (limit 1 h): not answered, even before the sweep");
            assertEquals(Optional.of("pendingToken." + thumb), node.http01().answer("pendingToken").found());
            node.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (store.list("challenges/").size() > 1 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(List.of("challenges/http-01/pendingToken"), store.list("challenges/"), "the old rows are deleted at start");
        }
        store.close();
    }
}
