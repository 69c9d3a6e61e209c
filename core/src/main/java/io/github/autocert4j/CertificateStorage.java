package io.github.autocert4j;

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
 * file beside it with what the PEM cannot say (which issuer, which profile, for which names).
 *
 * <p>Writes go through {@link CertStore#store(String, byte[], CertStore.Lock)}: only the holder
 * of the certificate's store lock can replace it.
 */
final class CertificateStorage {

    /**
     * A certificate as found in the store.
     *
     * @param issuedAt when the server that obtained it stored it (its clock), or null if unknown
     */
    record Stored(CertBundle bundle, String profile, String issuerId, Instant issuedAt) {
    }

    private final CertStore store;

    CertificateStorage(CertStore store) {
        this.store = store;
    }

    CertStore store() {
        return store;
    }

    /** The stored certificate of {@code certId}, or empty if there is none. Malformed content is an IOException. */
    Optional<Stored> load(String certId) throws IOException {
        return read(certId).decode();
    }

    /**
     * A certificate's stored bytes, read but not yet decoded: a start-up load reads with many
     * threads (the reads wait on the disk) and decodes with as many as there are cores (decoding
     * only computes, and the JDK's certificate parser serializes on one global lock).
     */
    static final class Read {
        private final byte[] pem;
        private final byte[] meta;
        private final Exception failure; // an IOException or RuntimeException of the store, thrown by decode()

        private Read(byte[] pem, byte[] meta, Exception failure) {
            this.pem = pem;
            this.meta = meta;
            this.failure = failure;
        }

        /** Whether the store could not be reached (down, not "nothing stored" and not malformed content). */
        boolean unavailable() {
            return failure instanceof CertStore.UnavailableException;
        }

        /** The stored certificate, or empty if there is none; a failed read or malformed content is an IOException. */
        Optional<Stored> decode() throws IOException {
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
            return Optional.of(new Stored(bundle, blankToNull(meta.getProperty("profile")), blankToNull(meta.getProperty("issuer")), issuedAt));
        }
    }

    /** Reads what {@link Read#decode()} needs; never throws: a failed read is reported by {@code decode()}. */
    Read read(String certId) {
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
    CertStore.Lock lock(String certId) throws IOException {
        return store.lock(StoreLayout.certLock(certId));
    }

    /** Stores the bundle and its metadata, only while {@code held} is still held. */
    void save(String certId, CertBundle bundle, List<String> names, String profile, String issuerId, Instant issuedAt,
              CertStore.Lock held) throws IOException {
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
