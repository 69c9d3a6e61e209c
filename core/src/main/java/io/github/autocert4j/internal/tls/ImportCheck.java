package io.github.autocert4j.internal.tls;

import io.github.autocert4j.internal.store.CertBundle;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The check of a certificate obtained elsewhere before it is imported into the store
 * ({@code StoreAdmin.problems}): the key matches the leaf, the leaf is valid now, and the chain
 * covers the names and is signed in order, as {@link ChainVerifier} checks an issued one.
 */
public final class ImportCheck {
    private ImportCheck() {
    }

    /** The problems of {@code key}/{@code chain} for {@code names} at {@code now}; empty: fine. */
    public static List<String> problems(List<String> names, PrivateKey key, List<X509Certificate> chain, Instant now) {
        List<String> problems = new ArrayList<>();
        if (chain.isEmpty()) {
            return List.of("no certificate");
        }
        X509Certificate leaf = chain.get(0);
        try {
            String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
            byte[] probe = "autocert4j key check".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(leaf.getPublicKey());
            v.update(probe);
            if (!v.verify(sig)) {
                problems.add("the private key does not belong to the certificate (serial " + leaf.getSerialNumber().toString(16) + ")");
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            problems.add("the private key does not belong to the certificate (serial " + leaf.getSerialNumber().toString(16) + "): "
                    + e.getClass().getSimpleName());
        }
        if (!now.isBefore(leaf.getNotAfter().toInstant())) {
            problems.add("the certificate expired at " + leaf.getNotAfter().toInstant());
        } else if (now.isBefore(leaf.getNotBefore().toInstant())) {
            problems.add("the certificate is not valid before " + leaf.getNotBefore().toInstant());
        }
        if (problems.isEmpty()) {
            try {
                ChainVerifier.verify(new CertBundle(new KeyPair(leaf.getPublicKey(), key), chain), names, now);
            } catch (ChainVerifier.VerificationException e) {
                problems.add(e.getMessage());
            }
        }
        return problems;
    }
}
