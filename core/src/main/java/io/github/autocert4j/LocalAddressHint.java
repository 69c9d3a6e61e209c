package io.github.autocert4j;

import java.net.InetAddress;
import java.util.List;

import javax.net.ssl.SNIMatcher;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.StandardConstants;

/**
 * Tells autocert4j's key manager which local address a TLS connection arrived at, for a client
 * that sends no SNI, so that it gets the IP-address certificate (RFC 8738) of that address
 * rather than the default certificate. Clients connecting to an IP address never send SNI, and an
 * {@link SSLEngine} does not know its socket: only the server around it does.
 *
 * <p>{@code SSLSocket}-based servers need nothing (the key manager asks the socket), and the Netty
 * adapter's {@code AutoCertTlsHandler} calls this for you. Other engine-based servers may call it
 * before the handshake starts, when they know the ClientHello carries no SNI.
 *
 * <pre>{@code
 * SSLEngine engine = sslContext.createSSLEngine();
 * engine.setUseClientMode(false);
 * LocalAddressHint.apply(engine, localSocketAddress.getAddress());
 * }</pre>
 *
 * <p>Why it travels on the engine: the key manager is handed the engine (for JSSE, the innermost
 * one, whatever wraps it), so the hint needs no registry and dies with the connection. It is
 * carried as an {@link SNIMatcher} for host names that accepts every name, and only on engines
 * without SNI matchers of their own, so it never changes which SNI names a handshake accepts.
 */
public final class LocalAddressHint {
    private LocalAddressHint() {
    }

    /**
     * Records {@code localAddress} on {@code engine} for the key manager; call before the handshake.
     * Returns false, recording nothing, when the engine already has SNI matchers of its own (the
     * hint would then loosen them).
     */
    public static boolean apply(SSLEngine engine, InetAddress localAddress) {
        if (engine == null || localAddress == null) {
            return false;
        }
        SSLParameters params = engine.getSSLParameters();
        if (params.getSNIMatchers() != null && params.getSNIMatchers().stream().anyMatch(m -> !(m instanceof Carrier))) {
            return false;
        }
        params.setSNIMatchers(List.of(new Carrier(localAddress)));
        engine.setSSLParameters(params);
        return true;
    }

    /** The local address recorded on {@code engine}, or null. */
    public static InetAddress of(SSLEngine engine) {
        if (engine == null) {
            return null;
        }
        try {
            SSLParameters params = engine.getSSLParameters();
            if (params == null || params.getSNIMatchers() == null) {
                return null;
            }
            for (SNIMatcher m : params.getSNIMatchers()) {
                if (m instanceof Carrier c) {
                    return c.local;
                }
            }
        } catch (RuntimeException e) {
            return null; // an engine that cannot report its parameters: no hint
        }
        return null;
    }

    /** Accepts every host name (so it never rejects SNI) and carries the local address. */
    private static final class Carrier extends SNIMatcher {
        final InetAddress local;

        Carrier(InetAddress local) {
            super(StandardConstants.SNI_HOST_NAME);
            this.local = local;
        }

        @Override
        public boolean matches(SNIServerName serverName) {
            return true;
        }

        @Override
        public String toString() {
            return "LocalAddressHint[" + local.getHostAddress() + "]";
        }
    }
}
