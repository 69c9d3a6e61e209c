package io.github.autocert4j.netty;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSessionContext;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.LocalAddressHint;
import io.github.autocert4j.NoClientCertificates;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory;
import io.netty.handler.ssl.OpenSslServerSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Netty {@link SslContext}s that always present the live certificates of an {@link AutoCert}.
 *
 * <p>One context, built once: it asks the AutoCert's key manager at every handshake, so a renewal
 * takes effect for new connections at once while open connections keep their session. With
 * {@code netty-tcnative-boringssl-static} on the class path the OpenSSL provider is used (with
 * Netty's per-alias key material cache, which is safe because every new certificate gets a new
 * alias), otherwise the JDK provider.
 *
 * <p>With the OpenSSL provider each certificate's key and chain are converted into BoringSSL key
 * material the first time a handshake uses them (about 0.1 ms); {@link #serverContext(AutoCert)}
 * does that for every live certificate up front ({@link #prepareKeyMaterial}), so that a server
 * with many certificates does not pay it in its first handshakes. A renewed certificate is
 * converted at its first handshake; so is every certificate of a manager that loads lazily
 * ({@code AutoCertBuilder.lazyLoadAbove}: some status is {@code NOT_LOADED} when the context is built).
 *
 * <pre>{@code
 * SslContext tls = AutoCertSsl.serverContext(autoCert);
 * ch.pipeline().addLast(tls.newHandler(ch.alloc()), new HttpServerCodec(), new MyApp());
 * }</pre>
 */
public final class AutoCertSsl {
    private AutoCertSsl() {
    }

    /** The provider {@link #serverContext(AutoCert)} uses: OpenSSL when available, else the JDK's. */
    public static SslProvider defaultProvider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /**
     * A server context with the default provider and Netty's default protocols and ciphers; with
     * OpenSSL, the key material of every live certificate is prepared before it returns
     * ({@link #prepareKeyMaterial}, about 0.1 ms per certificate).
     */
    public static SslContext serverContext(AutoCert autoCert) throws SSLException {
        SslProvider provider = defaultProvider();
        SslContext context = provider == SslProvider.JDK
                ? jdkServerContext(autoCert, null, null, null)
                : contextBuilder(autoCert, provider).build();
        guardSessions(context, autoCert);
        prepareKeyMaterial(context, autoCert);
        return context;
    }

    /**
     * Registers {@code context}'s sessions with {@link AutoCert#tlsSessions()}: after every
     * certificate swap no client resumes a session (TLS 1.2 session ID or TLS 1.3 ticket) made
     * under the replaced certificate, and no session outlives its certificate. With the JDK
     * provider the context's cached sessions are invalidated; with OpenSSL its session ID context
     * and ticket keys are renewed (BoringSSL then refuses every earlier session and ticket). Done by
     * {@link #serverContext} and {@link AutoCertTls#forServer}; call it for a context built from
     * {@link #contextBuilder} that does not go through {@code AutoCertTls}. Registering twice does nothing.
     */
    public static void guardSessions(SslContext context, AutoCert autoCert) {
        if (context instanceof JdkSslContext jdk) {
            if (jdk.context().getProvider() != autoCert.tlsSessions().jsseProvider()) {
                // not from contextBuilder: its cached sessions are dropped, but not the JDK's stateless tickets
                autoCert.tlsSessions().guard(jdk.context().getServerSessionContext());
            }
        } else {
            OpenSslSessions.guard(context.sessionContext(), autoCert); // not loaded without tcnative: never reached then
        }
    }

    /** The OpenSSL provider's session hook (decided in core: TlsSessions); its own class, so that nothing loads OpenSSL classes for a JDK context. */
    private static final class OpenSslSessions {
        private OpenSslSessions() {
        }

        static void guard(SSLSessionContext sessions, AutoCert autoCert) {
            if (sessions instanceof OpenSslServerSessionContext server) {
                autoCert.tlsSessions().guard(server, (id, name, hmac, aes) -> {
                    server.setSessionIdContext(id);
                    server.setTicketKeys(new OpenSslSessionTicketKey(name, hmac, aes));
                });
            }
        }
    }

    /**
     * Converts the key and chain of every CA-issued certificate {@code autoCert} serves now into OpenSSL
     * key material held by {@code context}'s key material cache (a context built from
     * {@link #contextBuilder} with the OpenSSL provider), so that no client's handshake pays the
     * conversion; returns how many were prepared. A certificate not issued yet is skipped: its
     * handshakes get the self-signed fallback, made and converted at the first handshake that needs
     * it. Does nothing (returns 0) for the JDK provider, which keeps no per-certificate state. Call
     * it once after {@code start()} (what a restart loads from the store is live then; before it, nothing
     * is prepared); it may run on any thread.
     *
     * <p>How, with Netty's public API only: for each certificate the context's own engine reads an
     * in-memory ClientHello naming it (SNI, or the local address for an IP-address certificate) and
     * answers it, which makes Netty choose, convert and cache the key material exactly as a
     * client's handshake would; the handshake is then dropped.
     *
     * <pre>{@code
     * SslContext tls = AutoCertSsl.contextBuilder(autoCert, SslProvider.OPENSSL).applicationProtocolConfig(alpn).build();
     * AutoCertSsl.prepareKeyMaterial(tls, autoCert);
     * }</pre>
     */
    public static int prepareKeyMaterial(SslContext context, AutoCert autoCert) {
        if (context instanceof JdkSslContext || !context.isServer()) {
            return 0;
        }
        List<CertificateStatus> all = autoCert.status();
        if (all.stream().anyMatch(s -> s.state() == CertificateStatus.State.NOT_LOADED)) {
            // Lazy loading (more configured certificates than lazyLoadAbove): nothing up front, not even what the
            // background sweep loaded meanwhile; each certificate is converted at its first handshake (about 0.1 ms).
            return 0;
        }
        if (all.stream().allMatch(s -> s.serial() == null)) {
            return 0; // a first start: nothing issued yet (below), and no client context made for nothing
        }
        SSLContext client;
        try {
            client = SSLContext.getInstance("TLS");
            // Only writes a ClientHello: no server certificate is ever checked, so no trust store is loaded either.
            client.init(null, NoClientCertificates.managers(), null);
        } catch (GeneralSecurityException e) {
            LOG.debug("autocert4j: cannot prepare OpenSSL key material ahead of handshakes: {}", e.toString());
            return 0;
        }
        Set<String> aliases = new HashSet<>();
        int prepared = 0;
        for (CertificateStatus status : all) {
            if (status.serial() == null) {
                // Not issued yet: its handshakes get the self-signed fallback, which is made (with BouncyCastle: a signed
                // jar, ~0.1 s to verify, ~0.25 s in all in a fresh JVM) and converted at the first handshake needing it,
                // not here, where it delayed a first start's start() and so its first certificate.
                continue;
            }
            String name = status.names().get(0);
            if (!aliases.add(autoCert.servedCertificate(name).alias())) {
                continue;
            }
            try {
                // A TLS 1.2 ClientHello first: it carries no key shares, so the client side costs
                // next to nothing; TLS 1.3 if the context does not speak TLS 1.2.
                if (answerClientHello(context, client, name, true) || answerClientHello(context, client, name, false)) {
                    prepared++;
                }
            } catch (SSLException | RuntimeException e) {
                LOG.debug("autocert4j: preparing OpenSSL key material for {} failed (its first handshake converts it): {}",
                        name, e.toString());
            }
        }
        return prepared;
    }

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    /** One in-memory ClientHello for {@code name} into a new engine of {@code context}; true if the server answered it. */
    private static boolean answerClientHello(SslContext context, SSLContext client, String name, boolean tls12) throws SSLException {
        InetAddress ip = ipLiteral(name);
        SSLEngine hello = client.createSSLEngine();
        hello.setUseClientMode(true);
        SSLParameters params = hello.getSSLParameters();
        if (tls12) {
            params.setProtocols(new String[] {"TLSv1.2"});
        }
        if (ip == null) {
            params.setServerNames(List.of(new SNIHostName(name.startsWith("*.") ? "prepare" + name.substring(1) : name)));
        }
        hello.setSSLParameters(params);
        ByteBuffer record = ByteBuffer.allocate(hello.getSession().getPacketBufferSize());
        hello.wrap(EMPTY, record);
        hello.closeOutbound();
        record.flip();
        SSLEngine server = context.newEngine(ByteBufAllocator.DEFAULT);
        try {
            if (ip != null) {
                LocalAddressHint.apply(server, ip);
            }
            ByteBuffer app = ByteBuffer.allocate(server.getSession().getApplicationBufferSize());
            ByteBuffer answer = ByteBuffer.allocate(server.getSession().getPacketBufferSize());
            server.beginHandshake();
            // At most a few steps: read the ClientHello, run delegated tasks (the certificate callback
            // may be one), write the ServerHello flight, which means the certificate was chosen and converted.
            for (int step = 0; step < 8 && answer.position() == 0; step++) {
                switch (server.getHandshakeStatus()) {
                    case NEED_TASK -> {
                        for (Runnable task = server.getDelegatedTask(); task != null; task = server.getDelegatedTask()) {
                            task.run();
                        }
                    }
                    case NEED_WRAP -> server.wrap(EMPTY, answer);
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> server.unwrap(record, app);
                    default -> step = 8;
                }
            }
            return answer.position() > 0;
        } finally {
            server.closeOutbound();
            ReferenceCountUtil.release(server);
        }
    }

    private static InetAddress ipLiteral(String name) {
        if (name.indexOf(':') < 0 && !name.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'))) {
            return null;
        }
        try {
            return InetAddress.getByName(name); // a literal: no lookup
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(AutoCertSsl.class);

    /**
     * A builder preset with the live key material and {@code provider}, for hosts that also set
     * ALPN, protocols or ciphers before calling {@code build()}. With the JDK provider its
     * {@code sslContextProvider} is {@link io.github.autocert4j.TlsSessions#jsseProvider()} (keep
     * it: the context then renews itself after every swap, so no client resumes into a replaced
     * certificate); pass the built context to {@link AutoCertTls#forServer} or
     * {@link #guardSessions}. Its trust manager trusts no client certificate and names no acceptable issuer (the
     * context asks for none): Netty's default, the JDK's trust store, would be copied into every OpenSSL context. For
     * client authentication set both {@code clientAuth(...)} and a {@code trustManager(...)} of your own.
     */
    public static SslContextBuilder contextBuilder(AutoCert autoCert, SslProvider provider) {
        KeyManagerFactory factory = keyManagerFactory(autoCert);
        if (provider == SslProvider.OPENSSL || provider == SslProvider.OPENSSL_REFCNT) {
            // Without the cache, the OpenSSL provider re-encodes the chain and key at every handshake.
            // The cache is keyed by alias; every swap makes a new alias and retires the one two
            // generations back, which the cache then evicts as stale (getCertificateChain == null).
            // Sized for every managed certificate (current and previous generation) so that SNI
            // traffic spread over many certificates keeps hitting the cache.
            int onDemand = autoCert.onDemand().map(o -> o.maxCertificatesInMemory()).orElse(0);
            int entries = Math.max(1024, 2 * (autoCert.status().size() + onDemand) + 16);
            factory = new OpenSslCachingX509KeyManagerFactory(factory, entries);
        }
        // No client certificates unless the host sets a trust manager of its own: Netty's default copies every CA
        // certificate of the JDK's trust store into each OpenSSL context (NoClientCertificates).
        SslContextBuilder builder = SslContextBuilder.forServer(factory).sslProvider(provider).trustManager(NoClientCertificates.factory());
        if (provider == SslProvider.JDK) {
            // The JDK's stateless session tickets survive any invalidation: its SSLContext is renewed on every swap instead.
            builder.sslContextProvider(autoCert.tlsSessions().jsseProvider());
        }
        return builder;
    }

    /**
     * A JDK-provider server context over the live key manager with {@code protocols}, {@code ciphers} and ALPN set: the
     * context {@code contextBuilder(autoCert, SslProvider.JDK).protocols(protocols).ciphers(ciphers)
     * .applicationProtocolConfig(apn).build()} makes (the same {@code SSLContext} from
     * {@link io.github.autocert4j.TlsSessions#jsseProvider()}, the same engines), without Netty's
     * {@code JdkSslServerContext}: with BouncyCastle on the class path (always, through acme4j) that class costs a
     * fresh JVM 0.4-0.9 s of its start (docs/startup.md). For hosts that set protocols or ciphers of their own, such as
     * the Micronaut module; {@link #serverContext(AutoCert)} already builds its JDK context this way.
     *
     * <pre>{@code
     * SslContext tls = AutoCertSsl.defaultProvider() == SslProvider.JDK
     *         ? AutoCertSsl.jdkServerContext(autoCert, alpn, List.of("TLSv1.3"), null)
     *         : AutoCertSsl.contextBuilder(autoCert, SslProvider.OPENSSL).protocols("TLSv1.3").applicationProtocolConfig(alpn).build();
     * AutoCertTls.forServer(autoCert, tls);   // or AutoCertSsl.guardSessions + prepareKeyMaterial for a pipeline of your own
     * }</pre>
     *
     * <p>The JDK context needs no {@link #guardSessions}: its {@code SSLContext} is renewed after every swap. An OpenSSL
     * context from {@link #contextBuilder} does (through {@link AutoCertTls#forServer} or a call of its own).
     *
     * @param apn ALPN configuration, or null for none
     * @param protocols the enabled protocols as {@code SslContextBuilder.protocols} takes them (an unknown name fails
     *        at the first {@code newEngine}, as there), or null for Netty's defaults
     * @param ciphers the enabled cipher suites as {@code SslContextBuilder.ciphers} takes them (with its identity filter:
     *        an unsupported name fails at the first {@code newEngine}, as there), or null for Netty's defaults
     * @throws SSLException if the JDK cannot make the {@code SSLContext}
     */
    public static SslContext jdkServerContext(AutoCert autoCert, ApplicationProtocolConfig apn, List<String> protocols,
            List<String> ciphers) throws SSLException {
        return jdkServerContext(keyManagerFactory(autoCert).getKeyManagers(), autoCert.tlsSessions().jsseProvider(), apn,
                protocols == null ? null : protocols.toArray(new String[0]), ciphers);
    }

    /**
     * A JDK server context over {@code keyManagers}: what {@code SslContextBuilder.forServer(...).sslProvider(JDK)
     * .sslContextProvider(jsse).trustManager(NoClientCertificates.factory()).applicationProtocolConfig(apn).protocols(protocols)
     * .ciphers(ciphers).build()} makes (an {@code SSLContext} "TLS" of {@code jsse}, or the JDK's default provider if
     * null, trusting no client certificate: none is asked for, and the JDK's trust store is not loaded for it; no client
     * authentication, Netty's default ciphers and protocols where null), built without Netty's
     * {@code JdkSslServerContext}. That class's static initialiser parses a key bundled in Netty to test a
     * trust-manager wrapper, through BouncyCastle whenever bcpkix is on the class path, as it is with autocert4j, which
     * instantiates BouncyCastle's whole JCA provider from its signed jar: 0.4-0.9 s of a fresh JVM's start-up on the
     * thread building the server's context (docs/startup.md), for a wrapper that only matters for client certificates,
     * which these contexts never ask for.
     */
    static SslContext jdkServerContext(KeyManager[] keyManagers, Provider jsse, ApplicationProtocolConfig apn) throws SSLException {
        return jdkServerContext(keyManagers, jsse, apn, null, null);
    }

    private static SslContext jdkServerContext(KeyManager[] keyManagers, Provider jsse, ApplicationProtocolConfig apn,
            String[] protocols, Iterable<String> ciphers) throws SSLException {
        try {
            SSLContext context = jsse == null ? SSLContext.getInstance("TLS") : SSLContext.getInstance("TLS", jsse);
            context.init(keyManagers, NoClientCertificates.managers(), null); // ClientAuth.NONE: never consulted
            // The builder's path (JdkSslServerContext's constructor) passes protocols and ciphers on to this constructor unchanged.
            return new JdkSslContext(context, false, ciphers, IdentityCipherSuiteFilter.INSTANCE, apn, ClientAuth.NONE, protocols, false);
        } catch (GeneralSecurityException e) {
            throw new SSLException("failed to initialize the server-side SSL context", e);
        }
    }

    /** A {@link KeyManagerFactory} handing out the AutoCert's live key manager: {@link AutoCert#keyManagerFactory()}. */
    public static KeyManagerFactory keyManagerFactory(AutoCert autoCert) {
        return autoCert.keyManagerFactory();
    }
}
