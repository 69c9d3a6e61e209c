package io.github.autocert4j;

import io.github.autocert4j.internal.acme.AccountLifecycle;
import io.github.autocert4j.internal.acme.Revocation;
import io.github.autocert4j.internal.cluster.OwnAccounts;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.store.StoreLayout;

import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.security.PublicKey;

/**
 * The ACME account a store holds for one CA, acted on without a running manager (the CLI's {@code account} and
 * {@code revoke --with-certificate-key}): what {@link AutoCert#accounts()} does inside a server, with the same
 * store locks and the same crash-safe key rollover, so running servers sharing the store follow (they adopt a
 * rolled key at their next order once the CA confirms it, and refuse to order after a deactivation).
 *
 * <pre>{@code
 * StoreAccounts account = StoreAccounts.of(FileCertStore.of(Path.of("/var/lib/myapp/certs")),
 *         AcmeCa.of(AutoCert.LETS_ENCRYPT_PRODUCTION));
 * account.rolloverKey();
 * System.out.println(account.status().keyThumbprint());
 * }</pre>
 */
public final class StoreAccounts {
    private final CertStore store;
    private final AcmeCa ca;
    private final AccountLifecycle lifecycle;

    private StoreAccounts(CertStore store, AcmeCa ca, AccountLifecycle lifecycle) {
        this.store = store;
        this.ca = ca;
        this.lifecycle = lifecycle;
    }

    /** The account {@code store} holds for {@code ca} (whose trust file, if any, is read here). */
    public static StoreAccounts of(CertStore store, AcmeCa ca) throws IOException {
        if (store == null || ca == null) {
            throw new IllegalArgumentException("store and ca must be given. Fix: the CertStore the servers use and the CA's AcmeCa");
        }
        return new StoreAccounts(store, ca, Revocation.issuer(store, ca).account());
    }

    /** The account as the store holds it (location and key thumbprint null before the first order). */
    public AcmeAccounts.Status status() throws IOException {
        PublicKey key = lifecycle.publicKey();
        return new AcmeAccounts.Status(StoreLayout.caId(ca.directory()), ca.directory(), lifecycle.location(),
                key == null ? null : OwnAccounts.thumbprint(key), lifecycle.deactivatedAt(), lifecycle.rolloverPending());
    }

    /** {@link AcmeAccounts#rolloverKey()} for this CA; returns the account's location. */
    public URI rolloverKey() throws IssuanceException {
        return lifecycle.rolloverKey();
    }

    /** {@link AcmeAccounts#deactivate()} for this CA; returns the deactivated account's location. */
    public URI deactivate() throws IssuanceException {
        return lifecycle.deactivate();
    }

    /** {@link AcmeAccounts#registerNew()} for this CA; returns the new account's location. */
    public URI registerNew() throws IssuanceException {
        return lifecycle.registerNew();
    }

    /**
     * Revokes the stored certificate {@code id} with {@code reason}, signed with this account, or with the
     * certificate's own key if {@code withCertificateKey}. Returns its serial. The certificate stays in the store.
     *
     * @throws IllegalArgumentException for an unknown reason or certificate
     */
    public BigInteger revoke(String id, String reason, boolean withCertificateKey) throws IOException, IssuanceException {
        Revocation.reason(reason);
        CertificateStorage.Stored stored = new CertificateStorage(store).load(id).orElseThrow(() -> new IllegalArgumentException(
                "no certificate " + id + " in " + store + ". Fix: see the ids with 'certificates'"));
        Revocation.revoke(store, ca, stored.bundle(), reason, withCertificateKey);
        return stored.bundle().serial();
    }
}
