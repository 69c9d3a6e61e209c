package io.github.autocert4j.internal.crypto;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The little DER the library writes and reads itself, so that the path to a first certificate
 * (a PKCS#10 request, PEM keys and certificates) needs no BouncyCastle: BouncyCastle's jars are
 * signed, and the JVM verifies a signed jar (and the digest of every class it loads from it)
 * the first time it touches it, which cost about a third of a second of a cold start (issue 23).
 * Definite lengths only; callers pass encodings that are already DER (a JDK key's or
 * certificate's {@code getEncoded()}).
 */
public final class Der {
    public static final int SEQUENCE = 0x30;
    public static final int SET = 0x31;

    private Der() {
    }

    /** A tag-length-value with {@code content} already encoded. */
    public static byte[] tlv(int tag, byte[]... content) {
        int length = 0;
        for (byte[] c : content) {
            length += c.length;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(length + 6);
        out.write(tag);
        if (length < 0x80) {
            out.write(length);
        } else {
            int bytes = length < 0x100 ? 1 : length < 0x10000 ? 2 : length < 0x1000000 ? 3 : 4;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write(length >>> (8 * i));
            }
        }
        for (byte[] c : content) {
            out.writeBytes(c);
        }
        return out.toByteArray();
    }

    public static byte[] sequence(byte[]... content) {
        return tlv(SEQUENCE, content);
    }

    public static byte[] set(byte[]... content) {
        return tlv(SET, content);
    }

    /** An INTEGER from 0 to 127. */
    public static byte[] smallInteger(int value) {
        if (value < 0 || value > 127) {
            throw new IllegalArgumentException("only 0..127: " + value);
        }
        return new byte[] {0x02, 0x01, (byte) value};
    }

    public static byte[] nullValue() {
        return new byte[] {0x05, 0x00};
    }

    public static byte[] octetString(byte[] value) {
        return tlv(0x04, value);
    }

    /** A BIT STRING with no unused bits. */
    public static byte[] bitString(byte[] value) {
        return tlv(0x03, new byte[] {0}, value);
    }

    public static byte[] utf8String(String value) {
        return tlv(0x0c, value.getBytes(StandardCharsets.UTF_8));
    }

    /** An OBJECT IDENTIFIER from its dotted form ({@code 1.2.840.10045.2.1}). */
    public static byte[] oid(String dotted) {
        String[] arcs = dotted.split("\\.");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        writeArc(body, Long.parseLong(arcs[0]) * 40 + Long.parseLong(arcs[1]));
        for (int i = 2; i < arcs.length; i++) {
            writeArc(body, Long.parseLong(arcs[i]));
        }
        return tlv(0x06, body.toByteArray());
    }

    private static void writeArc(ByteArrayOutputStream out, long arc) {
        int groups = 1;
        while (groups < 10 && (arc >>> (7 * groups)) != 0) {
            groups++;
        }
        for (int i = groups - 1; i >= 0; i--) {
            int b = (int) ((arc >>> (7 * i)) & 0x7f);
            out.write(i == 0 ? b : b | 0x80);
        }
    }

    /**
     * The algorithm OBJECT IDENTIFIER (its full encoding, tag included) of a PKCS#8
     * {@code PrivateKeyInfo} or an X.509 {@code SubjectPublicKeyInfo}, or null if {@code der} is
     * neither (then the caller falls back to a full parser).
     */
    public static byte[] keyAlgorithm(byte[] der, boolean privateKey) {
        try {
            int at = contentStart(der, 0, SEQUENCE); // the outer SEQUENCE
            if (privateKey) {
                at = skip(der, at, 0x02); // version
            }
            at = contentStart(der, at, SEQUENCE); // AlgorithmIdentifier
            int end = skip(der, at, 0x06);
            return Arrays.copyOfRange(der, at, end);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            return null;
        }
    }

    /** Where the content of the element at {@code at} (which must carry {@code tag}) begins. */
    private static int contentStart(byte[] der, int at, int tag) {
        if ((der[at] & 0xff) != tag) {
            throw new IllegalArgumentException("tag");
        }
        int first = der[at + 1] & 0xff;
        return first < 0x80 ? at + 2 : at + 2 + (first & 0x7f);
    }

    /** Where the element after the one at {@code at} (which must carry {@code tag}) begins. */
    private static int skip(byte[] der, int at, int tag) {
        int start = contentStart(der, at, tag);
        int first = der[at + 1] & 0xff;
        int length;
        if (first < 0x80) {
            length = first;
        } else {
            int n = first & 0x7f;
            if (n > 3) {
                throw new IllegalArgumentException("length");
            }
            length = 0;
            for (int i = 0; i < n; i++) {
                length = (length << 8) | (der[at + 2 + i] & 0xff);
            }
        }
        if (start + length > der.length) {
            throw new IllegalArgumentException("length");
        }
        return start + length;
    }
}
