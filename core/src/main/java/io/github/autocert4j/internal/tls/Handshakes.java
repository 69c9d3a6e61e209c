package io.github.autocert4j.internal.tls;

import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.StandardConstants;

/** What a key manager reads from a handshake: SNI, ALPN, the key type asked for (split out of {@link LiveKeyManager}, issue 19). */
public final class Handshakes {

    private Handshakes() {
    }

    /** The ALPN protocol negotiated so far, or null (an engine that cannot tell). */
    static String applicationProtocol(SSLEngine engine) {
        try {
            return engine.getHandshakeApplicationProtocol();
        } catch (UnsupportedOperationException e) {
            return null;
        }
    }

    static String applicationProtocol(SSLSocket socket) {
        try {
            return socket.getHandshakeApplicationProtocol();
        } catch (UnsupportedOperationException e) {
            return null;
        }
    }

    /** Whether a key of {@code keyAlgorithm} serves JSSE's {@code keyType} (null: any). */
    public static boolean keyTypeMatches(String keyType, String keyAlgorithm) {
        if (keyType == null) {
            return true;
        }
        // JSSE asks for "EC"/"RSA"/"RSASSA-PSS"; Netty's OpenSSL engine also for "EC_EC" (ECDH_ECDSA suites).
        return switch (keyAlgorithm) {
            case "EC", "ECDSA" -> keyType.equals("EC") || keyType.equals("EC_EC");
            case "RSA" -> keyType.equals("RSA");
            default -> keyType.equals(keyAlgorithm);
        };
    }

    /** The SNI host name the client sent in {@code handshake}, or null. */
    public static String sniHost(SSLSession handshake) {
        if (handshake instanceof ExtendedSSLSession ext) {
            try {
                for (SNIServerName name : ext.getRequestedServerNames()) {
                    if (name.getType() == StandardConstants.SNI_HOST_NAME) {
                        return name instanceof SNIHostName h ? h.getAsciiName() : new SNIHostName(name.getEncoded()).getAsciiName();
                    }
                }
            } catch (UnsupportedOperationException | IllegalArgumentException ignored) {
                // no usable SNI: fall through to the default certificate
            }
        }
        return null;
    }
}
