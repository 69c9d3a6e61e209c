package io.github.autocert4j.internal.acme;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.KeyType;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.util.LogSafe;
import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One CA's ACME account: the account key and location in the store, registration (with external
 * account binding), login, recovery when the CA lost the account, and revocation. Split out of
 * {@link AcmeIssuer} (issue 19). Every account change holds {@code accountMonitor}, shared with the
 * issuer's renewal-information session.
 */
final class AcmeAccount {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class); // the CA's log, as before
    /** The stored account key is registered again at most once per this interval (a CA that keeps losing accounts). */
    public static final Duration REREGISTRATION_INTERVAL = Duration.ofMinutes(10);
    private record Account(URL location, KeyPair keyPair) {
    }

    private final URI directory;
    private final CertStore store;
    private final StoreLayout layout;
    private final String email;
    private final String eabKeyId;
    private final String eabHmacKey;   // never logged
    private final Clock clock;
    private final Object accountMonitor;
    private final AcmeFailures failures;
    private Account account;            // guarded by accountMonitor
    private Instant lastRegistration;   // when the key was last registered again; guarded by accountMonitor
    private final AccountKeyRollover rollover;
    private volatile java.util.function.Consumer<java.security.PublicKey> keyListener = k -> { };

    AcmeAccount(AcmeCa ca, CertStore store, StoreLayout layout, String email, Clock clock, Object accountMonitor, AcmeFailures failures) {
        this.directory = ca.directory();
        this.store = store;
        this.layout = layout;
        this.email = email;
        this.eabKeyId = ca.eabKeyId();
        this.eabHmacKey = ca.eabHmacKey();
        this.clock = clock;
        this.accountMonitor = accountMonitor;
        this.failures = failures;
        this.rollover = new AccountKeyRollover(directory, store, layout);
    }

    /**
     * Revokes {@code certificate}, signed by the stored account, else (or if {@code withCertificateKey}) by
     * {@code certificateKey}.
     */
    void revoke(Session session, X509Certificate certificate, KeyPair certificateKey, org.shredzone.acme4j.RevocationReason reason,
                boolean withCertificateKey) throws IssuanceException {
        try {
            Optional<byte[]> keyPem = withCertificateKey ? Optional.empty() : store.load(layout.accountKey());
            Optional<byte[]> location = withCertificateKey ? Optional.empty() : store.load(layout.accountLocation());
            if (keyPem.isPresent() && location.isPresent()) {
                Login login = session.login(URI.create(new String(location.get(), StandardCharsets.UTF_8).trim()).toURL(),
                        Pem.decodeKeyPair(keyPem.get()));
                org.shredzone.acme4j.Certificate.revoke(login, certificate, reason);
            } else if (certificateKey != null) {
                org.shredzone.acme4j.Certificate.revoke(session, certificateKey, certificate, reason);
            } else {
                throw IssuanceException.permanentFailure("no account for " + directory + " in the store and no certificate key to sign "
                        + "the revocation with. Fix: revoke from the store the certificate was issued into");
            }
        } catch (AcmeException e) {
            if (e instanceof AcmeServerException se && se.getType().toString().endsWith(":alreadyRevoked")) {
                throw new IssuanceException("the CA at " + directory + " says serial " + certificate.getSerialNumber().toString(16)
                        + " is already revoked: " + AcmeFailures.describe(se.getProblem()) + ". Fix: none needed", true, null,
                        se.getType().toString(), se.getProblem().getDetail().orElse(null), e);
            }
            throw IssuanceException.permanentFailure("the CA at " + directory + " refused to revoke serial "
                    + certificate.getSerialNumber().toString(16) + ": " + LogSafe.text(e.getMessage())
                    + ". Fix: check that this is the CA that issued it and that it is not revoked already"
                    + (withCertificateKey ? "" : "; if the account is deactivated or lost, sign with the certificate's key "
                    + "(autoCert.accounts().revoke(name, reason, true), the CLI's revoke --with-certificate-key)"));
        } catch (IOException e) {
            throw IssuanceException.transientFailure("cannot read the account of " + directory + " from the store: "
                    + LogSafe.text(e.getMessage()), e);
        }
    }

    /** Logs in, creating the account only if the store has no account key with a known location. */
    Login login(Session session) throws AcmeException, IOException, IssuanceException {
        synchronized (accountMonitor) {
            if (account == null) {
                account = loadOrRegister(session);
                keyListener.accept(account.keyPair().getPublic());
            }
            return session.login(account.location(), account.keyPair());
        }
    }

    private Account loadOrRegister(Session session) throws AcmeException, IOException, IssuanceException {
        try (CertStore.Lock lock = store.lock(layout.accountLock())) {
            IssuanceException deactivated = AccountLifecycle.deactivated(store, layout, directory);
            if (deactivated != null) {
                throw deactivated;
            }
            rollover.resolvePending(session, lock); // a rollover interrupted by a crash: settled with the CA before use
            KeyPair accountKey;
            Optional<byte[]> keyPem = store.load(layout.accountKey());
            if (keyPem.isPresent()) {
                accountKey = Pem.decodeKeyPair(keyPem.get());
            } else {
                accountKey = KeyType.EC_P256.generate();
                // Saved before registering: a crash after registration must not orphan the account.
                store.store(layout.accountKey(), Pem.encodeKeyPair(accountKey));
            }
            Optional<byte[]> location = store.load(layout.accountLocation());
            if (location.isPresent()) {
                return new Account(URI.create(new String(location.get(), StandardCharsets.UTF_8).trim()).toURL(), accountKey);
            }
            Login login = register(session, accountKey);
            store.store(layout.accountLocation(), (login.getAccountLocation().toExternalForm() + "\n").getBytes(StandardCharsets.UTF_8));
            LOG.info("autocert4j: ACME account ready at {}", login.getAccountLocation());
            return new Account(login.getAccountLocation(), accountKey);
        }
    }

    /** newAccount for {@code accountKey}; a key the CA already knows returns that account: never a duplicate. */
    Login register(Session session, KeyPair accountKey) throws AcmeException, IssuanceException {
        AccountBuilder builder = new AccountBuilder().useKeyPair(accountKey).agreeToTermsOfService();
        if (email != null) {
            builder.addEmail(email);
        }
        if (eabKeyId != null) {
            builder.withKeyIdentifier(eabKeyId, new javax.crypto.spec.SecretKeySpec(AcmeCa.decodeHmacKey(eabHmacKey), "HmacSHA256"))
                    .withMacAlgorithm("HS256");
        }
        try {
            return builder.createLogin(session);
        } catch (AcmeServerException e) {
            if (bindingRefused(e)) {
                throw eabRefused(e);
            }
            throw e;
        }
    }

    /**
     * After the first account-bound request of an order (newOrder) failed with {@code failure}:
     * whether the CA lost the account, and if so the login of the account registered again; null if
     * the account is not the problem (the failure is then reported as it is).
     *
     * <p>The CA lost it when it says so ({@code accountDoesNotExist}), or when it answers HTTP 5xx
     * without Retry-After (Caddy's CA answers 500 with an empty body for an account it lost) and an
     * account lookup by key ({@code onlyReturnExisting}) finds none. The same stored key is registered
     * again: newAccount is idempotent for a key the CA still knows, so a mistaken diagnosis costs
     * nothing and never orphans or duplicates an account; a new key would leave the old account
     * behind and need a new key file written before the registration to stay crash-safe. The new
     * location replaces the stored one in one atomic store write, under the account lock (servers
     * sharing the store, and other certificates of this manager, use it instead of registering again).
     * At most one registration per {@link #REREGISTRATION_INTERVAL}, logged once with the reason.
     */
    Login recoverAccount(Session session, Login failedLogin, AcmeException failure, Instant askedRetry)
            throws AcmeException, IOException, IssuanceException {
        if (failure instanceof AcmeServerException se) {
            Login changed = changedInStore(session, failedLogin, se);
            if (changed != null) {
                return changed;
            }
        }
        String reason;
        if (failure instanceof AcmeServerException se && AcmeFailures.accountGone(se)) {
            reason = "it answered " + AcmeFailures.describe(se.getProblem());
        } else if (askedRetry == null && AcmeFailures.serverError(failure)) {
            reason = null; // decided by the lookup below
        } else {
            return null;
        }
        URL failed = failedLogin.getAccountLocation();
        synchronized (accountMonitor) {
            try (CertStore.Lock ignored = store.lock(layout.accountLock())) {
                KeyPair key = failedLogin.getKeyPair();
                Optional<byte[]> stored = store.load(layout.accountLocation());
                if (stored.isPresent()) {
                    URL now = URI.create(new String(stored.get(), StandardCharsets.UTF_8).trim()).toURL();
                    if (!now.toExternalForm().equals(failed.toExternalForm())) {
                        // Another server sharing the store (or another certificate here) registered it meanwhile.
                        account = new Account(now, key);
                        return session.login(now, key);
                    }
                }
                if (reason == null) {
                    try {
                        Login existing = new AccountBuilder().onlyExisting().useKeyPair(key).createLogin(session);
                        if (existing.getAccountLocation().toExternalForm().equals(failed.toExternalForm())) {
                            return null; // the CA knows the account: the 5xx is its own trouble
                        }
                        LOG.warn("autocert4j: the CA {} knows the ACME account key under {}, not under the stored {}; using that",
                                directory, existing.getAccountLocation(), failed);
                        storeLocation(existing.getAccountLocation(), key);
                        return existing;
                    } catch (AcmeServerException lookup) {
                        if (!AcmeFailures.accountGone(lookup)) {
                            return null;
                        }
                        reason = "it answered " + LogSafe.text(String.valueOf(failure.getMessage()))
                                + " to an order and its account lookup by key found no account";
                    } catch (AcmeException lookup) {
                        return null; // the lookup failed as well: an outage, reported as the original failure
                    }
                }
                Instant now = clock.instant();
                if (lastRegistration != null && now.isBefore(lastRegistration.plus(REREGISTRATION_INTERVAL))) {
                    throw IssuanceException.transientFailure("the CA " + directory + " does not know the ACME account " + failed
                            + " (" + reason + ") although autocert4j registered the account key again at " + lastRegistration
                            + "; it is registered again at most every " + REREGISTRATION_INTERVAL.toMinutes() + " minutes, so not "
                            + "before " + lastRegistration.plus(REREGISTRATION_INTERVAL) + ". Fix: check the CA: it keeps losing accounts "
                            + "(a database that is reset or not persisted?)", null);
                }
                lastRegistration = now;
                Login login = register(session, key);
                storeLocation(login.getAccountLocation(), key);
                boolean same = login.getAccountLocation().toExternalForm().equals(failed.toExternalForm());
                LOG.warn("autocert4j: the CA {} no longer knows the ACME account {} ({}); registered the stored account key again: {}",
                        directory, failed, reason, same ? "the CA answered with the same account URL" : "now " + login.getAccountLocation());
                return login;
            }
        }
    }

    /**
     * After a refused order: what the store says changed under this server's cached account. Deactivated (a
     * marker, or the CA's refusal says so): a permanent failure. A rollover that was interrupted, or that another
     * server sharing the store did: the stored key, once the CA confirms it by a key lookup, is used from now on.
     * Null when nothing changed (the caller's recovery goes on). Failure path only: orders read nothing extra.
     */
    private Login changedInStore(Session session, Login failedLogin, AcmeServerException failure)
            throws IOException, IssuanceException {
        synchronized (accountMonitor) {
            try (CertStore.Lock lock = store.lock(layout.accountLock())) {
                IssuanceException deactivated = AccountLifecycle.deactivated(store, layout, directory);
                if (deactivated == null && AccountLifecycle.saysDeactivated(failure)) {
                    AccountLifecycle.markDeactivated(store, layout, failedLogin.getAccountLocation(), clock.instant(), lock);
                    deactivated = AccountLifecycle.deactivated(store, layout, directory);
                }
                if (deactivated != null) {
                    account = null;
                    throw deactivated;
                }
                rollover.resolvePending(session, lock);
                Optional<byte[]> pem = store.load(layout.accountKey());
                if (pem.isEmpty()) {
                    return null;
                }
                KeyPair stored = Pem.decodeKeyPair(pem.get());
                if (java.util.Arrays.equals(stored.getPublic().getEncoded(), failedLogin.getKeyPair().getPublic().getEncoded())) {
                    return null;
                }
                Login adopted = rollover.lookUp(session, stored);
                LOG.info("autocert4j: the ACME account key of {} changed in the store (a key rollover); the CA confirms the new key for {}",
                        directory, adopted.getAccountLocation());
                adopt(adopted.getAccountLocation(), stored);
                return adopted;
            }
        }
    }

    /** The account to use from now on (after a key rollover); tells {@link #onKeyChange} listeners. Caller holds accountMonitor. */
    void adopt(URL location, KeyPair key) {
        account = new Account(location, key);
        keyListener.accept(key.getPublic());
    }

    /** Forgets the cached account: the next login reads the store again. Caller holds accountMonitor. */
    void forget() {
        account = null;
    }

    /** Called with the new public key whenever this server starts using another account key. */
    void onKeyChange(java.util.function.Consumer<java.security.PublicKey> listener) {
        keyListener = listener;
    }

    /** Replaces the stored account location (one atomic write) and the cached account; caller holds the account lock. */
    private void storeLocation(URL location, KeyPair key) throws IOException {
        store.store(layout.accountLocation(), (location.toExternalForm() + "\n").getBytes(StandardCharsets.UTF_8));
        account = new Account(location, key);
    }

    /**
     * Whether a refused newAccount refused the external account binding: with a binding configured,
     * "unauthorized" (unknown key id, wrong HMAC key) or "malformed" (a binding it cannot parse).
     */
    private boolean bindingRefused(AcmeServerException e) {
        String type = e.getType().toString();
        return eabKeyId != null && (type.endsWith(":unauthorized") || type.endsWith(":malformed"));
    }

    /** A refused binding cannot pass on a retry: permanent, naming the fix; the key is never in the message. */
    private IssuanceException eabRefused(AcmeServerException e) {
        return new IssuanceException("the CA " + directory + " refused the external account binding while creating the ACME account: "
                + AcmeFailures.describe(e.getProblem()) + ". Fix: check the key id and HMAC key given to .externalAccountBinding(keyId, hmacKey) "
                + "(or AcmeCa.withExternalAccountBinding) against the EAB credentials in your account at the CA; they may also have "
                + "been used up or revoked", true, null, e.getType().toString(), e.getProblem().getDetail().orElse(null), e);
    }
}
