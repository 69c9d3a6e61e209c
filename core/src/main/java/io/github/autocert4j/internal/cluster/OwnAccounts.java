package io.github.autocert4j.internal.cluster;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.RolloverRecord;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.net.URI;
import java.security.PublicKey;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.shredzone.acme4j.toolbox.AcmeUtils;
import org.shredzone.acme4j.toolbox.JoseUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ACME accounts of this manager (one per configured CA) as the JWK thumbprints (RFC 7638) that
 * end every key authorization: a challenge answer a peer published through the store is served only
 * if it ends in one of them, and the answer served is then rebuilt here as {@code token + "." + own
 * thumbprint}. An answer for any other account (planted by whoever can write the store) is never served.
 *
 * <p>The account key of a CA is read from the store (where every server sharing it keeps the same
 * account) the first time it is needed, and its thumbprint kept for the life of this object: a key
 * written to the store later does not replace one already known, so a store writer cannot swap in an
 * account of their own under a running node. A CA whose key is not in the store yet (no server ordered
 * yet) is asked again at the next unknown thumbprint; such lookups are bounded by {@link PeerChallenges}'s
 * per-second limit.
 */
public final class OwnAccounts {
    private static final Logger LOG = LoggerFactory.getLogger(OwnAccounts.class);
    private static final long WARN_EVERY_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final CertStore store;
    private final List<StoreLayout> layouts = new CopyOnWriteArrayList<>();
    private final Map<String, String> thumbprintByAccountKey = new ConcurrentHashMap<>(); // store key -> thumbprint, never replaced
    private final Map<String, PublicKey> publicKeyByThumbprint = new ConcurrentHashMap<>();
    private final Object warnLock = new Object();
    private long lastWarnNanos;    // guarded by warnLock
    private int refusedSinceWarn;  // guarded by warnLock

    /** Own accounts kept in {@code store}; add the CAs with {@link #addCa}. */
    public OwnAccounts(CertStore store) {
        this.store = store;
    }

    /** Adds the ACME CA at {@code directory}: its account (in the store) is one of this manager's. */
    public void addCa(URI directory) {
        layouts.add(new StoreLayout(directory));
    }

    /** {@link #addCa(URI)}, following its key changes through {@code keyChanges} (the issuer's key rollover hook). */
    public void addCa(URI directory, java.util.function.Consumer<java.util.function.Consumer<PublicKey>> keyChanges) {
        addCa(directory);
        keyChanges.accept(k -> accountKeyChanged(directory, k));
    }

    /**
     * The account of the CA at {@code directory} now has {@code publicKey} (a key rollover this server did or
     * confirmed with the CA): it replaces the known one. Called with keys this server logged in with, never with a key merely found in the store.
     */
    public void accountKeyChanged(URI directory, PublicKey publicKey) {
        accountKeyChanged(new StoreLayout(directory).accountKey(), publicKey);
    }

    private void accountKeyChanged(String key, PublicKey publicKey) {
        String thumbprint = thumbprint(publicKey);
        publicKeyByThumbprint.put(thumbprint, publicKey);
        String old = thumbprintByAccountKey.put(key, thumbprint);
        if (old != null && !old.equals(thumbprint)) {
            publicKeyByThumbprint.remove(old);
        }
    }

    /** The base64url JWK thumbprint of an account's public key, as in a key authorization (RFC 8555 §8.1). */
    public static String thumbprint(PublicKey accountKey) {
        return AcmeUtils.base64UrlEncode(JoseUtils.thumbprint(accountKey));
    }

    /** The thumbprints of the own accounts known so far (read from the store if not yet known). */
    public Set<String> thumbprints() {
        refresh();
        return Set.copyOf(thumbprintByAccountKey.values());
    }

    /** Whether {@code thumbprint} is one of this manager's accounts. */
    public boolean isOwn(String thumbprint) {
        if (thumbprintByAccountKey.containsValue(thumbprint)) {
            return true;
        }
        refresh();
        return thumbprintByAccountKey.containsValue(thumbprint);
    }

    /**
     * What to serve for a challenge answer a peer published: {@code token + "." + own thumbprint} if the
     * stored key authorization is for {@code token} (null: any token, TLS-ALPN-01 stores by name) and one
     * of the own accounts; else null (logged, at most once a minute).
     *
     * @param where the store key or name the answer was found under (logged)
     */
    public String answerFor(String token, String stored, String where) {
        String all = stored == null ? "" : stored.trim();
        int newline = all.indexOf('\n');
        String value = newline < 0 ? all : all.substring(0, newline).trim();
        int dot = value.lastIndexOf('.');
        String storedToken = dot > 0 ? value.substring(0, dot) : null;
        String thumbprint = dot > 0 ? value.substring(dot + 1) : null;
        if (storedToken == null || (token != null && !token.equals(storedToken)) || thumbprint.isEmpty()) {
            refused(where, "is not a key authorization for this token");
            return null;
        }
        if (!isOwn(thumbprint)) {
            if (newline >= 0 && endorsed(value, all.substring(newline + 1))) {
                return value; // a dry run's test account, endorsed with an own account key (StoreAdmin.dryRun)
            }
            refused(where, "is for an ACME account this server does not have (thumbprint " + LogSafe.text(thumbprint) + ")");
            return null;
        }
        return storedToken + "." + thumbprint; // rebuilt from the own thumbprint, not the stored bytes
    }

    /**
     * The lines that endorse {@code keyAuthorization} of another account (a dry run's account at a test CA) with
     * the key of an own account: {@code endorsed-by <thumbprint> <base64url signature>}, one per account key
     * the publisher could read. Only a holder of an own account's private key can make one.
     */
    public static String endorsement(String keyAuthorization, java.security.KeyPair accountKey) throws java.security.GeneralSecurityException {
        java.security.Signature sig = java.security.Signature.getInstance(signatureAlgorithm(accountKey.getPublic()));
        sig.initSign(accountKey.getPrivate());
        sig.update(signedText(keyAuthorization));
        return ENDORSED_BY + thumbprint(accountKey.getPublic()) + " " + AcmeUtils.base64UrlEncode(sig.sign());
    }

    private static final String ENDORSED_BY = "endorsed-by ";

    private boolean endorsed(String keyAuthorization, String lines) {
        for (String line : lines.split("\n")) {
            String[] parts = line.trim().split(" ");
            if (parts.length != 3 || !(parts[0] + " ").equals(ENDORSED_BY) || !isOwn(parts[1])) {
                continue;
            }
            PublicKey key = publicKeyByThumbprint.get(parts[1]);
            try {
                java.security.Signature sig = java.security.Signature.getInstance(signatureAlgorithm(key));
                sig.initVerify(key);
                sig.update(signedText(keyAuthorization));
                if (sig.verify(java.util.Base64.getUrlDecoder().decode(parts[2]))) {
                    return true;
                }
            } catch (java.security.GeneralSecurityException | IllegalArgumentException | NullPointerException e) {
                // not a valid endorsement: refused below
            }
        }
        return false;
    }

    private static byte[] signedText(String keyAuthorization) {
        return ("autocert4j dry-run http-01\n" + keyAuthorization).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static String signatureAlgorithm(PublicKey key) {
        return "RSA".equals(key.getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
    }

    private void refresh() {
        for (StoreLayout layout : layouts) {
            String key = layout.accountKey();
            if (thumbprintByAccountKey.containsKey(key)) {
                followRollover(layout); // known: replaced only by a hand-over signed with the known key
                continue;
            }
            try {
                Optional<byte[]> pem = store.load(key);
                if (pem.isPresent()) {
                    PublicKey publicKey = Pem.decodeKeyPair(pem.get()).getPublic();
                    String thumbprint = thumbprint(publicKey);
                    if (thumbprintByAccountKey.putIfAbsent(key, thumbprint) == null) {
                        publicKeyByThumbprint.put(thumbprint, publicKey);
                    }
                }
            } catch (IOException | RuntimeException e) {
                LOG.debug("autocert4j: cannot read the account key {} to check a challenge answer: {}", key, LogSafe.text(e.toString()));
            }
        }
    }

    /** A key rollover another server did: adopted if its hand-over is signed with the known key and names the stored key. */
    private void followRollover(StoreLayout layout) {
        String known = thumbprintByAccountKey.get(layout.accountKey());
        PublicKey knownKey = known == null ? null : publicKeyByThumbprint.get(known);
        if (knownKey == null) {
            return;
        }
        try {
            Optional<byte[]> record = store.load(layout.accountKeyRolledOver());
            Optional<String> to = record.flatMap(r -> RolloverRecord.verify(r, knownKey, known));
            if (to.isEmpty()) {
                return;
            }
            Optional<byte[]> pem = store.load(layout.accountKey());
            PublicKey stored = pem.isEmpty() ? null : Pem.decodeKeyPair(pem.get()).getPublic();
            if (stored != null && thumbprint(stored).equals(to.get())) {
                accountKeyChanged(layout.accountKey(), stored);
                LOG.info("autocert4j: following the ACME account key rollover another server did ({})", layout.accountKey());
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("autocert4j: cannot read the account key rollover {}: {}", layout.accountKeyRolledOver(), LogSafe.text(e.toString()));
        }
    }

    private void refused(String where, String why) {
        int suppressed;
        synchronized (warnLock) {
            long now = System.nanoTime();
            if (lastWarnNanos != 0 && now - lastWarnNanos < WARN_EVERY_NANOS) {
                refusedSinceWarn++;
                return;
            }
            lastWarnNanos = now;
            suppressed = refusedSinceWarn;
            refusedSinceWarn = 0;
        }
        LOG.warn("autocert4j: not serving the challenge answer stored under {}: it {}; whoever wrote it can write the store. "
                + "Fix: check who has write access to the store and remove the entry{}", LogSafe.text(where), why,
                suppressed > 0 ? " (" + suppressed + " more refused in the last 60 s)" : "");
    }
}
