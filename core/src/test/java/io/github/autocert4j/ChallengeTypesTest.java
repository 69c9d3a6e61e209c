package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** build() rules for challengeTypes(...), and the preference order each manager ends up with. */
class ChallengeTypesTest {
    @TempDir
    Path store;

    AutoCertBuilder base() {
        return AutoCert.builder().directory("https://ca.example/dir").agreeToTermsOfService(true).storageDirectory(store);
    }

    static ChallengeSolver solver(String type) {
        return new ChallengeSolver() {
            public String challengeType() {
                return type;
            }

            public void present(Challenge c) {
            }

            public void cleanUp(Challenge c) {
            }
        };
    }

    @Test
    void defaultIsHttp01ThenTheAddedSolversTypes() {
        try (AutoCert a = base().certificate("a.example.com").build();
             AutoCert b = base().certificate("a.example.com").challengeSolver(solver("fancy-01")).build()) {
            assertEquals(List.of("http-01"), a.config().challengeTypes());
            assertEquals(List.of("http-01", "fancy-01"), b.config().challengeTypes());
        }
    }

    @Test
    void aDnsSolverMakesDns01TheDefaultForEveryDnsName() {
        // Only a DNS solver configured: DNS-01 for every DNS name (no port 80 needed); http-01 stays
        // last, for IP addresses, which the CA never offers DNS-01 for.
        try (AutoCert a = base().certificate("*.example.com", "example.com").challengeSolver(solver("dns-01")).build();
             AutoCert b = base().certificate("example.com").challengeSolver(solver("fancy-01"))
                     .challengeSolver(solver("dns-01")).build()) {
            assertEquals(List.of("dns-01", "http-01"), a.config().challengeTypes());
            assertEquals(List.of("dns-01", "fancy-01", "http-01"), b.config().challengeTypes());
        }
        // An explicit list is used as given.
        try (AutoCert c = base().certificate("*.example.com", "example.com").challengeSolver(solver("dns-01"))
                .challengeTypes("http-01", "dns-01").build()) {
            assertEquals(List.of("http-01", "dns-01"), c.config().challengeTypes());
        }
    }

    @Test
    void aListedTypeWithoutSolverNamesTheFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> base().certificate("a.example.com").challengeTypes("dns-01", "http-01", "http-01", "fancy-01").build());
        assertTrue(e.getMessage().contains("challengeTypes: 'dns-01' has no solver. Fix: add .challengeSolver(new Dns01Solver("), e.getMessage());
        assertTrue(e.getMessage().contains("'http-01' is listed twice"), e.getMessage());
        assertTrue(e.getMessage().contains("'fancy-01' has no solver"), e.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> base().certificate("a.example.com").challengeTypes().build());
        assertTrue(none.getMessage().contains("challengeTypes: none given"), none.getMessage());
    }

    @Test
    void tlsAlpnOnlyAndWildcardsNeedDns01InTheList() {
        try (AutoCert a = base().certificate("a.example.com").challengeTypes("tls-alpn-01").build()) {
            assertEquals(List.of("tls-alpn-01"), a.config().challengeTypes());
            assertTrue(a.sslContext() != null);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> base().certificate("*.example.com")
                .challengeSolver(solver("dns-01")).challengeTypes("http-01").build());
        assertTrue(e.getMessage().contains("is a wildcard, which CAs validate only by DNS-01"), e.getMessage());
    }
}
