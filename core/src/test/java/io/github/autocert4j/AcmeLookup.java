package io.github.autocert4j;

import io.github.autocert4j.internal.acme.AcmeIssuer;
import io.github.autocert4j.internal.acme.CaTrust;
import io.github.autocert4j.internal.store.MemoryCertStore;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;

/** What the tests ask the CA directly, outside any manager: which account a key belongs to, a second revocation. */
final class AcmeLookup {
    private AcmeLookup() {
    }

    /** The account the CA knows {@code key} for (newAccount with onlyReturnExisting), or empty if none (accountDoesNotExist). */
    static Optional<URL> account(URI directory, Path caPem, KeyPair key) throws Exception {
        javax.net.ssl.SSLContext trust = CaTrust.from(caPem);
        Session session = new Session(directory, new GenericAcmeProvider() {
            @Override
            public HttpClient createHttpClient(NetworkSettings settings) {
                return HttpClient.newBuilder().sslContext(trust).proxy(HttpClient.Builder.NO_PROXY).connectTimeout(Duration.ofSeconds(10))
                        .build();
            }
        });
        try {
            return Optional.of(new AccountBuilder().onlyExisting().useKeyPair(key).createLogin(session).getAccountLocation());
        } catch (AcmeServerException e) {
            if (e.getType().toString().endsWith(":accountDoesNotExist")) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Revokes {@code leaf} signed with its own key; the IssuanceException the CA's answer makes, or null if it revoked it. */
    static IssuanceException revokeAgain(URI directory, Path caPem, X509Certificate leaf, KeyPair key) throws Exception {
        AcmeIssuer issuer = new AcmeIssuer(AcmeCa.of(directory), CaTrust.from(caPem), new MemoryCertStore(), null, Duration.ofSeconds(10),
                List.of(), List.of());
        try {
            issuer.account().revoke(leaf, key, "keyCompromise", true);
            return null;
        } catch (IssuanceException e) {
            return e;
        }
    }
}
