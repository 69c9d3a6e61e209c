package io.github.autocert4j.testkit;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What an attacker with write access to a store plants (issue 20): a certificate bundle for a
 * managed name, in the store's bundle format (PKCS#8 key, then the chain), from the attacker's own
 * CA ({@link #withOwnCa}: the chain's signatures link, only the issuer is not the real CA's) or
 * self-signed ({@link #selfSigned}). A client that trusts {@link #trustAnchor()} accepts it.
 *
 * @param key the planted certificate's key pair
 * @param chain leaf first (and the attacker's CA, if any)
 */
public record ForgedBundle(KeyPair key, List<X509Certificate> chain) {

    /** Copies the chain. */
    public ForgedBundle {
        chain = List.copyOf(chain);
    }

    /** A leaf for {@code name} valid from a minute ago for 90 days, signed by a fresh CA named like a real one. */
    public static ForgedBundle withOwnCa(String name, String caName) {
        Instant now = Instant.now();
        TestCerts.Issued ca = TestCerts.newRoot(caName, now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(365)));
        TestCerts.Issued leaf = TestCerts.newServerCert(ca, now.minusSeconds(60), now.plus(Duration.ofDays(90)), name);
        return new ForgedBundle(leaf.keyPair(), List.of(leaf.certificate(), ca.certificate()));
    }

    /** A self-signed leaf for {@code name} valid from a minute ago for 90 days. */
    public static ForgedBundle selfSigned(String name) {
        Instant now = Instant.now();
        TestCerts.Issued leaf = TestCerts.newServerCert(null, now.minusSeconds(60), now.plus(Duration.ofDays(90)), name);
        return new ForgedBundle(leaf.keyPair(), leaf.chain());
    }

    /** The certificate a client must trust to accept the forged leaf: the attacker's CA, or the self-signed leaf. */
    public X509Certificate trustAnchor() {
        return chain.get(chain.size() - 1);
    }

    /** The planted leaf certificate (first in the chain). */
    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** The bundle as the library stores it ({@code certs/<name>/<name>.pem}). */
    public byte[] pem() {
        List<Object> objects = new ArrayList<>();
        objects.add(key.getPrivate());
        objects.addAll(chain);
        return TestCerts.pem(objects.toArray()).getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Metadata claiming the forged bundle was issued by {@code issuerId} just now
     * ({@code certs/<name>/<name>.properties}), so every adoption rule but verification would take it.
     */
    public byte[] meta(String issuerId) {
        String text = "names=" + san(leaf()) + "\nissuer=" + issuerId + "\nissuedAt=" + Instant.now() + "\nserial="
                + leaf().getSerialNumber().toString(16) + "\n";
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String san(X509Certificate c) {
        try {
            return String.valueOf(c.getSubjectAlternativeNames().iterator().next().get(1));
        } catch (java.security.cert.CertificateParsingException e) {
            throw new IllegalStateException(e);
        }
    }
}
