package io.github.autocert4j.internal.tls;

import io.github.autocert4j.LocalAddressHint;

import java.net.InetAddress;
import java.net.Socket;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;

/**
 * What a {@link CertificateSource} may read of the handshake asking for a key: the key type, the
 * SNI name (read once by the key manager), and, only when a source asks, the ALPN protocol
 * negotiated so far and the local address the client connected to.
 */
public final class Handshake {
    private final String keyType;
    private final String sni;
    private final SSLEngine engine; // null: a socket or nothing
    private final Socket socket; // null: an engine or nothing

    private Handshake(String keyType, String sni, SSLEngine engine, Socket socket) {
        this.keyType = keyType;
        this.sni = sni;
        this.engine = engine;
        this.socket = socket;
    }

    /** A handshake of {@code engine} (null: unknown); {@code sni} as read from its handshake session. */
    public static Handshake of(String keyType, String sni, SSLEngine engine) {
        return new Handshake(keyType, sni, engine, null);
    }

    /** A handshake on {@code socket} (null: unknown). */
    public static Handshake of(String keyType, String sni, Socket socket) {
        return new Handshake(keyType, sni, null, socket);
    }

    /** The key type JSSE or Netty asks for ("EC", "RSA", ...; null: any). */
    public String keyType() {
        return keyType;
    }

    /** The SNI host name the client sent, or null. */
    public String sni() {
        return sni;
    }

    /** The ALPN protocol selected so far (JSSE selects it before asking for a key), or null. */
    public String applicationProtocol() {
        if (engine != null) {
            return Handshakes.applicationProtocol(engine);
        }
        return socket instanceof SSLSocket s ? Handshakes.applicationProtocol(s) : null;
    }

    /**
     * The local address the client connected to, or null when unknown: a socket's, or the one an
     * engine was marked with ({@link LocalAddressHint}).
     */
    public InetAddress localAddress() {
        if (engine != null) {
            return LocalAddressHint.of(engine);
        }
        return socket == null ? null : socket.getLocalAddress();
    }
}
