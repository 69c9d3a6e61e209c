package io.github.autocert4j.internal.tls;

import io.github.autocert4j.TlsSessions;

import java.security.KeyManagementException;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.security.SecureRandom;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * A JSSE {@code SSLContext} that is a new JDK context after every certificate swap. Why: the JDK
 * server resumes TLS 1.2 and TLS 1.3 sessions from stateless tickets by default
 * ({@code jdk.tls.server.enableSessionTicketExtension}), sealed with keys of its session context
 * that no public API renews; invalidating the cached sessions does not touch them (measured:
 * SessionAfterSwapNettyTest). A new context has new ticket keys and an empty cache, so every
 * earlier session and ticket is refused and the next handshake is a full one, asking the key
 * manager. Engines already made keep their context: open connections are untouched.
 */
public final class FreshSessionsContext {
    private FreshSessionsContext() {
    }

    /** A new context whose engines come from a fresh JDK context after every swap {@code sessions} reports. */
    public static SSLContext create(TlsSessions sessions, Provider provider) {
        return new SSLContext(new Spi(sessions), provider, "TLS") {
        };
    }

    /** The JSSE provider {@link TlsSessions#jsseProvider()} returns: its only service is SSLContext "TLS". */
    public static final class JsseProvider extends Provider {
        private static final long serialVersionUID = 1L;

        public JsseProvider(TlsSessions sessions) {
            super("autocert4j-fresh-sessions", "1.0", "autocert4j: TLS contexts renewed on every certificate swap");
            putService(new Service(this, "SSLContext", "TLS", Spi.class.getName(), null, null) {
                @Override
                public Object newInstance(Object constructorParameter) {
                    return new Spi(sessions);
                }
            });
        }
    }

    public static final class Spi extends SSLContextSpi {
        private final TlsSessions sessions;
        private KeyManager[] keyManagers; // guarded by this
        private TrustManager[] trustManagers; // guarded by this
        private SecureRandom random; // guarded by this
        private int lifetimeSeconds; // guarded by this; 0: the JDK's default
        private int hostCacheSize = -1; // guarded by this; -1: the JDK's default
        private int hostTimeoutSeconds = -1; // guarded by this; what the host set through getServerSessionContext(), -1: nothing
        private volatile SSLContext current;
        private final SSLSessionContext serverSessions = new ServerSessions();

        public Spi(TlsSessions sessions) {
            this.sessions = sessions;
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            synchronized (this) {
                keyManagers = km == null ? null : km.clone();
                trustManagers = tm == null ? null : tm.clone();
                random = sr;
                current = fresh();
            }
            sessions.register(this, new TlsSessions.Host() {
                @Override
                public void dropSessions() {
                    renew();
                }

                @Override
                public void limitSessionLifetime(int seconds) {
                    synchronized (Spi.this) {
                        lifetimeSeconds = seconds;
                        current.getServerSessionContext().setSessionTimeout(timeout());
                    }
                }
            });
        }

        private SSLContext fresh() throws KeyManagementException {
            try {
                SSLContext c = SSLContext.getInstance("TLS");
                c.init(keyManagers, trustManagers, random);
                if (hostCacheSize >= 0) {
                    c.getServerSessionContext().setSessionCacheSize(hostCacheSize);
                }
                int timeout = timeout();
                if (timeout > 0) {
                    c.getServerSessionContext().setSessionTimeout(timeout);
                }
                return c;
            } catch (NoSuchAlgorithmException e) {
                throw new KeyManagementException("this JVM has no TLS SSLContext", e);
            }
        }

        /** The session timeout to apply: the host's (Tomcat sets 86,400 s), never above the lifetime TlsSessions allows. */
        private int timeout() {
            if (hostTimeoutSeconds < 0) {
                return lifetimeSeconds;
            }
            if (lifetimeSeconds == 0) {
                return hostTimeoutSeconds;
            }
            return hostTimeoutSeconds == 0 ? lifetimeSeconds : Math.min(hostTimeoutSeconds, lifetimeSeconds);
        }

        public void renew() {
            synchronized (this) {
                try {
                    current = fresh();
                } catch (KeyManagementException e) {
                    throw new IllegalStateException("cannot make a new TLS context after a certificate swap: " + e.getMessage(), e);
                }
            }
        }

        private SSLContext current() {
            SSLContext c = current;
            if (c == null) {
                throw new IllegalStateException("SSLContext not initialized. Fix: call init(...) first");
            }
            return c;
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return current().getSocketFactory();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return current().getServerSocketFactory();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return current().createSSLEngine();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return current().createSSLEngine(host, port);
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            current();
            return serverSessions;
        }

        /**
         * The server session context as hosts see it: always the current JDK context's, and a
         * timeout the host sets (Tomcat and Jetty set theirs at start) is capped by the lifetime
         * TlsSessions allows, and kept across renewals.
         */
        private final class ServerSessions implements SSLSessionContext {
            @Override
            public javax.net.ssl.SSLSession getSession(byte[] sessionId) {
                return current().getServerSessionContext().getSession(sessionId);
            }

            @Override
            public java.util.Enumeration<byte[]> getIds() {
                return current().getServerSessionContext().getIds();
            }

            @Override
            public void setSessionTimeout(int seconds) {
                if (seconds < 0) {
                    throw new IllegalArgumentException("session timeout " + seconds + " < 0");
                }
                synchronized (Spi.this) {
                    hostTimeoutSeconds = seconds;
                    current().getServerSessionContext().setSessionTimeout(timeout());
                }
            }

            @Override
            public int getSessionTimeout() {
                return current().getServerSessionContext().getSessionTimeout();
            }

            @Override
            public void setSessionCacheSize(int size) {
                synchronized (Spi.this) {
                    current().getServerSessionContext().setSessionCacheSize(size);
                    hostCacheSize = size;
                }
            }

            @Override
            public int getSessionCacheSize() {
                return current().getServerSessionContext().getSessionCacheSize();
            }
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return current().getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return current().getDefaultSSLParameters();
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return current().getSupportedSSLParameters();
        }
    }
}
