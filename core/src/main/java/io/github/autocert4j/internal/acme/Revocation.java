package io.github.autocert4j.internal.acme;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.internal.store.CertBundle;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import javax.net.ssl.SSLContext;

import org.shredzone.acme4j.RevocationReason;

/** Revocation from outside the servers ({@code StoreAdmin.revoke}, the CLI): reasons by name, then one revoke call. */
public final class Revocation {

    private Revocation() {
    }

    /** The RFC 5280 revocation reasons by the names operators type, lower case. */
    public static List<String> reasonNames() {
        return Arrays.stream(RevocationReason.values()).map(r -> r.name().toLowerCase(Locale.ROOT)).toList();
    }

    /**
     * The reason {@code reason} names ({@code keyCompromise}, {@code key-compromise} and
     * {@code KEY_COMPROMISE} are one).
     *
     * @throws IllegalArgumentException for an unknown reason, naming the known ones
     */
    public static RevocationReason reason(String reason) {
        Map<String, RevocationReason> reasons = new LinkedHashMap<>();
        for (RevocationReason r : RevocationReason.values()) {
            reasons.put(r.name().replace("_", "").toLowerCase(Locale.ROOT), r);
        }
        RevocationReason r = reasons.get(reason.replace("_", "").replace("-", "").toLowerCase(Locale.ROOT));
        if (r == null) {
            throw new IllegalArgumentException("unknown revocation reason '" + reason + "'. Fix: one of " + reasonNames());
        }
        return r;
    }

    /** Revokes {@code bundle}'s certificate at {@code ca}, signed with the store's account for it, else the certificate's key. */
    public static void revoke(CertStore store, AcmeCa ca, CertBundle bundle, RevocationReason reason) throws IOException, IssuanceException {
        issuer(store, ca).account().revoke(bundle.leaf(), bundle.keyPair(), reason.name(), false);
    }

    /** Revokes {@code bundle}'s certificate at {@code ca}, signed with the certificate's own key if {@code withCertificateKey}. */
    public static void revoke(CertStore store, AcmeCa ca, CertBundle bundle, String reason, boolean withCertificateKey)
            throws IOException, IssuanceException {
        issuer(store, ca).account().revoke(bundle.leaf(), bundle.keyPair(), reason, withCertificateKey);
    }

    /** An issuer for {@code ca} on {@code store} that orders nothing: for revocation and the account operations from outside the servers. */
    public static AcmeIssuer issuer(CertStore store, AcmeCa ca) throws IOException {
        SSLContext trust = null;
        if (ca.serverTrust() != null) {
            try {
                trust = CaTrust.from(ca.serverTrust());
            } catch (GeneralSecurityException e) {
                throw new IOException("cannot use the trust file " + ca.serverTrust() + ": " + e.getMessage(), e);
            }
        }
        return new AcmeIssuer(ca, trust, store, null, Duration.ofSeconds(30), List.of(), List.of());
    }
}
