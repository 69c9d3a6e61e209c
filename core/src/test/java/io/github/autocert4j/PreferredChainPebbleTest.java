package io.github.autocert4j;

import io.github.autocert4j.internal.acme.AcmeIssuer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLHandshakeException;

import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Preferred chain against a real Pebble offering two alternate chains ({@code PEBBLE_ALTERNATE_ROOTS=2}):
 * the chain a real TLS client is served verifies to the chosen alternate root and not to Pebble's
 * default root; an unknown name falls back to the default chain.
 */
@WithPebble(env = "PEBBLE_ALTERNATE_ROOTS=2")
class PreferredChainPebbleTest {
    static final String NAME = "chain.autocert4j.test";
    static final Duration T = Duration.ofSeconds(10);

    @RegisterExtension
    static final PebbleAutoCerts CA = new PebbleAutoCerts();

    AutoCert issue(Path store, String preferred) throws Exception {
        AutoCert autoCert = CA.build(CA.builder().certificate(NAME).storageDirectory(store).preferredChain(preferred));
        autoCert.start();
        autoCert.renewNow(NAME).get(30, TimeUnit.SECONDS);
        return autoCert;
    }

    @Test
    void theServedChainVerifiesToTheChosenAlternateRootOnly(@TempDir Path store) throws Exception {
        X509Certificate defaultRoot = CA.pebble().issuanceRoot(0);
        X509Certificate alternate = CA.pebble().issuanceRoot(2);
        String cn = AcmeIssuer.commonName(alternate.getSubjectX500Principal());
        assertNotEquals(AcmeIssuer.commonName(defaultRoot.getSubjectX500Principal()), cn);
        try (AutoCert autoCert = issue(store, cn);
             JsseTlsServer server = new JsseTlsServer(autoCert.sslContext(), InetAddress.getLoopbackAddress(), 0)) {
            List<X509Certificate> chain = autoCert.servedCertificate(NAME).chain();
            assertEquals(cn, AcmeIssuer.commonName(chain.get(chain.size() - 1).getIssuerX500Principal()), "top of the chain");
            TlsProbe.Result served = TlsProbe.handshake(server.address(), NAME, alternate, T);
            assertEquals(autoCert.status(NAME).orElseThrow().serial(), served.serial());
            assertThrows(SSLHandshakeException.class, () -> TlsProbe.handshake(server.address(), NAME, defaultRoot, T),
                    "the default root does not verify the served chain");
        }
    }

    @Test
    void aNameTheCaDoesNotOfferFallsBackToTheDefaultChain(@TempDir Path store) throws Exception {
        try (AutoCert autoCert = issue(store, "No Such Root CA");
             JsseTlsServer server = new JsseTlsServer(autoCert.sslContext(), InetAddress.getLoopbackAddress(), 0)) {
            TlsProbe.handshake(server.address(), NAME, CA.pebble().issuanceRoot(0), T);
            assertThrows(SSLHandshakeException.class, () -> TlsProbe.handshake(server.address(), NAME, CA.pebble().issuanceRoot(1), T));
        }
    }
}
