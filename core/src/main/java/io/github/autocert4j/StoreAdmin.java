package io.github.autocert4j;

import io.github.autocert4j.internal.acme.AcmeIssuer;
import io.github.autocert4j.internal.acme.CaTrust;
import io.github.autocert4j.internal.acme.Revocation;
import io.github.autocert4j.internal.acme.Csr;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.store.MemoryCertStore;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.RenewalRequests;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.tls.ChainVerifier;
import io.github.autocert4j.internal.tls.ImportCheck;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import javax.net.ssl.SSLContext;

/**
 * An operator's access to a {@link CertStore} without a running manager: what the CLI
 * ({@code autocert4j-cli}) is built on. Lists the stored certificates, asks the running servers to renew
 * one (a renewal request in the store, see below), exports, imports a certificate with its key and an
 * ACME account (moving off certbot without a new order), and revokes. It knows the store's layout so
 * that tools never do.
 *
 * <p>Renewal requests: {@link #requestRenewal} stores {@code renewals/<certificate>} naming the serial to
 * replace. Every running manager sharing the store notices it (at once on a store that can
 * {@link CertStore#watch watch}, such as PostgreSQL's {@code LISTEN}/{@code NOTIFY}; within 3 s on the file
 * store, which lists {@code renewals/}), and renews as {@code renewNow} would; the first to take the
 * certificate's store lock orders, the others adopt its certificate, so a fleet renews once. A request is
 * done when the stored serial differs from the one it names.
 *
 * <pre>{@code
 * StoreAdmin admin = StoreAdmin.of(FileCertStore.of(Path.of("/var/lib/myapp/certs")));
 * for (StoreAdmin.StoredCertificate c : admin.certificates()) {
 *     System.out.println(c.id() + " expires " + c.notAfter());
 * }
 * admin.requestRenewal("example.com", "ops@host");
 * }</pre>
 *
 * <p>Read-only methods never lock. Writes ({@link #importCertificate}, {@link #importAccount}) take the
 * same store locks the managers take, so they wait for an order in progress and never interleave with one.
 */
public final class StoreAdmin {
    private final CertStore store;
    private final CertificateStorage storage;

    private StoreAdmin(CertStore store) {
        this.store = store;
        this.storage = new CertificateStorage(store);
    }

    /** Operator access to {@code store}. */
    public static StoreAdmin of(CertStore store) {
        if (store == null) {
            throw new IllegalArgumentException("store is null. Fix: pass the CertStore the servers use");
        }
        return new StoreAdmin(store);
    }

    /**
     * The store's id of the ACME CA at {@code directory}: host, non-default port and path, e.g.
     * {@code acme-v02.api.letsencrypt.org-directory}; what {@link StoredCertificate#issuerId()} holds.
     */
    public static String caId(URI directory) {
        return StoreLayout.caId(directory);
    }

    /** The store. */
    public CertStore store() {
        return store;
    }

    /**
     * A stored certificate (never its private key; see {@link StoreAdmin#privateKeyPem}).
     *
     * @param id the certificate id (its first configured name), which names its place in the store
     * @param names the names it was ordered for (from its metadata, else the leaf's subjectAltNames)
     * @param serial the leaf's serial number
     * @param issuerDn the leaf's issuer distinguished name
     * @param issuerId the id of the CA that issued it ({@code host[-port]/path} of its directory), or null
     * @param profile the ACME profile it was ordered with, or null
     * @param notBefore start of validity
     * @param notAfter end of validity
     * @param storedAt when the server that obtained it stored it, or null
     * @param chain the chain, leaf first
     * @param renewalRequest the last renewal request for it, if any
     * @param ari the CA's ARI window for it and the fleet's pick in it, if a server stored one
     */
    public record StoredCertificate(String id, List<String> names, BigInteger serial, String issuerDn, String issuerId, String profile,
                                    Instant notBefore, Instant notAfter, Instant storedAt, List<X509Certificate> chain,
                                    Optional<RenewalRequest> renewalRequest, Optional<AriWindow> ari) {
        /** Copies the lists. */
        public StoredCertificate {
            names = List.copyOf(names);
            chain = List.copyOf(chain);
        }

        /** Whole days until {@code notAfter}, negative once expired. */
        public long daysLeft(Instant now) {
            return Math.floorDiv(Duration.between(now, notAfter).getSeconds(), 86_400L);
        }

        /** Whether a renewal was requested and the stored certificate is still the one it replaces. */
        public boolean renewalPending() {
            return renewalRequest.isPresent() && (renewalRequest.get().replaces() == null
                    || renewalRequest.get().replaces().equals(serial));
        }
    }

    /**
     * A renewal request found in the store.
     *
     * @param replaces serial of the certificate to replace, or null if none was stored
     * @param requestedAt when it was asked for (the requester's clock), or null
     * @param requestedBy who asked (free text)
     */
    public record RenewalRequest(BigInteger replaces, Instant requestedAt, String requestedBy) {
    }

    /**
     * The renewal window the CA suggested through ARI (RFC 9773) and the moment the fleet picked in
     * it, as the server that fetched it stored them with the certificate.
     *
     * @param start the window's start
     * @param end the window's end
     * @param chosen the fleet's one renewal moment in the window
     */
    public record AriWindow(Instant start, Instant end, Instant chosen) {
    }

    /** Every stored certificate, sorted by id. Unreadable entries are an IOException naming the key. */
    public List<StoredCertificate> certificates() throws IOException {
        List<StoredCertificate> out = new ArrayList<>();
        for (String key : store.list(StoreLayout.certsPrefix())) {
            String dir = StoreLayout.certDirOfBundle(key);
            if (dir != null && key.equals(StoreLayout.certBundle(dir))) {
                certificate(dir).ifPresent(out::add);
            }
        }
        out.sort(Comparator.comparing(StoredCertificate::id));
        return out;
    }

    /** The stored certificate with id (or store directory) {@code id}, or empty. */
    public Optional<StoredCertificate> certificate(String id) throws IOException {
        Optional<CertificateStorage.Stored> found;
        try {
            found = storage.load(id);
        } catch (IOException e) {
            throw new IOException("cannot read " + StoreLayout.certBundle(id) + " from " + store + ": " + e.getMessage()
                    + ". Fix: restore it from a backup or delete it (the servers then order a new one)", e);
        }
        if (found.isEmpty()) {
            return Optional.empty();
        }
        CertBundle b = found.get().bundle();
        Properties meta = new Properties();
        store.load(StoreLayout.certMeta(id)).ifPresent(bytes -> {
            try {
                meta.load(new StringReader(new String(bytes, StandardCharsets.UTF_8)));
            } catch (IOException | IllegalArgumentException ignored) {
                // damaged metadata: the names come from the certificate
            }
        });
        String namesProp = meta.getProperty("names", "").trim();
        List<String> names = namesProp.isEmpty() ? b.names() : Arrays.asList(namesProp.split(","));
        String certId = names.isEmpty() ? id : names.get(0);
        Optional<RenewalRequest> request = store.load(RenewalRequests.key(certId)).flatMap(RenewalRequests::decode)
                .map(r -> new RenewalRequest(r.replaces(), r.requestedAt(), r.requestedBy()));
        return Optional.of(new StoredCertificate(certId, names, b.serial(), b.leaf().getIssuerX500Principal().getName(),
                found.get().issuerId(), found.get().profile(), b.notBefore(), b.notAfter(), found.get().issuedAt(), b.chain(), request,
                Optional.ofNullable(found.get().ari()).map(a -> new AriWindow(a.start(), a.end(), a.chosen()))));
    }

    /**
     * The certificate's private key as PKCS#8 PEM. Only for an explicit operator request (export with keys):
     * callers must never log it.
     */
    public Optional<byte[]> privateKeyPem(String id) throws IOException {
        return storage.load(id).map(s -> Pem.encodeKeyPair(s.bundle().keyPair()));
    }

    /** The certificate's key pair, for an explicit export (PKCS#12) only. */
    public Optional<KeyPair> keyPair(String id) throws IOException {
        return storage.load(id).map(s -> s.bundle().keyPair());
    }

    /**
     * Asks every running manager sharing this store to renew {@code id} now (see the class comment). Writes
     * only the request; returns it. The certificate need not be stored yet (then any stored one satisfies it).
     */
    public RenewalRequest requestRenewal(String id, String requestedBy, Instant now) throws IOException {
        Optional<StoredCertificate> current = certificate(id);
        String certId = current.map(StoredCertificate::id).orElse(id);
        RenewalRequests.Request r = new RenewalRequests.Request(certId, current.map(StoredCertificate::serial).orElse(null), now,
                requestedBy);
        store.store(RenewalRequests.key(certId), RenewalRequests.encode(r));
        return new RenewalRequest(r.replaces(), r.requestedAt(), r.requestedBy());
    }

    /**
     * Checks a certificate to import: its key signs what its leaf's public key verifies, it is valid at
     * {@code now}, it covers {@code names} and its chain is signed in order. Returns the problems (empty: fine).
     */
    public static List<String> problems(List<String> names, PrivateKey key, List<X509Certificate> chain, Instant now) {
        return ImportCheck.problems(names, key, chain, now);
    }

    /**
     * Stores a certificate obtained elsewhere (certbot) as if a manager had obtained it: {@code names} (the
     * first is its id, as in {@code AutoCertBuilder.domains}), issued by the CA whose ACME directory is
     * {@code caDirectory} (so managers configured with that CA serve it and renew it on schedule instead of
     * replacing it). Checks it first ({@link #problems}); writes under the certificate's store lock.
     *
     * @throws IllegalArgumentException if the material is refused (nothing was written)
     */
    public void importCertificate(List<String> names, PrivateKey key, List<X509Certificate> chain, URI caDirectory, Instant now)
            throws IOException {
        List<String> problems = problems(names, key, chain, now);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        CertBundle bundle = new CertBundle(new KeyPair(chain.get(0).getPublicKey(), key), chain);
        try (CertStore.Lock lock = storage.lock(names.get(0))) {
            storage.save(names.get(0), bundle, names, null, caDirectory == null ? null : StoreLayout.caId(caDirectory), now, lock);
        }
    }

    /**
     * The ACME account stored for the CA at {@code caDirectory}: its key pair and location, or empty.
     */
    public Optional<Map.Entry<KeyPair, URI>> account(URI caDirectory) throws IOException {
        StoreLayout layout = new StoreLayout(caDirectory);
        Optional<byte[]> key = store.load(layout.accountKey());
        Optional<byte[]> location = store.load(layout.accountLocation());
        if (key.isEmpty() || location.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(Map.entry(Pem.decodeKeyPair(key.get()),
                URI.create(new String(location.get(), StandardCharsets.UTF_8).trim())));
    }

    /**
     * Stores an ACME account (key pair and location) for the CA at {@code caDirectory}, so the managers use it
     * instead of registering. Refuses (IllegalStateException, nothing written) if the store holds another
     * account for that CA; storing the same one again does nothing.
     */
    public void importAccount(URI caDirectory, KeyPair key, URI location) throws IOException {
        StoreLayout layout = new StoreLayout(caDirectory);
        try (CertStore.Lock lock = store.lock(layout.accountLock())) {
            Optional<Map.Entry<KeyPair, URI>> existing = account(caDirectory);
            if (existing.isPresent()) {
                if (Arrays.equals(existing.get().getKey().getPublic().getEncoded(), key.getPublic().getEncoded())
                        && existing.get().getValue().equals(location)) {
                    return;
                }
                throw new IllegalStateException("the store already has another ACME account for " + caDirectory + " ("
                        + existing.get().getValue() + "). Fix: import into a store without one, or leave out the account");
            }
            store.store(layout.accountKey(), Pem.encodeKeyPair(key), lock);
            store.store(layout.accountLocation(), (location.toString() + "\n").getBytes(StandardCharsets.UTF_8), lock);
        }
    }

    /** The store keys an import of {@code certId} and of an account at {@code caDirectory} writes (to snapshot before). */
    public static List<String> importKeys(String certId, URI caDirectory) {
        List<String> keys = new ArrayList<>(List.of(StoreLayout.certBundle(certId), StoreLayout.certMeta(certId)));
        if (caDirectory != null) {
            StoreLayout layout = new StoreLayout(caDirectory);
            keys.add(layout.accountKey());
            keys.add(layout.accountLocation());
        }
        return keys;
    }

    /**
     * The RFC 5280 revocation reasons {@link #revoke} accepts, by the names operators type
     * ({@code keyCompromise}, {@code key-compromise} and {@code KEY_COMPROMISE} are one).
     */
    public static List<String> revocationReasons() {
        return Revocation.reasonNames();
    }

    /**
     * Revokes the stored certificate {@code id} at {@code ca} with {@code reason} (one of {@link #revocationReasons}),
     * signed with the store's account for that CA, or else the certificate's key. The certificate stays in the
     * store: the managers replace it at their next check only if told to (renew it afterwards).
     *
     * @throws IllegalArgumentException for an unknown reason or certificate
     */
    public BigInteger revoke(String id, AcmeCa ca, String reason) throws IOException, IssuanceException {
        org.shredzone.acme4j.RevocationReason r = Revocation.reason(reason);
        CertificateStorage.Stored stored = storage.load(id).orElseThrow(() -> new IllegalArgumentException(
                "no certificate " + id + " in " + store + ". Fix: see the ids with 'certificates'"));
        Revocation.revoke(store, ca, stored.bundle(), r);
        return stored.bundle().serial();
    }

    /**
     * certbot's {@code renew --dry-run} from outside the servers: orders a test certificate for each of
     * {@code certificates} (lists of names) from {@code testCa} (Let's Encrypt staging, say) with a throw-away
     * account kept in memory, answering http-01 through the store: the key authorization is published under
     * {@code challenges/http-01/} where the running servers sharing this store find it (as they do for each
     * other), so the test CA reaches the servers' real port 80. Verifies and discards what comes back; writes
     * nothing else (the published challenges are removed). Waits at most {@code timeout} per certificate.
     */
    public DryRunResult dryRun(AcmeCa testCa, List<List<String>> certificates, Duration timeout) throws InterruptedException {
        List<String> caProblems = testCa.problems("dryRun(" + testCa.directory() + ")");
        if (!caProblems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", caProblems));
        }
        SSLContext trust = null;
        if (testCa.serverTrust() != null) {
            try {
                trust = CaTrust.from(testCa.serverTrust());
            } catch (IOException | GeneralSecurityException e) {
                throw new IllegalArgumentException("cannot use the trust file " + testCa.serverTrust() + " (" + e.getMessage()
                        + "). Fix: pass a readable PEM file with the test CA's certificate(s)", e);
            }
        }
        // The test account is not the fleet's: the servers answer its key authorization only endorsed (signed)
        // with the fleet's account keys, which this tool reads from the store (issue 20: planted answers are not served).
        List<KeyPair> fleetAccounts = new ArrayList<>();
        try {
            for (String key : store.list("acme/")) {
                if (key.endsWith("/account/account.key.pem")) {
                    Optional<byte[]> pem = store.load(key);
                    if (pem.isPresent()) {
                        fleetAccounts.add(Pem.decodeKeyPair(pem.get()));
                    }
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("dryRun: cannot read the fleet's ACME account keys from " + store + " to endorse "
                    + "the test challenges: " + LogSafe.text(e.getMessage()) + ". Fix: check the store (and its KEK if encrypted)", e);
        }
        Http01Responder published = new Http01Responder(store, null, null, keyAuthorization -> {
            StringBuilder value = new StringBuilder(keyAuthorization);
            for (KeyPair account : fleetAccounts) {
                try {
                    value.append('\n').append(io.github.autocert4j.internal.cluster.OwnAccounts.endorsement(keyAuthorization, account));
                } catch (GeneralSecurityException e) {
                    throw new IllegalStateException("dryRun: cannot sign with an account key of the store: " + e.getMessage(), e);
                }
            }
            return value.toString();
        });
        AcmeIssuer issuer = new AcmeIssuer(testCa, trust, new MemoryCertStore(), null, Duration.ofSeconds(30), List.of(published),
                List.of("http-01"));
        List<DryRunResult.Outcome> outcomes = new ArrayList<>();
        try {
            for (List<String> names : certificates) {
                long t0 = System.nanoTime();
                BigInteger serial = null;
                IssuanceException failure = null;
                try {
                    KeyPair key = KeyType.EC_P256.generate();
                    Issuer.Result issued = issuer.issue(new Issuer.Request(names, key.getPublic(), Csr.create(names, key), null, false, null,
                            timeout));
                    CertBundle bundle = new CertBundle(key, issued.chain());
                    try {
                        ChainVerifier.verify(bundle, names, Instant.now());
                    } catch (ChainVerifier.VerificationException e) {
                        throw IssuanceException.transientFailure("the test certificate from " + issuer.id() + " failed verification: "
                                + e.getMessage(), null);
                    }
                    serial = bundle.serial();
                } catch (IssuanceException e) {
                    failure = e;
                } catch (RuntimeException e) {
                    failure = IssuanceException.transientFailure("the dry run failed unexpectedly: " + LogSafe.text(e.toString()), e);
                }
                outcomes.add(new DryRunResult.Outcome(names, serial, failure, Duration.ofNanos(System.nanoTime() - t0)));
            }
        } finally {
            published.close();
        }
        return new DryRunResult(testCa.directory(), outcomes);
    }
}
