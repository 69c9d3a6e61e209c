package io.github.autocert4j.internal.crypto;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import io.github.autocert4j.KeyEncryptionKey;

/**
 * Internal: replaces each PEM private-key block of a stored value by an envelope block and back.
 *
 * <p>An envelope block: {@code -----BEGIN AUTOCERT4J ENCRYPTED KEY-----}, a header line {@code Kek-Id: <id>},
 * an empty line, base64 of (version 1, 2-byte length and wrapped data key, 12-byte IV, AES-256-GCM
 * ciphertext and tag of the original block), {@code -----END AUTOCERT4J ENCRYPTED KEY-----}. The data key is
 * random per block; the additional data binds the ciphertext to the store key and the KEK id, so a
 * block copied under another key does not open. Everything outside private-key blocks (certificate
 * chains) stays as it was.
 */
public final class PemEnvelope {
    static final String BEGIN = "-----BEGIN AUTOCERT4J ENCRYPTED KEY-----";
    static final String END = "-----END AUTOCERT4J ENCRYPTED KEY-----";
    private static final Pattern PRIVATE_BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?-----END \\1-----(\\r?\\n)?", Pattern.DOTALL);
    private static final Pattern ENVELOPE = Pattern.compile(
            Pattern.quote(BEGIN) + "\\r?\\nKek-Id: ([A-Za-z0-9:._-]{1,100})\\r?\\n\\r?\\n([A-Za-z0-9+/=\\r\\n]*?)" + Pattern.quote(END) + "(\\r?\\n)?");
    private static final SecureRandom RANDOM = new SecureRandom();

    private PemEnvelope() {
    }

    /** Whether {@code value} holds a plaintext PEM private key. */
    public static boolean hasPlainKey(byte[] value) {
        return PRIVATE_BLOCK.matcher(text(value)).find();
    }

    /** The KEK ids of the envelope blocks in {@code value}, in order (empty: none). */
    public static List<String> kekIds(byte[] value) {
        Matcher m = ENVELOPE.matcher(text(value));
        java.util.ArrayList<String> ids = new java.util.ArrayList<>();
        while (m.find()) {
            ids.add(m.group(1));
        }
        return ids;
    }

    /** {@code value} with every plaintext private-key block encrypted under {@code kek}. */
    public static byte[] seal(String storeKey, byte[] value, KeyEncryptionKey kek) throws GeneralSecurityException {
        String text = text(value);
        Matcher m = PRIVATE_BLOCK.matcher(text);
        StringBuilder out = new StringBuilder(text.length() + 256);
        int at = 0;
        while (m.find()) {
            out.append(text, at, m.start());
            byte[] dataKey = new byte[32];
            RANDOM.nextBytes(dataKey);
            byte[] iv = new byte[12];
            RANDOM.nextBytes(iv);
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(dataKey, "AES"), new GCMParameterSpec(128, iv));
            c.updateAAD(aad(storeKey, kek.id()));
            byte[] ct = c.doFinal(m.group().getBytes(StandardCharsets.ISO_8859_1));
            byte[] wrapped = kek.wrap(dataKey);
            java.util.Arrays.fill(dataKey, (byte) 0);
            out.append(BEGIN).append('\n').append("Kek-Id: ").append(kek.id()).append("\n\n");
            ByteBuffer body = ByteBuffer.allocate(1 + 2 + wrapped.length + 12 + ct.length);
            body.put((byte) 1).putShort((short) wrapped.length).put(wrapped).put(iv).put(ct);
            out.append(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(body.array())).append('\n');
            out.append(END).append('\n');
            at = m.end();
        }
        out.append(text, at, text.length());
        return out.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A KEK lookup by id. */
    public interface Keks {
        /** The KEK with {@code id}, or null. */
        KeyEncryptionKey byId(String id);

        /** The ids known, for messages. */
        List<String> ids();
    }

    /**
     * {@code value} with every envelope block decrypted; throws naming the KEK id and the fix when a
     * block's KEK is not among {@code keks} or does not open it.
     */
    public static byte[] open(String storeKey, byte[] value, Keks keks) throws IOException {
        String text = text(value);
        Matcher m = ENVELOPE.matcher(text);
        StringBuilder out = null;
        int at = 0;
        while (m.find()) {
            if (out == null) {
                out = new StringBuilder(text.length());
            }
            out.append(text, at, m.start());
            String id = m.group(1);
            KeyEncryptionKey kek = keks.byId(id);
            if (kek == null) {
                throw new IOException("the private key under store key " + storeKey + " is encrypted with KEK '" + id
                        + "', which this process was not given (it has " + keks.ids() + "). Fix: configure that KEK (as the current one, "
                        + "or as a previous one while rotating); nothing was changed in the store");
            }
            try {
                ByteBuffer body = ByteBuffer.wrap(Base64.getMimeDecoder().decode(m.group(2)));
                if (body.get() != 1) {
                    throw new IOException("the private key under store key " + storeKey + " has an envelope of an unknown version. "
                            + "Fix: upgrade autocert4j to the version that wrote it");
                }
                byte[] wrapped = new byte[body.getShort() & 0xffff];
                body.get(wrapped);
                byte[] iv = new byte[12];
                body.get(iv);
                byte[] ct = new byte[body.remaining()];
                body.get(ct);
                byte[] dataKey = kek.unwrap(wrapped);
                Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(dataKey, "AES"), new GCMParameterSpec(128, iv));
                c.updateAAD(aad(storeKey, id));
                out.append(new String(c.doFinal(ct), StandardCharsets.ISO_8859_1));
                java.util.Arrays.fill(dataKey, (byte) 0);
            } catch (GeneralSecurityException | RuntimeException e) {
                throw new IOException("the private key under store key " + storeKey + " does not decrypt with KEK '" + id
                        + "' (" + e.getClass().getSimpleName() + "): the KEK given under that id is not the one that encrypted it, "
                        + "or the value was altered. Fix: configure the KEK the store was written with; nothing was changed in the store", e);
            }
            at = m.end();
        }
        if (out == null) {
            return value;
        }
        out.append(text, at, text.length());
        return out.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] aad(String storeKey, String kekId) {
        return ("autocert4j envelope v1\0" + storeKey + "\0" + kekId).getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] value) {
        return new String(value, StandardCharsets.ISO_8859_1);
    }
}
