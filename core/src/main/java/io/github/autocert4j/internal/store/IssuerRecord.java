package io.github.autocert4j.internal.store;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.KeyFactory;
import java.security.Provider;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

import javax.security.auth.x500.X500Principal;

import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The issuer certificates the CAs presented at issuance, recorded with the account, and the check
 * that a stored certificate links to one of them before it is served (issue 20: whoever can write a
 * certificate entry must not decide what the fleet serves).
 *
 * <p>Store keys, next to each issuer's account ({@code <id>} is the issuer id, {@code imported} for a
 * certificate imported without a CA):
 * <pre>
 * acme/&lt;id&gt;/account/issuers/&lt;sha256 of the DER&gt;.crt   an issuer certificate of a chain stored by this library
 * acme/&lt;id&gt;/account/issuers/leaf-&lt;cert&gt;.crt            the leaf itself, for an issuer that returns no chain beyond it (pinned)
 * acme/issuers-migration.properties                     trustOnFirstUseUntil: the end of the migration window
 * </pre>
 * Entries are content-addressed, so writing one needs no lock and concurrent issuances never lose
 * each other's entry.
 *
 * <p>The check ({@link #problem}): every certificate after the leaf is a recorded one, and the leaf is
 * signed by a recorded issuer (one signature check with the issuer's public key, held in memory) or is
 * itself pinned. An unknown issuer makes it re-read the record once (a peer may have recorded a new
 * intermediate), then fails.
 *
 * <p>Migration (a store written before the record existed): the first time a stored certificate is
 * checked against an empty record, a window of {@link #TRUST_ON_FIRST_USE} opens (its end is stored,
 * so the whole fleet shares it); within it, a stored chain whose signatures link and whose issuers are
 * CA certificates has its issuers recorded (trust on first use, under {@code acme/migrated/account/issuers/}). After it, or on a store whose record
 * was never empty when first checked (a new store), nothing is trusted that was not recorded at issuance.
 */
public final class IssuerRecord {
    private static final Logger LOG = LoggerFactory.getLogger(IssuerRecord.class);
    /** How long a store without a record trusts the issuers of the chains it holds (shared by the fleet). */
    public static final Duration TRUST_ON_FIRST_USE = Duration.ofHours(1);
    /** The key of the migration window's end. */
    public static final String MIGRATION_KEY = "acme/issuers-migration.properties";
    private static final String ACCOUNTS = "acme/";
    private static final String RECORD_DIR = "/account/issuers/";

    /**
     * A recorded issuer: its certificate and public key. An EC key is checked with BouncyCastle, which
     * verifies ECDSA 6 to 10 times faster than the JDK 17 provider (measured: P-256 about 0.1 ms against
     * 1 ms, P-384 0.33 ms against 2.2 ms per leaf; RSA is as fast in both, so the JDK's stays). The
     * BouncyCastle key is made at the first check, not when recorded: recording is on the way to a first
     * certificate, where BouncyCastle must not load (docs/startup.md, ColdPathTest).
     */
    private final class Known {
        final X509Certificate cert;
        final PublicKey key;
        private volatile PublicKey bcKey;

        Known(X509Certificate cert) {
            this.cert = cert;
            this.key = cert.getPublicKey();
        }

        void verify(X509Certificate leaf) throws GeneralSecurityException {
            if (!"EC".equals(key.getAlgorithm())) {
                leaf.verify(key);
                return;
            }
            Provider p = bouncyCastle();
            PublicKey k = bcKey;
            if (k == null) {
                try {
                    k = KeyFactory.getInstance("EC", p).generatePublic(new X509EncodedKeySpec(key.getEncoded()));
                } catch (GeneralSecurityException | RuntimeException e) {
                    leaf.verify(key); // the JDK's check, slower
                    return;
                }
                bcKey = k;
            }
            leaf.verify(k, p);
        }
    }

    /** @param generation counts the reads of the whole record from the store */
    private record Snapshot(Map<X500Principal, List<Known>> bySubject, Set<X509Certificate> all, long generation) {
    }

    private final CertStore store;
    /** BouncyCastle for ECDSA checks, made at the first check against an EC issuer (about 0.1 s). */
    private volatile Provider bc;
    private volatile Snapshot snapshot;
    /** The migration window's end once read (Instant.MIN: closed for good), or null if not read yet. */
    private volatile Instant tofuUntil;
    private final Object refreshLock = new Object();
    /** A failed read of the record is every check's answer for 0.5 s; guarded by refreshLock. */
    private final FailedReadMemo failedRead = new FailedReadMemo("the recorded issuers", Duration.ofMillis(500));

    public IssuerRecord(CertStore store) {
        this.store = store;
    }

    /** The record directory of {@code issuerId} (null: a certificate imported without a CA). */
    public static String prefix(String issuerId) {
        return ACCOUNTS + StoreLayout.sanitize(issuerId == null ? "imported" : issuerId) + RECORD_DIR;
    }

    /**
     * Records the issuers of {@code chain} (leaf first) as presented by {@code issuerId}: every
     * certificate after the leaf, or the leaf itself if there is none. Writes only what is not
     * recorded yet. Called before the chain itself is stored.
     */
    public void record(String certId, String issuerId, List<X509Certificate> chain) throws IOException {
        // Not answered from the memo of a failed read: a certificate just issued is saved if the store answers now.
        Snapshot s = snapshot != null ? snapshot : refresh(-1, false);
        List<X509Certificate> issuers = chain.size() == 1 ? chain : chain.subList(1, chain.size());
        List<X509Certificate> added = new ArrayList<>();
        for (X509Certificate c : issuers) {
            if (!s.all().contains(c)) {
                write(prefix(issuerId) + (chain.size() == 1 ? "leaf-" + StoreLayout.sanitize(certId) : sha256(c)) + ".crt", c);
                added.add(c);
            }
        }
        if (!added.isEmpty()) {
            synchronized (refreshLock) {
                snapshot = with(snapshot, added);
            }
        }
    }

    /** {@code s} plus {@code certs} (written by this process), in the same generation. Holds refreshLock. */
    private Snapshot with(Snapshot s, List<X509Certificate> certs) {
        Map<X500Principal, List<Known>> bySubject = new HashMap<>(s.bySubject());
        bySubject.replaceAll((k, v) -> new ArrayList<>(v));
        Set<X509Certificate> all = new HashSet<>(s.all());
        for (X509Certificate c : certs) {
            add(bySubject, all, c);
        }
        return new Snapshot(bySubject, all, s.generation()); // the same read of the store, plus what this process wrote
    }

    /**
     * Why {@code chain} (leaf first, as stored) must not be served, or null if it links to a recorded
     * issuer. Costs one signature check when the issuer is known (none for a pinned leaf). A record
     * the store could not read is a problem too; {@link #verdict} tells it apart.
     */
    public String problem(List<X509Certificate> chain, Instant now) {
        try {
            return verdict(chain, now);
        } catch (IssuersUnreadable e) {
            return e.getMessage();
        }
    }

    /**
     * Like {@link #problem}, but a record the store could not read (down, a read that timed out) is
     * {@link IssuersUnreadable}, not a problem of the chain: nothing is known about the chain then.
     */
    public String verdict(List<X509Certificate> chain, Instant now) throws IssuersUnreadable {
        if (chain.isEmpty()) {
            return "no certificate";
        }
        Snapshot s;
        try {
            s = loaded();
        } catch (IOException | RuntimeException e) {
            throw new IssuersUnreadable("the recorded issuers cannot be read (" + LogSafe.text(e.toString()) + ")", e);
        }
        String problem = check(chain, s);
        if (problem == null) {
            return null;
        }
        try {
            s = refresh(s.generation(), true);
            problem = check(chain, s);
            if (problem == null || !trustOnFirstUse(chain, s, now)) {
                return problem;
            }
            return null;
        } catch (IOException | RuntimeException e) {
            throw new IssuersUnreadable(problem + " (the record could not be re-read: " + LogSafe.text(e.toString()) + ")", e);
        }
    }

    private static String check(List<X509Certificate> chain, Snapshot s) {
        X509Certificate leaf = chain.get(0);
        for (int i = 1; i < chain.size(); i++) {
            if (!s.all().contains(chain.get(i))) {
                return "chain not signed by a recorded issuer: certificate " + i + " of the chain (" + chain.get(i).getSubjectX500Principal().getName()
                        + ") is not one the CA presented at issuance";
            }
        }
        if (s.all().contains(leaf)) {
            return null; // pinned: recorded as issued (an issuer that returns no chain)
        }
        X500Principal issuer = leaf.getIssuerX500Principal();
        for (Known k : s.bySubject().getOrDefault(issuer, List.of())) {
            try {
                k.verify(leaf);
                return null;
            } catch (GeneralSecurityException | RuntimeException e) {
                // another recorded issuer with the same name (a re-keyed intermediate): try the next
            }
        }
        return "chain not signed by a recorded issuer: " + leaf.getSubjectX500Principal().getName() + " (serial "
                + leaf.getSerialNumber().toString(16) + ") names issuer " + issuer.getName() + ", which did not sign it or was never presented by a CA";
    }

    private Snapshot loaded() throws IOException {
        Snapshot s = snapshot;
        return s != null ? s : refresh(-1, true);
    }

    /** Reads the record now if it was not read yet (a start-up load, before its reads); a failure is the checks' to report. */
    public void preload() {
        try {
            loaded();
        } catch (IOException | RuntimeException e) {
            LOG.debug("autocert4j: reading the recorded issuers failed: {}", LogSafe.text(e.toString()));
        }
    }

    /** Re-reads the record unless another thread did since {@code seen}, or (with {@code memo}) it failed just now ({@link FailedReadMemo}). */
    private Snapshot refresh(long seen, boolean memo) throws IOException {
        synchronized (refreshLock) {
            Snapshot s = snapshot;
            if (s != null && s.generation() != seen) {
                return s;
            }
            if (memo) {
                failedRead.rethrowRecent();
            }
            Map<X500Principal, List<Known>> bySubject = new HashMap<>();
            Set<X509Certificate> all = new HashSet<>();
            try {
                for (String key : store.list(ACCOUNTS)) {
                    if (!key.contains(RECORD_DIR) || !key.endsWith(".crt")) {
                        continue;
                    }
                    Optional<byte[]> bytes = store.load(key);
                    if (bytes.isEmpty()) {
                        continue;
                    }
                    try {
                        for (X509Certificate c : Pem.decodeCertificates(bytes.get())) {
                            add(bySubject, all, c);
                        }
                    } catch (IOException | RuntimeException e) {
                        LOG.warn("autocert4j: ignoring the unreadable recorded issuer {} ({})", LogSafe.text(key), LogSafe.text(e.toString()));
                    }
                }
            } catch (IOException | RuntimeException e) {
                failedRead.failed(e);
                throw e;
            }
            failedRead.succeeded();
            s = new Snapshot(bySubject, all, s == null ? 0 : s.generation() + 1);
            snapshot = s;
            return s;
        }
    }

    /** Holds refreshLock. */
    private void add(Map<X500Principal, List<Known>> bySubject, Set<X509Certificate> all, X509Certificate c) {
        if (all.add(c)) {
            bySubject.computeIfAbsent(c.getSubjectX500Principal(), k -> new ArrayList<>(1)).add(known(c));
        }
    }

    private Known known(X509Certificate c) {
        return new Known(c);
    }

    /**
     * Kept apart so that verifying IssuerRecord's bytecode does not load BouncyCastle's classes (the
     * verifier loads a type to check it is a Provider where it is assigned to one).
     */
    private static final class BouncyCastle {
        static Provider provider() {
            return new BouncyCastleProvider();
        }
    }

    private Provider bouncyCastle() {
        Provider p = bc;
        if (p == null) {
            synchronized (this) {
                p = bc;
                if (p == null) {
                    p = BouncyCastle.provider();
                    bc = p;
                }
            }
        }
        return p;
    }

    /** Records the issuers of a stored chain while the migration window is open; returns whether it did. */
    private boolean trustOnFirstUse(List<X509Certificate> chain, Snapshot s, Instant now) throws IOException {
        synchronized (refreshLock) {
            if (chain.size() < 2) {
                return false; // no issuer to trust: a self-signed or chain-less bundle is never trusted on first use
            }
            if (check(chain, snapshot) == null) {
                return true; // another thread (a parallel start-up load) recorded these issuers meanwhile
            }
            for (int i = 0; i + 1 < chain.size(); i++) {
                X509Certificate parent = chain.get(i + 1);
                if (!chain.get(i).getIssuerX500Principal().equals(parent.getSubjectX500Principal()) || parent.getBasicConstraints() < 0) {
                    return false;
                }
                try {
                    chain.get(i).verify(parent.getPublicKey());
                } catch (GeneralSecurityException | RuntimeException e) {
                    return false;
                }
            }
            if (!tofuOpen(s, now)) {
                return false;
            }
            List<X509Certificate> added = new ArrayList<>();
            for (X509Certificate c : chain.subList(1, chain.size())) {
                if (!snapshot.all().contains(c) && !added.contains(c)) {
                    write(prefix("migrated") + sha256(c) + ".crt", c);
                    LOG.warn("autocert4j: trusting issuer {} on first use (it issued a certificate stored before issuers were recorded; "
                            + "the migration window ends at {})", c.getSubjectX500Principal().getName(), tofuUntil);
                    added.add(c);
                }
            }
            snapshot = with(snapshot, added);
            return true;
        }
    }

    /** Whether the migration window is open; opens it if the record is empty and it was never opened. Holds refreshLock. */
    private boolean tofuOpen(Snapshot s, Instant now) throws IOException {
        if (tofuUntil == null) {
            Optional<byte[]> marker = store.load(MIGRATION_KEY);
            if (marker.isPresent()) {
                Properties p = new Properties();
                p.load(new StringReader(new String(marker.get(), StandardCharsets.UTF_8)));
                try {
                    tofuUntil = Instant.parse(p.getProperty("trustOnFirstUseUntil", "").trim());
                } catch (java.time.format.DateTimeParseException e) {
                    tofuUntil = Instant.MIN;
                }
            } else if (s.all().isEmpty()) {
                Instant until = now.plus(TRUST_ON_FIRST_USE);
                Properties p = new Properties();
                p.setProperty("trustOnFirstUseUntil", until.toString());
                StringWriter out = new StringWriter();
                p.store(out, "autocert4j: until then, issuers of certificates stored before issuers were recorded are trusted on first use");
                store.store(MIGRATION_KEY, out.toString().getBytes(StandardCharsets.UTF_8));
                tofuUntil = until;
                LOG.warn("autocert4j: the store {} has no recorded issuers (written by an older version); until {} the issuers of the "
                        + "certificates it holds are trusted on first use and recorded", store, until);
            } else {
                tofuUntil = Instant.MIN; // a store whose record existed from the start: never
            }
        }
        return now.isBefore(tofuUntil);
    }

    private void write(String key, X509Certificate c) throws IOException {
        store.store(key, Pem.encodeCertificates(List.of(c)));
    }

    private static String sha256(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }
}
