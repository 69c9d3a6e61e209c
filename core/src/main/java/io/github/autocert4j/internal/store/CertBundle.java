package io.github.autocert4j.internal.store;

import io.github.autocert4j.internal.util.Names;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/** A private key with its certificate chain (leaf first). Never prints the key. */
public final class CertBundle {
    private final KeyPair keyPair;
    private final List<X509Certificate> chain;

    public CertBundle(KeyPair keyPair, List<X509Certificate> chain) {
        this.keyPair = keyPair;
        this.chain = List.copyOf(chain);
    }

    public KeyPair keyPair() {
        return keyPair;
    }

    public List<X509Certificate> chain() {
        return chain;
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    public BigInteger serial() {
        return leaf().getSerialNumber();
    }

    public Instant notBefore() {
        return leaf().getNotBefore().toInstant();
    }

    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    public Duration lifetime() {
        return Duration.between(notBefore(), notAfter());
    }

    /** DNS names (lower-cased) and IP addresses (canonical form) in the leaf's subjectAltName. */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> sans = leaf().getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (Integer.valueOf(2).equals(san.get(0))) {
                        names.add(((String) san.get(1)).toLowerCase(Locale.ROOT));
                    } else if (Integer.valueOf(7).equals(san.get(0))) {
                        names.add(Names.normalize((String) san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // treated as "no names": verification will then reject the bundle
        }
        return names;
    }

    @Override
    public String toString() {
        return chain.isEmpty() ? "CertBundle[no chain]"
                : "CertBundle[serial=" + serial().toString(16) + ", notAfter=" + notAfter() + ", names=" + names() + "]";
    }
}
