package io.github.autocert4j;

import io.github.autocert4j.internal.cluster.OwnAccounts;
import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 20, answers bound to the own account, on the file store: key authorizations planted as files
 * in the shared store's challenge directory for another ACME account's thumbprint are never served by
 * a running node (404 on every request, over a real HTTP listener), nor become a TLS-ALPN-01 challenge
 * certificate; meanwhile a real issuance through the store still works: node A orders against Pebble
 * (real validation) and Pebble's fetch lands on node B, which answers A's token from the store.
 */
@WithPebble
class PlantedChallengeFileTest {
    static final String NAME = "planted.autocert4j.test";
    static final int PLANTED = 20;

    @RegisterExtension
    static final PebbleAutoCerts CA = new PebbleAutoCerts();
    @TempDir
    Path work;

    @Test
    void plantedAnswersForAnotherAccountAreNeverServedWhileAPeersIssuanceIs(PebbleServer pebble) throws Exception {
        Path shared = work.resolve("shared-store");
        FileCertStore writer = FileCertStore.of(shared); // the attacker: write access to the store directory
        KeyPair attacker = KeyType.EC_P256.generate();
        String attackerThumbprint = OwnAccounts.thumbprint(attacker.getPublic());
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        // B: a running node whose renewal checks only run when the test says so (it never orders here).
        try (AutoCert b = CA.builder().certificate(NAME).storageDirectory(shared).executor(new ManualScheduler(Instant.now())).build();
             AutoCert a = CA.builder().certificate(NAME).storageDirectory(shared).build()) {
            CA.answering(b); // every HTTP-01 request, the CA's too, reaches B
            b.start();

            // Before any account exists in the store, and a TLS-ALPN-01 entry for the fleet's name.
            writer.store(StoreLayout.tlsAlpn01Challenge(NAME), (UUID.randomUUID() + "." + attackerThumbprint).getBytes(StandardCharsets.US_ASCII));
            assertEquals(0, servedOf(plant(writer, attackerThumbprint), pebble, http), "planted answers served before any order");
            assertFalse(b.tlsAlpn01().lookup(NAME).get(5, TimeUnit.SECONDS), "a planted TLS-ALPN-01 entry made a challenge certificate");

            // A real issuance: A orders, Pebble's validation reaches B, which answers A's token from the store.
            a.start();
            a.renewNow(NAME).get(60, TimeUnit.SECONDS);
            assertTrue(b.http01().answeredCount() >= 1, "B answered A's challenge: " + b.http01().answeredCount());
            long answeredByIssuance = b.http01().answeredCount();

            // With the fleet's account in the store: still 0 planted answers served, and the log names them once.
            assertEquals(0, servedOf(plant(writer, attackerThumbprint), pebble, http), "planted answers served after an order");
            // An old-format entry: a full key authorization for another account under a token this node never saw.
            assertEquals(answeredByIssuance, b.http01().answeredCount(), "nothing but A's challenge was answered");
            writer.store(StoreLayout.tlsAlpn01Challenge("other." + NAME), ("tok." + attackerThumbprint).getBytes(StandardCharsets.US_ASCII));
            assertFalse(b.tlsAlpn01().lookup("other." + NAME).get(5, TimeUnit.SECONDS));
            assertEquals(0, b.tlsAlpn01().servedCount());
        }
    }

    /** Plants {@value #PLANTED} key authorizations for {@code thumbprint} under fresh tokens; returns the tokens. */
    static List<String> plant(CertStore store, String thumbprint) throws Exception {
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < PLANTED; i++) {
            String token = UUID.randomUUID().toString().replace("-", "") + "Tk" + i;
            store.store(StoreLayout.http01Challenge(token), (token + "." + thumbprint).getBytes(StandardCharsets.US_ASCII));
            tokens.add(token);
        }
        return tokens;
    }

    /** Requests every token over HTTP from the listener; how many came back 200 (every other must be 404). */
    static int servedOf(List<String> tokens, PebbleServer pebble, HttpClient http) throws Exception {
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
