package io.github.autocert4j.internal.store;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Base64;
import java.util.Optional;
import java.util.Properties;

/**
 * {@link StoreLayout#accountKeyRolledOver()}: the hand-over of an account key rollover, {@code from} (the old key's
 * JWK thumbprint) {@code to} (the new key's), signed with the old key. Servers sharing the store that know the old
 * key accept the new one from it at once (to serve the rolling server's challenge answers); only a holder of the old
 * private key can write one they accept.
 */
public final class RolloverRecord {
    private RolloverRecord() {
    }

    /** The record handing {@code from} over to {@code to}, signed with {@code oldKey}. */
    public static byte[] encode(KeyPair oldKey, String from, String to) throws GeneralSecurityException {
        Signature sig = Signature.getInstance(algorithm(oldKey.getPublic()));
        sig.initSign(oldKey.getPrivate());
        sig.update(signed(from, to));
        Properties p = new Properties();
        p.setProperty("from", from);
        p.setProperty("to", to);
        p.setProperty("signature", Base64.getUrlEncoder().withoutPadding().encodeToString(sig.sign()));
        StringWriter out = new StringWriter();
        try {
            p.store(out, "autocert4j account key rollover");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The thumbprint {@code record} hands {@code from} over to, if {@code oldKey} signed it; else empty. */
    public static Optional<String> verify(byte[] record, PublicKey oldKey, String from) {
        try {
            Properties p = new Properties();
            p.load(new StringReader(new String(record, StandardCharsets.UTF_8)));
            String to = p.getProperty("to", "");
            if (!from.equals(p.getProperty("from")) || to.isEmpty()) {
                return Optional.empty();
            }
            Signature sig = Signature.getInstance(algorithm(oldKey));
            sig.initVerify(oldKey);
            sig.update(signed(from, to));
            return sig.verify(Base64.getUrlDecoder().decode(p.getProperty("signature", ""))) ? Optional.of(to) : Optional.empty();
        } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static byte[] signed(String from, String to) {
        return ("autocert4j account key rollover\n" + from + "\n" + to).getBytes(StandardCharsets.US_ASCII);
    }

    private static String algorithm(PublicKey key) {
        return "RSA".equals(key.getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
    }
}
