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
        Optional<byte[]> pem = store.load(StoreLayout.certBundle(certId));
        if (pem.isEmpty()) {
            return Optional.empty();
        }
        CertBundle bundle = Pem.decodeBundle(pem.get());
        Properties meta = meta(certId);
        // issuedAt only when the metadata is this bundle's (written just after it, under the same lock)
        String metaSerial = blankToNull(meta.getProperty("serial"));
        Instant issuedAt = metaSerial == null || metaSerial.equalsIgnoreCase(bundle.serial().toString(16))
                ? instantOrNull(meta.getProperty("issuedAt")) : null;
        return Optional.of(new Stored(bundle, blankToNull(meta.getProperty("profile")), blankToNull(meta.getProperty("issuer")), issuedAt));
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

    private Properties meta(String certId) throws IOException {
        Properties p = new Properties();
        Optional<byte[]> bytes = store.load(StoreLayout.certMeta(certId));
        if (bytes.isPresent()) {
            try {
                p.load(new StringReader(new String(bytes.get(), StandardCharsets.UTF_8)));
            } catch (IllegalArgumentException e) {
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
