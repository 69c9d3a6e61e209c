package io.github.autocert4j.internal.assembly;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.internal.acme.AccountLifecycle;
import io.github.autocert4j.internal.acme.AcmeIssuer;
import io.github.autocert4j.internal.acme.Revocation;
import io.github.autocert4j.internal.renewal.FailedValidationBudget;
import io.github.autocert4j.internal.renewal.ManagedCertificate;
import io.github.autocert4j.internal.renewal.Services;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.store.RenewalRequests;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.tls.LiveKeyManager;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@code AcmeAccounts} and {@code AutoCert.revoke} ask of a running manager (issue 20): revocation of a live
 * certificate followed by its replacement, revocation on removal, and the account operations of every configured
 * ACME CA ({@link AccountLifecycle}), each reported as a {@link CertEvent} and logged.
 */
public final class AcmeActions {
    private static final Logger LOG = LoggerFactory.getLogger("io.github.autocert4j.AutoCert"); // the facade's log

    private final Services services;
    private final Function<String, ManagedCertificate> managed;
    private final Map<String, CertEvent.Revoked> revocations = new ConcurrentHashMap<>();
    private volatile String revokeOnRemove; // the reason; null: off

    public AcmeActions(Services services, Function<String, ManagedCertificate> managed) {
        this.services = services;
        this.managed = managed;
    }

    /** Revoke a certificate's live certificate with {@code reason} when it is removed; null: never (the default). */
    public void revokeOnRemove(String reason) {
        if (reason != null) {
            Revocation.reason(reason); // an unknown reason is refused here, not at the first removal
        }
        this.revokeOnRemove = reason;
    }

    /** The ACME CAs' account operations, in the configured issuer order. */
    public List<AccountLifecycle> accounts() {
        List<AccountLifecycle> out = new ArrayList<>();
        for (Issuer i : services.issuers()) {
            if ((i instanceof FailedValidationBudget b ? b.delegate() : i) instanceof AcmeIssuer a) {
                out.add(a.account());
            }
        }
        return out;
    }

    /** The last revocation of each certificate this manager revoked, by certificate id. */
    public Map<String, CertEvent.Revoked> revocations() {
        return Map.copyOf(revocations);
    }

    /**
     * Revokes the live certificate covering {@code name} at the CA that issued it, then orders its replacement: at
     * once here, and through a renewal request in the store (every server sharing it, and this one after a restart,
     * replace it). The future completes with the replacement's status, or exceptionally.
     */
    public CompletableFuture<CertificateStatus> revoke(String name, String reason, boolean withCertificateKey) {
        ManagedCertificate m = managed.apply(name);
        if (m == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no managed certificate covers '" + name
                    + "'. Fix: pass a name of a configured certificate (see status())"));
        }
        try {
            BigInteger serial = revokeLive(m, reason, withCertificateKey);
            try {
                services.storage().store().store(RenewalRequests.key(m.id), RenewalRequests.encode(new RenewalRequests.Request(m.id,
                        serial, services.now(), "revoke(" + reason + ")")));
            } catch (IOException e) {
                LOG.warn("autocert4j: cannot store the renewal request for revoked certificate {} ({}); only this server replaces it now",
                        m.id, LogSafe.text(e.getMessage()));
            }
            return m.renewNow(serial);
        } catch (IssuanceException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * With {@code revokeOnRemove}: revokes the removed (already stopped) certificate {@code m}'s live certificate, then,
     * under the store lock, the one stored for it if that is another (an order that returned as it stopped stores its
     * certificate without taking it live; in a shared store, a peer's newer renewal: removal with revocation is
     * fleet-wide), and deletes the stored copy. The live one is revoked first, without the lock (the CA alone decides
     * it: a store that is down or a lock held by the caller's own thread must not keep it valid); the rest under the
     * lock, because an order that outlived the removal's wait holds it while it stores, so what is read there is what it
     * stored and nothing is stored after the copy is deleted. {@code neverLoaded}: lazy loading had not loaded it,
     * nothing is live here. A failure is logged; the removal stands, and a stored copy not revoked is kept (the CLI
     * revokes from it).
     */
    public void removed(ManagedCertificate m, boolean neverLoaded) {
        String reason = revokeOnRemove;
        if (reason == null) {
            return;
        }
        BigInteger live = null;
        try {
            live = neverLoaded || m.status(services.now()).serial() == null ? null : revokeLive(m, reason, false);
        } catch (IssuanceException | RuntimeException e) {
            LOG.warn("autocert4j: certificate {} was removed but its live certificate was not revoked: {}; its stored copy is "
                    + "kept. Fix: revoke it with the CLI ('autocert4j revoke') or StoreAdmin.revoke", m.id, LogSafe.text(e.getMessage()));
            return;
        }
        String revoked = live == null ? "" : " (its live certificate, serial " + live.toString(16) + ", was revoked)";
        try (CertStore.Lock lock = services.storage().lock(m.id)) {
            CertificateStorage.Read read = services.storage().read(m.id);
            if (read.storeFailure() != null) {
                LOG.warn("autocert4j: certificate {} was removed{}: the store {} could not be read ({}){}; its stored copy is "
                        + "kept. Fix: once the store answers, revoke it with the CLI ('autocert4j revoke') or StoreAdmin.revoke", m.id,
                        live == null ? " but not revoked" : revoked, services.storage().store(),
                        LogSafe.text(String.valueOf(read.storeFailure().getMessage())),
                        neverLoaded ? " and it was never loaded (lazy loading)" : "");
                return;
            }
            CertificateStorage.Stored stored = read.decode().orElse(null);
            if (stored != null && !stored.bundle().serial().equals(live)) {
                try {
                    revoke(m, stored.bundle(), stored.issuerId(), reason, false);
                } catch (IssuanceException | RuntimeException e) {
                    LOG.warn("autocert4j: certificate {} was removed{} but its stored certificate (serial {}) was not revoked: {}; "
                            + "its stored copy is kept. Fix: revoke it with the CLI ('autocert4j revoke') or StoreAdmin.revoke", m.id,
                            revoked, stored.bundle().serial().toString(16), LogSafe.text(String.valueOf(e.getMessage())));
                    return;
                }
            } else if (live == null) {
                LOG.info("autocert4j: certificate {} was removed; it had no CA-issued certificate to revoke", m.id);
            }
            CertStore store = services.storage().store();
            store.delete(StoreLayout.certBundle(m.id));
            store.delete(StoreLayout.certMeta(m.id));
        } catch (IOException | RuntimeException e) {
            LOG.warn("autocert4j: certificate {} was removed{}: its stored copy could not be checked and deleted: {}. Fix: once "
                    + "the store answers and no order still storing holds its lock, revoke what is stored with the CLI ('autocert4j "
                    + "revoke') or StoreAdmin.revoke", m.id,
                    live == null ? " but not revoked" : revoked, LogSafe.text(String.valueOf(e.getMessage())));
        }
    }

    private BigInteger revokeLive(ManagedCertificate m, String reason, boolean withCertificateKey) throws IssuanceException {
        Revocation.reason(reason); // IllegalArgumentException naming the known reasons
        m.loadIfNotLoaded(); // lazy loading: the stored certificate is the one to revoke (IllegalStateException naming the store)
        CertificateStatus s = m.status(services.now());
        if (s.serial() == null) {
            throw new IllegalStateException("certificate " + m.id + " has no CA-issued certificate live to revoke. Fix: none needed");
        }
        return revoke(m, liveBundle(m, s.serial()), s.issuerId(), reason, withCertificateKey);
    }

    /** Revokes {@code bundle} of {@code m} at the CA {@code issuerId} (or the first one), emitting Revoked; returns its serial. */
    private BigInteger revoke(ManagedCertificate m, CertBundle bundle, String issuerId, String reason, boolean withCertificateKey)
            throws IssuanceException {
        Issuer issuer = services.issuerOrFirst(issuerId);
        Issuer inner = issuer instanceof FailedValidationBudget b ? b.delegate() : issuer;
        if (!(inner instanceof AcmeIssuer acme)) {
            throw new IllegalStateException("certificate " + m.id + " comes from the issuer " + issuer.id() + ", which is not an ACME CA "
                    + "this library talks to. Fix: revoke it there");
        }
        long t0 = System.nanoTime();
        acme.account().revoke(bundle.leaf(), bundle.keyPair(), reason, withCertificateKey);
        CertEvent.Revoked event = new CertEvent.Revoked(m.id, services.now(), bundle.serial(), reason, withCertificateKey, acme.id());
        revocations.put(m.id, event);
        LOG.warn("autocert4j: revoked certificate {} serial {} at {} ({}{}) in {} ms", m.id, bundle.serial().toString(16), acme.id(), reason,
                withCertificateKey ? ", signed with the certificate's key" : "", Duration.ofNanos(System.nanoTime() - t0).toMillis());
        services.events().emit(event);
        return bundle.serial();
    }

    /** The live certificate {@code serial} of {@code m} with its key: as served, else as stored. */
    private CertBundle liveBundle(ManagedCertificate m, BigInteger serial) {
        LiveKeyManager.Entry e = services.keyManager().select(m.id);
        if (e != null && e.chain.length > 0 && e.chain[0].getSerialNumber().equals(serial)) {
            X509Certificate leaf = e.chain[0];
            return new CertBundle(new KeyPair(leaf.getPublicKey(), e.key), List.of(e.chain));
        }
        try {
            return services.storage().load(m.id).map(st -> st.bundle()).filter(b -> b.serial().equals(serial))
                    .orElseThrow(() -> new IllegalStateException("the live certificate of " + m.id + " (serial " + serial.toString(16)
                            + ") is neither served nor stored here any more. Fix: revoke it with the CLI from a store that holds it"));
        } catch (IOException ex) {
            throw new IllegalStateException("cannot read certificate " + m.id + " from the store: " + LogSafe.text(ex.getMessage()), ex);
        }
    }

    /** Runs {@code op} on every configured ACME CA's account, emitting {@code change} for each; returns the locations. */
    public List<URI> forEachAccount(CertEvent.AccountChange change, AccountOp op) throws IssuanceException {
        List<URI> out = new ArrayList<>();
        List<AccountLifecycle> all = accounts();
        if (all.isEmpty()) {
            throw new IllegalStateException("no ACME CA is configured (only custom issuers). Fix: none: there is no ACME account");
        }
        for (AccountLifecycle a : all) {
            URI location = op.apply(a);
            out.add(location);
            services.events().emit(new CertEvent.AccountChanged("", services.now(), StoreLayout.caId(a.directory()), change, location));
        }
        return out;
    }

    /** One account operation. */
    @FunctionalInterface
    public interface AccountOp {
        URI apply(AccountLifecycle account) throws IssuanceException;
    }

    /** When the account of {@code a} was deactivated, or null; store failures as null (status must not throw). */
    public static Instant deactivatedAt(AccountLifecycle a) {
        try {
            return a.deactivatedAt();
        } catch (IOException e) {
            return null;
        }
    }
}
