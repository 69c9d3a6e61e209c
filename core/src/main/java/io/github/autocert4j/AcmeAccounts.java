package io.github.autocert4j;

import io.github.autocert4j.internal.acme.AccountLifecycle;
import io.github.autocert4j.internal.acme.Revocation;
import io.github.autocert4j.internal.assembly.AcmeActions;
import io.github.autocert4j.internal.cluster.OwnAccounts;
import io.github.autocert4j.internal.store.StoreLayout;

import java.io.IOException;
import java.net.URI;
import java.security.PublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A running manager's ACME accounts (one per configured ACME CA, shared by every server using the same store)
 * and what to do when a key leaks (docs/security.md, "When a key leaks"): revoke a certificate signed with
 * its own key, roll the account key over (RFC 8555 §7.3.5), deactivate the account (§7.3.6) and register a
 * new one. Each operation blocks until the CA answered (at most the HTTP timeout per request), is reported
 * as a {@link CertEvent} and logged, and fails with an {@link IssuanceException} naming the fix.
 *
 * <pre>{@code
 * AcmeAccounts accounts = autoCert.accounts();
 * accounts.rolloverKey();                        // the account key leaked: the old one stops working at the CA
 * accounts.revoke("example.com", "keyCompromise", true).join(); // the certificate key leaked: signed with it
 * for (AcmeAccounts.Status s : accounts.status()) {
 *     System.out.println(s.issuerId() + " " + s.location() + " key " + s.keyThumbprint());
 * }
 * }</pre>
 */
public final class AcmeAccounts {
    private final AcmeActions actions;

    AcmeAccounts(AcmeActions actions) {
        this.actions = actions;
    }

    /**
     * One CA's account as the store holds it.
     *
     * @param issuerId the CA's {@link Issuer#id()}
     * @param directory the CA's ACME directory
     * @param location the account's URL at the CA, or null before the first order registered it
     * @param keyThumbprint the account key's JWK thumbprint (RFC 7638, base64url), or null before the first order
     * @param deactivatedAt when it was deactivated (orders are refused since), or null
     * @param rolloverPending whether a key rollover is in progress or was interrupted (settled at the next login)
     */
    public record Status(String issuerId, URI directory, URI location, String keyThumbprint, Instant deactivatedAt,
                         boolean rolloverPending) {
    }

    /** The RFC 5280 revocation reasons by the names {@link #revoke} and {@code revokeOnRemove} accept. */
    public static List<String> revocationReasons() {
        return Revocation.reasonNames();
    }

    /** The account of every configured ACME CA, in issuer order. Reads the store; a store failure is an IOException. */
    public List<Status> status() throws IOException {
        List<Status> out = new ArrayList<>();
        for (AccountLifecycle a : actions.accounts()) {
            PublicKey key = a.publicKey();
            out.add(new Status(StoreLayout.caId(a.directory()), a.directory(), a.location(), key == null ? null : OwnAccounts.thumbprint(key),
                    a.deactivatedAt(), a.rolloverPending()));
        }
        return out;
    }

    /**
     * Replaces the account key of every configured ACME CA by a new one; afterwards the CA refuses the old key.
     * Crash-safe: the new key is stored as pending before the CA is asked and promoted after, and any server
     * sharing the store settles an interrupted rollover with the CA at its next login. Servers sharing the store
     * pick up the new key at their next order. Reported as {@link CertEvent.AccountChanged} {@code KEY_ROLLED_OVER}.
     *
     * <pre>{@code autoCert.accounts().rolloverKey();}</pre>
     */
    public void rolloverKey() throws IssuanceException {
        actions.forEachAccount(CertEvent.AccountChange.KEY_ROLLED_OVER, AccountLifecycle::rolloverKey);
    }

    /**
     * Deactivates the account of every configured ACME CA, for good. Afterwards every server sharing the store
     * refuses to order (a permanent failure whose message names the fix) until {@link #registerNew()} is called.
     * Certificates already issued stay valid: revoke them first if that is the point. Reported as
     * {@link CertEvent.AccountChanged} {@code DEACTIVATED}.
     *
     * <pre>{@code autoCert.accounts().deactivate();}</pre>
     */
    public void deactivate() throws IssuanceException {
        actions.forEachAccount(CertEvent.AccountChange.DEACTIVATED, AccountLifecycle::deactivate);
    }

    /**
     * After {@link #deactivate()}: registers a new account with a new key at every configured ACME CA, so ordering
     * works again; refused (IllegalStateException) while an account is active. Reported as
     * {@link CertEvent.AccountChanged} {@code REGISTERED}.
     *
     * <pre>{@code autoCert.accounts().registerNew();}</pre>
     */
    public void registerNew() throws IssuanceException {
        actions.forEachAccount(CertEvent.AccountChange.REGISTERED, AccountLifecycle::registerNew);
    }

    /**
     * Revokes the live certificate covering {@code name} at the CA that issued it, with {@code reason} (one of
     * {@link #revocationReasons()}, e.g. {@code "keyCompromise"}), signed with the ACME account, or with the
     * certificate's own key if {@code withCertificateKey} (the account is lost or not trusted); then orders its
     * replacement at once, here and, through a renewal request in the store, on every server sharing it. The
     * revoked certificate is served until the replacement is live. The future completes with the replacement's
     * status, or exceptionally (an {@link IssuanceException} if the CA refused the revocation). Reported as
     * {@link CertEvent.Revoked}.
     *
     * <pre>{@code autoCert.accounts().revoke("example.com", "keyCompromise", true).get(1, TimeUnit.MINUTES);}</pre>
     */
    public CompletableFuture<CertificateStatus> revoke(String name, String reason, boolean withCertificateKey) {
        return actions.revoke(name, reason, withCertificateKey);
    }

    /** The last revocation this manager made of certificate {@code certificate} (its id), if any. */
    public Optional<CertEvent.Revoked> lastRevocation(String certificate) {
        return Optional.ofNullable(actions.revocations().get(certificate));
    }

    /** The builder's {@code revokeOnRemove}. */
    void revokeOnRemove(String reason) {
        actions.revokeOnRemove(reason);
    }
}
