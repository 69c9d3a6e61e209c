package io.github.autocert4j.internal.acme;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.KeyType;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.RolloverRecord;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.util.Optional;

import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Account key rollover (RFC 8555 §7.3.5) that a crash at any point leaves with a usable account. Under the
 * account lock: (1) the new key is written to {@link StoreLayout#accountKeyPending()}; (2) the CA is asked to
 * change the key (keyChange, signed by the old key around the new one); (3) the new key replaces
 * {@link StoreLayout#accountKey()} in one atomic write; (4) the pending entry is deleted.
 *
 * <p>A crash (or a failed write) anywhere from (1) to (4) leaves a pending key the CA may or may not know.
 * Whoever takes the account lock next (the first login after a restart; a server whose order the CA refused)
 * calls {@link #resolvePending} first: an account lookup by key ({@code newAccount} with
 * {@code onlyReturnExisting}) with the pending key; known, it is promoted as in (3) and (4); unknown
 * ({@code accountDoesNotExist}), it is discarded and the old key, which the CA still accepts, stays.
 *
 * <p>Between (2) and (3) the hand-over {@link StoreLayout#accountKeyRolledOver()} is stored, signed with the old key
 * ({@link RolloverRecord}): servers sharing the store serve this server's challenge answers for the new key at once.
 */
final class AccountKeyRollover {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class); // the CA's log

    private final URI directory;
    private final CertStore store;
    private final StoreLayout layout;

    AccountKeyRollover(URI directory, CertStore store, StoreLayout layout) {
        this.directory = directory;
        this.store = store;
        this.layout = layout;
    }

    /**
     * Rolls the key of the account {@code login} is logged in to, steps (1) to (4); the caller holds the account
     * lock {@code lock}. Returns the new key pair.
     */
    KeyPair rollover(Login login, CertStore.Lock lock) throws IssuanceException {
        KeyPair newKey = KeyType.EC_P256.generate();
        byte[] pem = Pem.encodeKeyPair(newKey);
        try {
            store.store(layout.accountKeyPending(), pem, lock);
        } catch (IOException e) {
            throw IssuanceException.transientFailure("cannot write the new ACME account key to " + layout.accountKeyPending() + " ("
                    + LogSafe.text(e.getMessage()) + "); nothing changed at the CA " + directory + ". Fix: check the store, then roll again", e);
        }
        KeyPair oldKey = login.getKeyPair(); // acme4j's login holds the new key after changeKey
        try {
            login.getAccount().changeKey(newKey);
        } catch (AcmeException e) {
            // The CA may have changed the key before the answer got lost: ask it now, else at the next login.
            try {
                resolvePending(login.getSession(), lock);
            } catch (IOException | IssuanceException again) {
                LOG.warn("autocert4j: cannot tell yet whether the CA {} took the new account key ({}); asked again at the next login",
                        directory, LogSafe.text(again.getMessage()));
            }
            throw IssuanceException.transientFailure("the CA " + directory + " did not change the ACME account key: "
                    + LogSafe.text(e.getMessage()) + ". Fix: roll again later; the account keeps working with the key the CA accepts", e);
        }
        try {
            store.store(layout.accountKeyRolledOver(), RolloverRecord.encode(oldKey, thumbprint(oldKey),
                    thumbprint(newKey)), lock);
        } catch (IOException | java.security.GeneralSecurityException e) {
            LOG.warn("autocert4j: cannot store the key rollover's hand-over {} ({}); servers sharing the store adopt the new key at "
                    + "their next order", layout.accountKeyRolledOver(), LogSafe.text(e.getMessage()));
        }
        try {
            store.store(layout.accountKey(), pem, lock);
        } catch (IOException e) {
            throw IssuanceException.transientFailure("the CA " + directory + " took the new ACME account key, but storing it as "
                    + layout.accountKey() + " failed (" + LogSafe.text(e.getMessage()) + "); it stays in " + layout.accountKeyPending()
                    + " and is promoted at the next login of any server sharing the store. Fix: check the store", e);
        }
        deletePending();
        return newKey;
    }

    /**
     * Settles a pending key left by an interrupted rollover (see the class comment); the caller holds the account
     * lock {@code lock}. Returns whether the stored account key changed.
     */
    boolean resolvePending(Session session, CertStore.Lock lock) throws IOException, IssuanceException {
        Optional<byte[]> pending = store.load(layout.accountKeyPending());
        if (pending.isEmpty()) {
            return false;
        }
        KeyPair key = Pem.decodeKeyPair(pending.get());
        Login found;
        try {
            found = new AccountBuilder().onlyExisting().useKeyPair(key).createLogin(session);
        } catch (AcmeServerException e) {
            if (!AcmeFailures.accountGone(e)) {
                throw unsettled(e);
            }
            deletePending();
            LOG.warn("autocert4j: discarded the new ACME account key of an interrupted key rollover at {}: the CA does not know it, "
                    + "the account keeps its key. Fix: roll the key again if it was meant to replace a leaked one", directory);
            return false;
        } catch (AcmeException e) {
            throw unsettled(e);
        }
        store.store(layout.accountKey(), pending.get(), lock);
        URL location = found.getAccountLocation();
        Optional<byte[]> storedLocation = store.load(layout.accountLocation());
        if (storedLocation.isEmpty() || !new String(storedLocation.get(), StandardCharsets.UTF_8).trim().equals(location.toExternalForm())) {
            store.store(layout.accountLocation(), (location.toExternalForm() + "\n").getBytes(StandardCharsets.UTF_8), lock);
        }
        deletePending();
        LOG.warn("autocert4j: completed an interrupted ACME account key rollover at {}: the CA knows the new key for {}; it is the "
                + "stored account key now", directory, location);
        return true;
    }

    /** The account the CA knows {@code key} for (a key lookup); an IssuanceException naming the fix if none. */
    Login lookUp(Session session, KeyPair key) throws IssuanceException {
        try {
            return new AccountBuilder().onlyExisting().useKeyPair(key).createLogin(session);
        } catch (AcmeException e) {
            throw IssuanceException.transientFailure("the ACME account key in the store (" + layout.accountKey() + ") is not the one this "
                    + "server used, and the CA " + directory + " does not confirm it (" + LogSafe.text(e.getMessage()) + "). Fix: check who "
                    + "wrote the store; restore the account key from a backup, or roll the key again", e);
        }
    }

    private static String thumbprint(KeyPair key) {
        return org.shredzone.acme4j.toolbox.AcmeUtils.base64UrlEncode(org.shredzone.acme4j.toolbox.JoseUtils.thumbprint(key.getPublic()));
    }

    private IssuanceException unsettled(AcmeException e) {
        return IssuanceException.transientFailure("an interrupted ACME account key rollover at " + directory + " is not settled yet: the "
                + "key lookup with the new key failed (" + LogSafe.text(e.getMessage()) + "). Fix: none needed if the CA is down; it is "
                + "asked again at the next login", e);
    }

    private void deletePending() {
        try {
            store.delete(layout.accountKeyPending());
        } catch (IOException e) {
            LOG.warn("autocert4j: cannot delete {} ({}); settled again at the next login", layout.accountKeyPending(),
                    LogSafe.text(e.getMessage()));
        }
    }
}
