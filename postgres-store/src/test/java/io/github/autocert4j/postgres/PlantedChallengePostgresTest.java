package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import com.sun.net.httpserver.HttpServer;
import io.github.autocert4j.AutoCert;
import io.github.autocert4j.Http01Responder;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.shredzone.acme4j.toolbox.AcmeUtils;
import org.shredzone.acme4j.toolbox.JoseUtils;

/**
 * Issue 20, answers bound to the own account, on PostgreSQL: rows planted with {@code INSERT} into the
 * entries table (as the store's own role would) holding key authorizations for another ACME account are
 * never served by a running node over a real HTTP listener (404 on every request), nor become a
 * TLS-ALPN-01 challenge certificate; meanwhile node A orders against Pebble (real validation) and
 * Pebble's fetch lands on node B, which answers A's token from the database.
 */
@WithPebble
class PlantedChallengePostgresTest {
    static final String NAME = "planted-pg.autocert4j.test";
    static final int PLANTED = 20;

    @RegisterExtension
    static final PostgresExtension DB = new PostgresExtension(6);

    @Test
    void plantedRowsForAnotherAccountAreNeverServedWhileAPeersIssuanceIs(PebbleServer pebble) throws Exception {
        String prefix = PgSupport.freshPrefix("planted");
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new ECGenParameterSpec("secp256r1"));
        String attacker = AcmeUtils.base64UrlEncode(JoseUtils.thumbprint(ec.generateKeyPair().getPublic()));
        AtomicReference<Http01Responder> responder = new AtomicReference<>();
        HttpServer listener = HttpServer.create(new InetSocketAddress("127.0.0.1", pebble.httpPort()), 64);
        listener.setExecutor(Executors.newFixedThreadPool(4));
        listener.createContext(Http01Responder.PATH_PREFIX, ex -> {
            try (ex) {
                Http01Responder.Answer a = responder.get().answer(ex.getRequestURI().getRawPath().substring(Http01Responder.PATH_PREFIX.length()));
                byte[] body = a.body().getBytes(StandardCharsets.US_ASCII);
                ex.sendResponseHeaders(a.status(), body.length);
                ex.getResponseBody().write(body);
            }
        });
        listener.start();
        // B's renewal executor is held by a task that waits for the end of the test: B serves, but never orders.
        ScheduledThreadPoolExecutor paused = new ScheduledThreadPoolExecutor(1);
        CountDownLatch end = new CountDownLatch(1);
        paused.execute(() -> {
            try {
                end.await(5, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        try (AutoCert b = node(pebble, prefix).executor(paused).build();
             AutoCert a = node(pebble, prefix).build()) {
            responder.set(b.http01()); // every HTTP-01 request, the CA's too, reaches B
            b.start();

            plantRow(prefix, "challenges/tls-alpn-01/" + NAME, UUID.randomUUID() + "." + attacker);
            assertEquals(0, served(plant(prefix, attacker), pebble, http), "planted rows served before any order");
            assertFalse(b.tlsAlpn01().lookup(NAME).get(5, TimeUnit.SECONDS), "a planted TLS-ALPN-01 row made a challenge certificate");

            a.start();
            a.renewNow(NAME).get(60, TimeUnit.SECONDS);
            long answered = b.http01().answeredCount();
            assertTrue(answered >= 1, "B answered A's challenge from the database");

            assertEquals(0, served(plant(prefix, attacker), pebble, http), "planted rows served after an order");
            assertEquals(answered, b.http01().answeredCount(), "nothing but A's challenges was answered");
            assertEquals(0, b.tlsAlpn01().servedCount());
        } finally {
            end.countDown();
            paused.shutdownNow();
            listener.stop(0);
            ((java.util.concurrent.ExecutorService) listener.getExecutor()).shutdownNow();
        }
    }

    static io.github.autocert4j.AutoCertBuilder node(PebbleServer pebble, String prefix) {
        return AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem()).agreeToTermsOfService(true)
                .certificate(NAME).store(PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).build());
    }

    static List<String> plant(String prefix, String thumbprint) throws Exception {
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < PLANTED; i++) {
            String token = UUID.randomUUID().toString().replace("-", "") + "Pg" + i;
            plantRow(prefix, "challenges/http-01/" + token, token + "." + thumbprint);
            tokens.add(token);
        }
        return tokens;
    }

    /** One row written with plain SQL, as anyone with INSERT on the entries table can. */
    static void plantRow(String prefix, String key, String value) throws Exception {
        try (Connection c = DB.pool().getConnection();
             PreparedStatement s = c.prepareStatement("INSERT INTO " + prefix + "entries (key, value) VALUES (?, ?)"
                     + " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()")) {
            s.setString(1, key);
            s.setBytes(2, value.getBytes(StandardCharsets.US_ASCII));
            assertEquals(1, s.executeUpdate());
        }
    }

    static int served(List<String> tokens, PebbleServer pebble, HttpClient http) throws Exception {
        int served = 0;
        for (String token : tokens) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pebble.httpPort()
                    + Http01Responder.PATH_PREFIX + token)).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                served++;
            } else {
                assertEquals(404, r.statusCode(), token);
            }
        }
        return served;
    }
}
