package io.github.autocert4j.internal.acme;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.KeyType;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.io.StringReader;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an operator does to one CA's ACME account through a running manager: key rollover
 * ({@link AccountKeyRollover}, crash-safe), deactivation (RFC 8555 §7.3.6; afterwards orders are refused
 * with a permanent failure naming the fix, until {@link #registerNew()}), and revocation signed by the
 * account or by the certificate's key (RFC 8555 §7.6). Each holds the issuer's account monitor and the
 * store's account lock, as registration does, so servers sharing the store never interleave.
 */
public final class AccountLifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class); // the CA's log

    private final URI directory;
    private final CertStore store;
    private final StoreLayout layout;
    private final AcmeAccount accounts;
    private final Object accountMonitor;
    private final Supplier<Session> sessions;
    private final Clock clock;
    private final AccountKeyRollover rollover;

    AccountLifecycle(URI directory, CertStore store, AcmeAccount accounts, Object accountMonitor, Supplier<Session> sessions, Clock clock) {
        this.directory = directory;
        this.store = store;
        this.layout = new StoreLayout(directory);
        this.accounts = accounts;
        this.accountMonitor = accountMonitor;
        this.sessions = sessions;
        this.clock = clock;
        this.rollover = new AccountKeyRollover(directory, store, layout);
    }

    /** The CA's ACME directory. */
    public URI directory() {
        return directory;
    }

    /** Called with the new public key whenever this server starts using another account key (the own-account rule). */
    public void onKeyChange(Consumer<PublicKey> listener) {
        accounts.onKeyChange(listener);
    }

    /**
     * Replaces the account key with a new one (RFC 8555 §7.3.5), crash-safe (see {@link AccountKeyRollover}).
     * Registers the account first if the store has none. Returns the account's location.
     */
    public URI rolloverKey() throws IssuanceException {
        Session session = sessions.get();
        try {
            Login login = accounts.login(session);
            synchronized (accountMonitor) {
                try (CertStore.Lock lock = store.lock(layout.accountLock())) {
                    Optional<byte[]> pem = store.load(layout.accountKey());
                    if (pem.isPresent()) { // another server sharing the store may have rolled it since this one logged in
                        login = session.login(login.getAccountLocation(), Pem.decodeKeyPair(pem.get()));
                    }
                    KeyPair newKey;
                    try {
                        newKey = rollover.rollover(login, lock);
                    } catch (IssuanceException e) {
                        accounts.forget(); // the next login settles what the store and the CA hold
                        throw e;
                    }
                    accounts.adopt(login.getAccountLocation(), newKey);
                    LOG.info("autocert4j: rolled the ACME account key of {} at {}", login.getAccountLocation(), directory);
                    return login.getAccountLocation().toURI();
                }
            }
        } catch (IOException | java.net.URISyntaxException e) {
            throw IssuanceException.transientFailure("cannot roll the ACME account key at " + directory + ": the store failed ("
                    + LogSafe.text(e.getMessage()) + "). Fix: check the store, then roll again", e);
        } catch (AcmeException e) {
            throw IssuanceException.transientFailure("cannot roll the ACME account key at " + directory + ": logging in failed ("
                    + LogSafe.text(e.getMessage()) + "). Fix: check the CA, then roll again", e);
        }
    }

    /**
     * Deactivates the account at the CA (RFC 8555 §7.3.6: for good) and records it in the store, so every
     * server sharing the store refuses to order with it. Returns the deactivated account's location.
     */
    public URI deactivate() throws IssuanceException {
        Session session = sessions.get();
        try {
            Login login = accounts.login(session);
            synchronized (accountMonitor) {
                try (CertStore.Lock lock = store.lock(layout.accountLock())) {
                    login.getAccount().deactivate();
                    markDeactivated(store, layout, login.getAccountLocation(), clock.instant(), lock);
                    accounts.forget();
                    LOG.warn("autocert4j: deactivated the ACME account {} at {}; no more orders from it", login.getAccountLocation(), directory);
                    return login.getAccountLocation().toURI();
                }
            }
        } catch (IOException | java.net.URISyntaxException e) {
            throw IssuanceException.transientFailure("deactivating the ACME account at " + directory + ": the store failed ("
                    + LogSafe.text(e.getMessage()) + "); if the CA deactivated it, the first refused order records it. Fix: check the store", e);
        } catch (AcmeException e) {
            throw IssuanceException.transientFailure("the CA " + directory + " did not deactivate the ACME account: "
                    + LogSafe.text(e.getMessage()) + ". Fix: check the CA, then try again", e);
        }
    }

    /**
     * Registers a new account with a new key after {@link #deactivate()} (never while the stored account is
     * active: IllegalStateException). Returns the new account's location.
     */
    public URI registerNew() throws IssuanceException {
        try {
            synchronized (accountMonitor) {
                try (CertStore.Lock lock = store.lock(layout.accountLock())) {
                    if (store.load(layout.accountDeactivated()).isEmpty() && store.load(layout.accountLocation()).isPresent()) {
                        throw new IllegalStateException("the ACME account at " + directory + " in the store is not deactivated. Fix: "
                                + "deactivate it first (autoCert.accounts().deactivate()), or roll its key (autoCert.accounts().rolloverKey()) if the key leaked");
                    }
                    KeyPair key = KeyType.EC_P256.generate();
                    store.store(layout.accountKey(), Pem.encodeKeyPair(key), lock); // saved before registering, as at first start
                    store.delete(layout.accountKeyPending());
                    store.delete(layout.accountLocation());
                    store.delete(layout.accountDeactivated()); // last: a crash before leaves the refusal in place
                    accounts.forget();
                }
                Login login = accounts.login(sessions.get());
                return login.getAccountLocation().toURI();
            }
        } catch (IOException | java.net.URISyntaxException e) {
            throw IssuanceException.transientFailure("cannot register a new ACME account at " + directory + ": the store failed ("
                    + LogSafe.text(e.getMessage()) + "). Fix: check the store, then try again", e);
        } catch (AcmeException e) {
            throw IssuanceException.transientFailure("the CA " + directory + " did not register the new ACME account: "
                    + LogSafe.text(e.getMessage()) + ". Fix: check the CA; the new key is stored and registered at the next order", e);
        }
    }

    /**
     * Revokes {@code certificate} with {@code reason} (a name as {@link Revocation#reason} reads it), signed by the
     * stored account, or by the certificate's own key {@code certificateKey} if {@code withCertificateKey} (when the
     * account is lost, deactivated or not trusted) or the store has no account.
     */
    public void revoke(X509Certificate certificate, KeyPair certificateKey, String reason, boolean withCertificateKey) throws IssuanceException {
        accounts.revoke(sessions.get(), certificate, certificateKey, Revocation.reason(reason), withCertificateKey);
    }

    /** The stored account's location, or null when none is registered yet. */
    public URI location() throws IOException {
        Optional<byte[]> l = store.load(layout.accountLocation());
        return l.map(b -> URI.create(new String(b, StandardCharsets.UTF_8).trim())).orElse(null);
    }

    /** The stored account's public key, or null. */
    public PublicKey publicKey() throws IOException {
        Optional<byte[]> pem = store.load(layout.accountKey());
        return pem.isEmpty() ? null : Pem.decodeKeyPair(pem.get()).getPublic();
    }

    /** When the account was deactivated, per the store; null if it was not. */
    public Instant deactivatedAt() throws IOException {
        Optional<byte[]> m = store.load(layout.accountDeactivated());
        if (m.isEmpty()) {
            return null;
        }
        Properties p = new Properties();
        p.load(new StringReader(new String(m.get(), StandardCharsets.UTF_8)));
        try {
            return Instant.parse(p.getProperty("at", ""));
        } catch (java.time.format.DateTimeParseException e) {
            return Instant.EPOCH; // present but unreadable: still deactivated
        }
    }

    /** Whether a key rollover is in progress or was interrupted (its new key waits in the store). */
    public boolean rolloverPending() throws IOException {
        return store.load(layout.accountKeyPending()).isPresent();
    }

    /** The permanent failure for ordering with the deactivated account of {@code directory}, or null if it is not deactivated. */
    static IssuanceException deactivated(CertStore store, StoreLayout layout, URI directory) throws IOException {
        Optional<byte[]> m = store.load(layout.accountDeactivated());
        if (m.isEmpty()) {
            return null;
        }
        String what = new String(m.get(), StandardCharsets.UTF_8).replace('\n', ' ').trim();
        return new IssuanceException("the ACME account at " + directory + " was deactivated (" + LogSafe.text(what) + "); this manager "
                + "does not order with it. Fix: call autoCert.accounts().registerNew() to register a new account with a new key "
                + "(or delete " + layout.accountDeactivated() + ", " + layout.accountKey() + " and " + layout.accountLocation()
                + " from the store)", true, null, "urn:ietf:params:acme:error:unauthorized", null, null);
    }

    /** Whether the CA refused a request because the account is deactivated (Boulder's and Pebble's wording). */
    static boolean saysDeactivated(AcmeServerException e) {
        return e.getType().toString().endsWith(":unauthorized")
                && e.getProblem().getDetail().map(d -> d.contains("deactivated")).orElse(false);
    }

    /** Records the deactivation of the account at {@code location}; the caller holds the account lock. */
    static void markDeactivated(CertStore store, StoreLayout layout, URL location, Instant at, CertStore.Lock lock) throws IOException {
        store.store(layout.accountDeactivated(), ("at=" + at + "\naccount=" + location.toExternalForm() + "\n")
                .getBytes(StandardCharsets.UTF_8), lock);
    }
}
