package io.github.autocert4j.internal.store;

import io.github.autocert4j.CertStore;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * Owns the stored-certificate format: one PEM file per certificate holding the private key and
 * the chain (so a crash can never pair a key with the wrong certificate), and a small properties
 * file beside it with what the PEM cannot say (which issuer, which profile, for which names, and
 * the CA's ARI window with the renewal moment picked in it, shared by the servers on the store).
 *
 * <p>Before a chain is stored, its issuers are recorded ({@link IssuerRecord}), so that it can be
 * checked against them whenever it is loaded.
 *
 * <p>Writes go through {@link CertStore#store(String, byte[], CertStore.Lock)}: only the holder
 * of the certificate's store lock can replace it.
 */
public final class CertificateStorage {

    /**
     * A certificate as found in the store.
     *
     * @param issuedAt when the server that obtained it stored it (its clock), or null if unknown
     */
    public record Stored(CertBundle bundle, String profile, String issuerId, Instant issuedAt, Ari ari) {
        public Stored(CertBundle bundle, String profile, String issuerId, Instant issuedAt) {
            this(bundle, profile, issuerId, issuedAt, null);
        }
    }

    /**
     * The CA's ARI window (RFC 9773) for one stored certificate, shared by every server on the store:
     * the first to fetch it picks the renewal moment and writes both here, the others use that pick
     * and do not fetch again before {@code nextFetch} (the CA's Retry-After, clamped), so the fleet
     * makes one pick and one fetch per window.
     *
     * @param serial the certificate (hex serial) this window is about; a record of another serial is ignored
     * @param explanationUrl the CA's explanation, or null
     */
    public record Ari(String serial, Instant start, Instant end, Instant chosen, Instant nextFetch, String explanationUrl) {
    }

    private final CertStore store;
    private final IssuerRecord issuers;

    public CertificateStorage(CertStore store) {
        this.store = store;
        this.issuers = new IssuerRecord(store);
    }

    /** The issuers recorded at issuance, which a stored certificate must link to before it is served. */
    public IssuerRecord issuers() {
        return issuers;
    }

    public CertStore store() {
        return store;
    }

    /** The stored certificate of {@code certId}, or empty if there is none. Malformed content is an IOException. */
    public Optional<Stored> load(String certId) throws IOException {
        return read(certId).decode();
    }

    /**
     * A certificate's stored bytes, read but not yet decoded: a start-up load reads with many
     * threads (the reads wait on the disk) and decodes with as many as there are cores (decoding
     * only computes, and the JDK's certificate parser serializes on one global lock).
     */
    public static final class Read {
        private final byte[] pem;
        private final byte[] meta;
        private final Exception failure; // an IOException or RuntimeException of the store, thrown by decode()

        private Read(byte[] pem, byte[] meta, Exception failure) {
            this.pem = pem;
            this.meta = meta;
            this.failure = failure;
        }

        /** Whether the store could not be reached (down, not "nothing stored" and not malformed content). */
        public boolean unavailable() {
            return failure instanceof CertStore.UnavailableException;
        }

        /**
         * The store's own failure to answer (unavailable, a read that timed out, a broken file), or
         * null: it answered (with bytes, malformed or not, or with "nothing stored"). Such a read
         * says nothing about what is stored.
         */
        public Exception storeFailure() {
            return failure;
        }

        /** A read not attempted because the store failed just before ({@code why}): like a read that failed with it. */
        public static Read notAttempted(Exception why) {
            return new Read(null, null, why);
        }

        /** The stored certificate, or empty if there is none; a failed read or malformed content is an IOException. */
        public Optional<Stored> decode() throws IOException {
            if (failure instanceof IOException e) {
                throw e;
            }
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (pem == null) {
                return Optional.empty();
            }
            CertBundle bundle = Pem.decodeBundle(pem);
            Properties meta = parseMeta(this.meta);
            // issuedAt only when the metadata is this bundle's (written just after it, under the same lock)
            String metaSerial = blankToNull(meta.getProperty("serial"));
            Instant issuedAt = metaSerial == null || metaSerial.equalsIgnoreCase(bundle.serial().toString(16))
                    ? instantOrNull(meta.getProperty("issuedAt")) : null;
            Ari ari = metaSerial == null ? null : ariOf(meta, bundle.serial());
            return Optional.of(new Stored(bundle, blankToNull(meta.getProperty("profile")), blankToNull(meta.getProperty("issuer")), issuedAt, ari));
        }
    }

    /** Reads what {@link Read#decode()} needs; never throws: a failed read is reported by {@code decode()}. */
    public Read read(String certId) {
        try {
            Optional<byte[]> pem = store.load(StoreLayout.certBundle(certId));
            if (pem.isEmpty()) {
                return new Read(null, null, null);
            }
            return new Read(pem.get(), store.load(StoreLayout.certMeta(certId)).orElse(null), null);
        } catch (IOException | RuntimeException e) {
            return new Read(null, null, e);
        }
    }

    /** Takes the store lock that every write of {@code certId} happens under. */
    public CertStore.Lock lock(String certId) throws IOException {
        return store.lock(StoreLayout.certLock(certId));
    }

    /** Stores the bundle and its metadata, only while {@code held} is still held. */
    public void save(String certId, CertBundle bundle, List<String> names, String profile, String issuerId, Instant issuedAt,
              CertStore.Lock held) throws IOException {
        issuers.record(certId, issuerId, bundle.chain()); // first: a stored chain always finds its issuers recorded
        store.store(StoreLayout.certBundle(certId), Pem.encodeBundle(bundle.keyPair(), bundle.chain()), held);
        Properties meta = new Properties();
        meta.setProperty("names", String.join(",", names));
        if (profile != null) {
            meta.setProperty("profile", profile);
        }
        if (issuerId != null) {
            meta.setProperty("issuer", issuerId);
        }
        meta.setProperty("issuedAt", issuedAt.toString());
        meta.setProperty("serial", bundle.serial().toString(16));
        StringWriter out = new StringWriter();
        meta.store(out, "autocert4j certificate metadata");
        store.store(StoreLayout.certMeta(certId), out.toString().getBytes(StandardCharsets.UTF_8), held);
    }

    /**
     * The shared ARI record of the certificate with {@code serial}, if the stored metadata is that
     * certificate's and carries one. Reads only the small metadata file.
     */
    public Optional<Ari> loadAri(String certId, java.math.BigInteger serial) throws IOException {
        Optional<byte[]> bytes = store.load(StoreLayout.certMeta(certId));
        return bytes.map(b -> ariOf(parseMeta(b), serial));
    }

    /**
     * Writes {@code ari} into the metadata of {@code certId}, keeping everything else, only while
     * {@code held} is held and only if the stored metadata is still that of {@code ari.serial()}
     * (a peer may have stored a renewal meanwhile). Returns whether it wrote.
     */
    public boolean saveAri(String certId, Ari ari, CertStore.Lock held) throws IOException {
        Optional<byte[]> bytes = store.load(StoreLayout.certMeta(certId));
        if (bytes.isEmpty()) {
            return false;
        }
        Properties meta = parseMeta(bytes.get());
        if (!ari.serial().equalsIgnoreCase(String.valueOf(blankToNull(meta.getProperty("serial"))))) {
            return false;
        }
        meta.setProperty("ari.serial", ari.serial());
        meta.setProperty("ari.windowStart", ari.start().toString());
        meta.setProperty("ari.windowEnd", ari.end().toString());
        meta.setProperty("ari.chosen", ari.chosen().toString());
        meta.setProperty("ari.nextFetch", ari.nextFetch().toString());
        if (ari.explanationUrl() != null) {
            meta.setProperty("ari.explanation", ari.explanationUrl());
        } else {
            meta.remove("ari.explanation");
        }
        StringWriter out = new StringWriter();
        meta.store(out, "autocert4j certificate metadata");
        store.store(StoreLayout.certMeta(certId), out.toString().getBytes(StandardCharsets.UTF_8), held);
        return true;
    }

    private static Ari ariOf(Properties meta, java.math.BigInteger serial) {
        String s = blankToNull(meta.getProperty("ari.serial"));
        if (s == null || !s.equalsIgnoreCase(serial.toString(16))
                || !s.equalsIgnoreCase(String.valueOf(blankToNull(meta.getProperty("serial"))))) {
            return null;
        }
        Instant start = instantOrNull(meta.getProperty("ari.windowStart"));
        Instant end = instantOrNull(meta.getProperty("ari.windowEnd"));
        Instant chosen = instantOrNull(meta.getProperty("ari.chosen"));
        Instant nextFetch = instantOrNull(meta.getProperty("ari.nextFetch"));
        if (start == null || end == null || chosen == null || nextFetch == null || end.isBefore(start)) {
            return null;
        }
        return new Ari(s, start, end, chosen, nextFetch, blankToNull(meta.getProperty("ari.explanation")));
    }

    private static Properties parseMeta(byte[] bytes) {
        Properties p = new Properties();
        if (bytes != null) {
            try {
                p.load(new StringReader(new String(bytes, StandardCharsets.UTF_8)));
            } catch (IOException | IllegalArgumentException e) {
                // A damaged metadata file only loses the profile and issuer: the PEM decides usability.
                return new Properties();
            }
        }
        return p;
    }

    private static Instant instantOrNull(String s) {
        try {
            return s == null || s.isBlank() ? null : Instant.parse(s.trim());
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
