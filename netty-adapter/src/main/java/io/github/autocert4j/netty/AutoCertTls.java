package io.github.autocert4j.netty;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.LocalAddressHint;
import io.github.autocert4j.NoClientCertificates;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.TlsAlpn01Responder;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslClientHelloHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.CharsetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * The TLS entry of a Netty port where autocert4j serves certificates, for what the host's own
 * {@link SslContext} cannot do alone: it reads each connection's ClientHello, then
 * <ul>
 *   <li>a TLS-ALPN-01 validation (ALPN offering only {@code acme-tls/1}, for a name with a pending
 *       challenge) gets a handshake with the challenge certificate from a small context of its own,
 *       negotiating {@code acme-tls/1}, and is closed: it never reaches the host's handlers;</li>
 *   <li>with on-demand TLS ({@code AutoCertBuilder.onDemand}), a connection whose SNI names a host
 *       no certificate covers yet waits — without blocking the event loop — until
 *       {@link AutoCert#certificateReady} says its certificate is live (at most
 *       {@code OnDemand.handshakeWait()}); a name that is not allowed or not ready in time gets a
 *       handshake-failure alert, or the default certificate with {@code OnTimeout.SERVE_FALLBACK};</li>
 *   <li>every other connection gets the host's {@code SslContext}, untouched (its protocols,
 *       ciphers and ALPN, h2 included); one without SNI (a client connecting to an IP address)
 *       is marked with the local address it arrived at, so that it gets that address's
 *       IP-address certificate ({@link LocalAddressHint}).</li>
 * </ul>
 *
 * <p>Why a ClientHello handler and not the host context: with the OpenSSL provider the key manager
 * is asked for a key before ALPN is negotiated, so it cannot tell a validation from a browser; and
 * the host's ALPN list (h2, http/1.1) must stay exactly as the host configured it. Reading the
 * ClientHello first works the same with the JDK and the OpenSSL providers and leaves normal
 * handshakes byte for byte as before. Same provider as the host context.
 *
 * <pre>{@code
 * SslContext hostTls = AutoCertSsl.serverContext(autoCert);
 * AutoCertTls tls = AutoCertTls.forServer(autoCert, hostTls);     // once
 * httpsBootstrap.childHandler(new ChannelInitializer<SocketChannel>() {
 *     @Override protected void initChannel(SocketChannel ch) {
 *         // instead of hostTls.newHandler(ch.alloc()); replaced by an SslHandler once the ClientHello is in
 *         ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec(), new MyApp());
 *     }
 * });
 * }</pre>
 */
public final class AutoCertTls {
    private static final int ALPN_EXTENSION = 16;
    private static final int SNI_EXTENSION = 0;
    private static final long LOOKUP_TIMEOUT_SECONDS = 5;
    private static final String TLS_ALPN_01 = "tls-alpn-01";

    private final AutoCert autoCert;
    private final SslContext hostContext;
    private final SslContext challengeContext; // null when no connection can be routed to it (see forServer)
    private final SslContext refusedContext; // null without on-demand TLS
    private final long onDemandWaitMillis;
    private final boolean readsClientHello;
    private final RefusalLog refusals = new RefusalLog(java.time.Duration.ofMinutes(1));

    private AutoCertTls(AutoCert autoCert, SslContext hostContext, SslContext challengeContext, SslContext refusedContext) {
        this.autoCert = autoCert;
        this.hostContext = hostContext;
        this.challengeContext = challengeContext;
        this.refusedContext = refusedContext;
        this.onDemandWaitMillis = autoCert.onDemand().map(o -> o.handshakeWait().toMillis()).orElse(0L);
        this.readsClientHello = challengeContext != null; // built exactly when a ClientHello is read: forServer
    }

    /**
     * Only TLS-ALPN-01 (a validation must get the challenge context) and on-demand TLS (a new name must wait for its
     * certificate) need the ClientHello before the SslHandler is chosen; without either, every connection gets the host's
     * and the challenge context is never used, so it is not built (with OpenSSL: a second native context and its
     * initialisation on the caller's thread, which in a first start runs beside the first order).
     */
    private static boolean readsClientHello(AutoCert autoCert) {
        return autoCert.onDemand().isPresent() || autoCert.challengeTypes().contains(TLS_ALPN_01);
    }

    /** {@link #forServer(AutoCert, SslContext)} with {@code AutoCertSsl.serverContext(autoCert)}. */
    public static AutoCertTls forServer(AutoCert autoCert) throws SSLException {
        return forServer(autoCert, AutoCertSsl.serverContext(autoCert));
    }

    /**
     * Routes TLS connections of a port between {@code hostContext} (normal traffic) and autocert4j's
     * TLS-ALPN-01 answers. The challenge context uses the same provider as {@code hostContext}; it is built only
     * with {@code tls-alpn-01} among the challenge types or with on-demand TLS (otherwise no connection reaches it).
     *
     * @throws SSLException if the challenge context cannot be built
     */
    public static AutoCertTls forServer(AutoCert autoCert, SslContext hostContext) throws SSLException {
        if (autoCert == null || hostContext == null || !hostContext.isServer()) {
            throw new IllegalArgumentException("AutoCertTls.forServer needs the AutoCert and the host's server SslContext. "
                    + "Fix: AutoCertTls.forServer(autoCert, AutoCertSsl.serverContext(autoCert))");
        }
        // JdkSslContext, not an OpenSSL class: without netty-tcnative on the class path those cannot be loaded.
        SslProvider provider = hostContext instanceof JdkSslContext ? SslProvider.JDK : SslProvider.OPENSSL;
        // Built only when a ClientHello is read, the one way a connection reaches it (a peer's TLS-ALPN-01 answer found
        // in a shared store included). No key material cache for OpenSSL here: every challenge certificate has an alias
        // of its own, and validations are a handful of handshakes per order.
        ApplicationProtocolConfig acmeTls1 = new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, TlsAlpn01Responder.ACME_TLS_1);
        SslContext challenge = !readsClientHello(autoCert) ? null
                : serverContext(provider, autoCert.tlsAlpn01().keyManager(), acmeTls1);
        SslContext refused = null;
        if (autoCert.onDemand().isPresent()) {
            // Never the live key manager here: on a miss it would wait for the certificate, on the event loop.
            boolean fallback = autoCert.onDemand().get().onTimeout() == OnDemand.OnTimeout.SERVE_FALLBACK;
            refused = serverContext(provider, new RefusingKeyManager(autoCert, fallback), null);
        }
        // No session resumes into a replaced certificate, whichever of the (up to) three contexts made it.
        AutoCertSsl.guardSessions(hostContext, autoCert);
        if (challenge != null) {
            AutoCertSsl.guardSessions(challenge, autoCert);
        }
        if (refused != null) {
            AutoCertSsl.guardSessions(refused, autoCert);
        }
        return new AutoCertTls(autoCert, hostContext, challenge, refused);
    }

    /** A server context of {@code provider} over one key manager; a JDK one without Netty's JdkSslServerContext (AutoCertSsl.jdkServerContext). */
    private static SslContext serverContext(SslProvider provider, X509ExtendedKeyManager keyManager, ApplicationProtocolConfig apn)
            throws SSLException {
        if (provider == SslProvider.JDK) {
            return AutoCertSsl.jdkServerContext(new KeyManager[] {keyManager}, null, apn);
        }
        return SslContextBuilder.forServer(keyManager).sslProvider(provider).trustManager(NoClientCertificates.factory())
                .applicationProtocolConfig(apn).build();
    }

    /**
     * A new handler for one connection; it replaces itself with an {@link SslHandler}: once the ClientHello is read when
     * TLS-ALPN-01 or on-demand TLS is enabled, else at once with the host context's (nothing is buffered or parsed then:
     * the router was 0.7 % of the server's CPU per full handshake in the profile of docs/benchmarks.md).
     */
    public ChannelHandler newHandler() {
        return readsClientHello ? new ClientHelloRouter() : new HostSsl();
    }

    /** The host's context, which every non-validation connection gets. */
    public SslContext hostContext() {
        return hostContext;
    }

    /** The TLS-ALPN-01 challenge context; null when neither TLS-ALPN-01 nor on-demand TLS is enabled (for tests). */
    SslContext challengeContext() {
        return challengeContext;
    }

    /** What a ClientHello asks for: its SNI host name (or null) and its ALPN protocols. */
    record ClientHello(String serverName, List<String> protocols) {
        boolean isTlsAlpn01Validation() {
            return serverName != null && protocols.contains(TlsAlpn01Responder.ACME_TLS_1);
        }
    }

    /**
     * Parses a ClientHello message body (from client_version on) for SNI and ALPN, RFC 8446 §4.1.2;
     * anything malformed yields what was read so far (the TLS stack then rejects it properly).
     */
    static ClientHello parse(ByteBuf in) {
        String serverName = null;
        List<String> protocols = new ArrayList<>();
        int offset = in.readerIndex();
        int end = in.writerIndex();
        offset += 34; // client_version + random
        if (end - offset < 1) {
            return new ClientHello(null, protocols);
        }
        offset += 1 + in.getUnsignedByte(offset);              // session id
        if (end - offset < 2) {
            return new ClientHello(null, protocols);
        }
        offset += 2 + in.getUnsignedShort(offset);             // cipher suites
        if (end - offset < 1) {
            return new ClientHello(null, protocols);
        }
        offset += 1 + in.getUnsignedByte(offset);              // compression methods
        if (end - offset < 2) {
            return new ClientHello(null, protocols);
        }
        int extensionsEnd = Math.min(end, offset + 2 + in.getUnsignedShort(offset));
        offset += 2;
        while (extensionsEnd - offset >= 4) {
            int type = in.getUnsignedShort(offset);
            int length = in.getUnsignedShort(offset + 2);
            offset += 4;
            if (extensionsEnd - offset < length) {
                break;
            }
            if (type == SNI_EXTENSION && length >= 5 && in.getUnsignedByte(offset + 2) == 0) {
                int nameLength = in.getUnsignedShort(offset + 3);
                if (nameLength <= length - 5) {
                    serverName = in.toString(offset + 5, nameLength, CharsetUtil.US_ASCII).toLowerCase(Locale.ROOT);
                }
            } else if (type == ALPN_EXTENSION && length >= 2) {
                int p = offset + 2;
                int listEnd = Math.min(offset + length, offset + 2 + in.getUnsignedShort(offset));
                while (p < listEnd) {
                    int len = in.getUnsignedByte(p);
                    if (p + 1 + len > listEnd) {
                        break;
                    }
                    protocols.add(in.toString(p + 1, len, CharsetUtil.US_ASCII));
                    p += 1 + len;
                }
            }
            offset += length;
        }
        return new ClientHello(serverName, protocols);
    }

    private enum Route { HOST, CHALLENGE, REFUSED }

    /** Per connection: reads the ClientHello, then puts the right SslHandler in its place. */
    private final class ClientHelloRouter extends SslClientHelloHandler<Route> {
        private ClientHello hello; // null: the first record was no ClientHello

        @Override
        protected Future<Route> lookup(ChannelHandlerContext ctx, ByteBuf clientHello) {
            Promise<Route> promise = ctx.executor().newPromise();
            hello = clientHello == null ? null : parse(clientHello);
            if (hello == null || !hello.isTlsAlpn01Validation()) {
                return onDemand(ctx, promise);
            }
            autoCert.tlsAlpn01().lookup(hello.serverName())
                    .orTimeout(LOOKUP_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                    .whenComplete((found, error) -> promise.trySuccess(Boolean.TRUE.equals(found) ? Route.CHALLENGE : Route.HOST));
            return promise;
        }

        /** On-demand TLS: wait (not on the event loop) until the SNI name's certificate is live. */
        private Future<Route> onDemand(ChannelHandlerContext ctx, Promise<Route> promise) {
            String sni = hello == null ? null : hello.serverName();
            if (sni == null || refusedContext == null) {
                return promise.setSuccess(Route.HOST); // no SNI never orders: the default certificate
            }
            CompletableFuture<Boolean> ready = autoCert.certificateReady(sni);
            if (ready.isDone()) {
                return promise.setSuccess(Boolean.TRUE.equals(ready.getNow(false)) ? Route.HOST : Route.REFUSED);
            }
            ScheduledFuture<?> timeout = ctx.executor().schedule(() -> promise.trySuccess(Route.REFUSED), onDemandWaitMillis,
                    TimeUnit.MILLISECONDS);
            ready.whenComplete((ok, failure) -> {
                timeout.cancel(false);
                promise.trySuccess(Boolean.TRUE.equals(ok) ? Route.HOST : Route.REFUSED);
            });
            return promise;
        }

        @Override
        protected void onLookupComplete(ChannelHandlerContext ctx, Future<Route> future) {
            Route route = future.isSuccess() ? future.getNow() : Route.HOST;
            if (route == Route.REFUSED) {
                String name = hello == null ? null : hello.serverName();
                ctx.pipeline().addAfter(ctx.name(), null, new RefusedHandshake(name));
                ctx.pipeline().replace(this, SslHandler.class.getName(), refusedContext.newHandler(ctx.alloc()));
                return;
            }
            if (route == Route.CHALLENGE) {
                SslHandler ssl = challengeContext.newHandler(ctx.alloc());
                ctx.pipeline().addAfter(ctx.name(), null, new CloseAfterHandshake());
                ctx.pipeline().replace(this, SslHandler.class.getName(), ssl);
                return;
            }
            SslHandler ssl = hostContext.newHandler(ctx.alloc());
            if (hello != null && hello.serverName() == null) {
                hint(ctx, ssl);
            }
            ctx.pipeline().replace(this, SslHandler.class.getName(), ssl);
        }
    }

    /**
     * Without TLS-ALPN-01 and on-demand TLS: the host context's SslHandler in place of this one as soon as it is added, with
     * the local address hint (read by the key manager only for a client without SNI: that address's certificate).
     */
    private final class HostSsl extends ChannelInboundHandlerAdapter {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            SslHandler ssl = hostContext.newHandler(ctx.alloc());
            hint(ctx, ssl);
            ctx.pipeline().replace(this, SslHandler.class.getName(), ssl);
        }
    }

    /** Marks {@code ssl}'s engine with the local address the connection arrived at ({@link LocalAddressHint}). */
    private static void hint(ChannelHandlerContext ctx, SslHandler ssl) {
        SocketAddress local = ctx.channel().localAddress();
        if (local instanceof InetSocketAddress inet && inet.getAddress() != null) {
            try {
                LocalAddressHint.apply(ssl.engine(), inet.getAddress());
            } catch (RuntimeException e) {
                // an engine that refuses the parameters: the default certificate is served
            }
        }
    }

    /**
     * Serves the default certificate (fallback mode) or nothing (so the handshake ends with an
     * alert) to names on-demand TLS refused or could not serve in time; keys and chains come from
     * the live key manager by alias, which never waits.
     */
    private static final class RefusingKeyManager extends X509ExtendedKeyManager {
        private final AutoCert autoCert;
        private final boolean serveDefault;

        RefusingKeyManager(AutoCert autoCert, boolean serveDefault) {
            this.autoCert = autoCert;
            this.serveDefault = serveDefault;
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return chooseServerAlias(keyType, issuers, null);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return serveDefault ? autoCert.servedCertificate(null).alias() : null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return autoCert.keyManager().getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return autoCert.keyManager().getPrivateKey(alias);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }

    /**
     * Behind the SslHandler of a refused on-demand name: a failed handshake (the client got its alert)
     * closes the connection and is logged once per name per interval by {@link RefusalLog}, instead of
     * travelling to the host's handlers and, unhandled there, being logged by Netty's pipeline tail with
     * its whole stack trace (about 40 lines per handshake). A successful handshake (fallback mode)
     * removes this handler and goes on as usual.
     */
    private final class RefusedHandshake extends ChannelInboundHandlerAdapter {
        private final String name;
        private boolean failed;

        RefusedHandshake(String name) {
            this.name = name;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done) {
                if (done.isSuccess()) {
                    ctx.pipeline().remove(this);
                } else {
                    fail(ctx);
                    return;
                }
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(ctx); // the handshake's failure: answered with an alert already
        }

        private void fail(ChannelHandlerContext ctx) {
            if (!failed) {
                failed = true;
                refusals.refused(name);
            }
            ctx.close();
        }
    }

    /**
     * One log line per refused name per interval, saying how many handshakes for it were refused since
     * its last line; bounded in memory (forgets everything beyond 10,000 names: a random-name flood then
     * costs at most one line per name, never unbounded memory).
     */
    static final class RefusalLog {
        private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AutoCertTls.class);
        private static final int MAX_NAMES = 10_000;

        private final long intervalNanos;
        private final java.util.function.LongSupplier nanoTime;
        private final java.util.concurrent.ConcurrentHashMap<String, long[]> byName = new java.util.concurrent.ConcurrentHashMap<>();

        RefusalLog(java.time.Duration interval) {
            this(interval, System::nanoTime);
        }

        RefusalLog(java.time.Duration interval, java.util.function.LongSupplier nanoTime) {
            this.intervalNanos = interval.toNanos();
            this.nanoTime = nanoTime;
        }

        /** Counts a refused handshake for {@code name}; logs when the name's interval is over (or it is new). */
        void refused(String name) {
            String key = safe(name);
            if (byName.size() > MAX_NAMES) {
                byName.clear();
            }
            long now = nanoTime.getAsLong();
            long[] logged = new long[1];
            long[] state = byName.compute(key, (k, s) -> {
                if (s == null) {
                    logged[0] = 1;
                    return new long[] {now, 0};
                }
                if (now - s[0] >= intervalNanos) {
                    logged[0] = s[1] + 1;
                    return new long[] {now, 0};
                }
                return new long[] {s[0], s[1] + 1};
            });
            if (logged[0] > 0 && state != null) {
                LOG.info("autocert4j: refused the TLS handshake for {} ({} refused since the last line for it; on-demand TLS: not allowed,"
                        + " or its certificate not ready within handshakeWait); at most one line per name per {} s", key, logged[0],
                        intervalNanos / 1_000_000_000L);
            }
        }

        /** The SNI name for a log line: printable host-name characters only, bounded. */
        static String safe(String name) {
            if (name == null) {
                return "(no SNI)";
            }
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < name.length() && i < 255; i++) {
                char c = name.charAt(i);
                sb.append(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '*' ? c : '?');
            }
            return sb.toString();
        }
    }

    /** Ends a validation connection once its handshake is done; nothing of it reaches the host's handlers. */
    private static final class CloseAfterHandshake extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent) {
                ctx.close();
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
