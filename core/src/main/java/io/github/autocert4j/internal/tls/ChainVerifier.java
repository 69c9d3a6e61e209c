package io.github.autocert4j.internal.tls;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.util.Names;

import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The last gate before a certificate goes live: a chain that fails any check here is never
 * stored nor served, whatever the CA sent.
 */
public final class ChainVerifier {
    private ChainVerifier() {
    }

    /** Throws {@link VerificationException} saying what is wrong with {@code bundle} for {@code names} at {@code now}. */
    public static void verify(CertBundle bundle, List<String> names, Instant now) throws VerificationException {
        verifyUsable(bundle, names, now);
        verifySignatures(bundle.chain());
    }

    /**
     * The checks without the chain's signatures, for bundles read back from the own store: they
     * passed {@link #verify} before being stored, and signature checks are three quarters of the
     * cost of loading a certificate at start-up.
     */
    public static void verifyUsable(CertBundle bundle, List<String> names, Instant now) throws VerificationException {
        List<X509Certificate> chain = bundle.chain();
        if (chain.isEmpty()) {
            throw new VerificationException("the CA returned an empty certificate chain");
        }
        verifyKey(bundle);
        Set<String> covered = new HashSet<>(bundle.names());
        for (String name : names) {
            if (!covered.contains(Names.normalize(name))) {
                throw new VerificationException("the certificate does not cover " + name + " (it covers " + covered + ")");
            }
        }
        if (now.isBefore(bundle.notBefore())) {
            throw new VerificationException("the certificate is not valid yet (notBefore " + bundle.notBefore() + ", now " + now + ")");
        }
        if (!now.isBefore(bundle.notAfter())) {
            throw new VerificationException("the certificate has expired (notAfter " + bundle.notAfter() + ", now " + now + ")");
        }
    }

    /**
     * The checks that a stored bundle was not altered: the leaf's key is the stored key and each
     * certificate of the chain is signed by the next. Names and dates are {@link #verifyUsable}'s.
     */
    public static void verifyIntegrity(CertBundle bundle) throws VerificationException {
        verifyKey(bundle);
        verifySignatures(bundle.chain());
    }

    /** The leaf's public key is the bundle's key. */
    public static void verifyKey(CertBundle bundle) throws VerificationException {
        if (bundle.chain().isEmpty()) {
            throw new VerificationException("the CA returned an empty certificate chain");
        }
        if (!Arrays.equals(bundle.leaf().getPublicKey().getEncoded(), bundle.keyPair().getPublic().getEncoded())) {
            throw new VerificationException("the certificate's public key does not match the private key it was ordered for");
        }
    }

    private static void verifySignatures(List<X509Certificate> chain) throws VerificationException {
        for (int i = 0; i + 1 < chain.size(); i++) {
            X509Certificate child = chain.get(i);
            X509Certificate parent = chain.get(i + 1);
            if (!child.getIssuerX500Principal().equals(parent.getSubjectX500Principal())) {
                throw new VerificationException("chain is out of order at position " + i + ": issuer " + child.getIssuerX500Principal()
                        + " is not the next certificate's subject " + parent.getSubjectX500Principal());
            }
            try {
                child.verify(parent.getPublicKey());
            } catch (GeneralSecurityException e) {
                throw new VerificationException("certificate " + i + " of the chain is not signed by certificate " + (i + 1) + ": " + e.getMessage());
            }
        }
    }

    public static final class VerificationException extends Exception {
        public VerificationException(String message) {
            super(message);
        }
    }
}
