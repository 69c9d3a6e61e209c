package io.github.autocert4j.internal.tls;

import io.github.autocert4j.LocalAddressHint;
import io.github.autocert4j.internal.store.CertBundle;

import java.net.InetAddress;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The key manager behind every TLS listener: at each handshake it asks its {@link SourceChain} in
 * order (TLS-ALPN-01 challenge certificates, the live certificates, on-demand TLS, the default and
 * fallback) and serves the first answer whose key fits the key type asked for. The live
 * certificates themselves are held by {@link LiveCertificates}; the methods that install, remove
 * and look them up are passed through to it.
 *
 * <p>A client without SNI gets the IP-address certificate of the local address it connected to
 * when that is known (an {@code SSLSocket}, or an engine marked with {@link LocalAddressHint}),
 * else the default certificate. With TLS-ALPN-01 enabled, a handshake that negotiated
 * {@code acme-tls/1} gets the pending challenge certificate for its SNI instead (JSSE negotiates
 * ALPN before it asks for a key).
 */
public final class LiveKeyManager extends X509ExtendedKeyManager {

    /** One certificate a source serves. Never prints its key. */
    public static final class Entry {
        public final String alias;
        public final String certId;
        public final PrivateKey key;
        public final X509Certificate[] chain;
        /** System.nanoTime() of the last handshake that chose it (least-recently-used eviction of on-demand certificates). */
        public volatile long lastUsedNanos = System.nanoTime();

        public Entry(String alias, String certId, PrivateKey key, X509Certificate[] chain) {
            this.alias = alias;
            this.certId = certId;
            this.key = key;
            this.chain = chain;
        }

        @Override
        public String toString() {
            return "Entry[" + alias + (chain.length == 0 ? "" : ", serial=" + chain[0].getSerialNumber().toString(16)) + "]";
        }
    }

    /** Returned by a {@link CertificateSource} to make the handshake fail (no alias: the TLS stack sends an alert). */
    public static final Entry NO_CERTIFICATE = new Entry("none#0", "", null, new X509Certificate[0]);

    private final LiveCertificates live;
    private volatile SourceChain sources;

    public LiveKeyManager(String defaultCertId, CertBundle fallback) {
        this(defaultCertId, () -> fallback);
    }

    /** A key manager asking the live certificates, then the default and fallback, until {@link #useSources} says otherwise. */
    public LiveKeyManager(String defaultCertId, Supplier<CertBundle> fallbackFactory) {
        this.live = new LiveCertificates(defaultCertId, fallbackFactory);
        this.sources = SourceChain.builder().then("live", live.named()).then("default", live.byDefault()).build();
    }

    /** The live certificates, which {@link LiveCertificates#named()} and {@link LiveCertificates#byDefault()} serve from. */
    public LiveCertificates certificates() {
        return live;
    }

    /** Makes {@code chain} the sources asked at every handshake (set once, when the manager is assembled). */
    public void useSources(SourceChain chain) {
        this.sources = chain;
    }

    /** The sources asked at every handshake, in order. */
    public SourceChain sources() {
        return sources;
    }

    // ---------------------------------------------------------------- the live certificates (see LiveCertificates)

    /** Makes {@code bundle} the certificate for {@code names}; new handshakes see it at once. */
    public void install(String certId, List<String> names, CertBundle bundle) {
        live.install(certId, names, bundle);
    }

    public void setOnInstall(BiConsumer<X509Certificate, Boolean> listener) {
        live.setOnInstall(listener);
    }

    /** The leaf of every live certificate (not the fallback). */
    public List<X509Certificate> servedLeaves() {
        return live.servedLeaves();
    }

    /** Stops serving {@code certId}; handshakes that already chose its alias still finish. */
    public void remove(String certId, List<String> names) {
        live.remove(certId, names);
    }

    /** The live entry covering {@code host} exactly or by wildcard, or null; never the default. */
    public Entry find(String host) {
        return live.find(host);
    }

    /** The default certificate, else the fallback. */
    public Entry defaultEntry() {
        return live.defaultEntry();
    }

    /** Makes {@code certId} the certificate for clients without SNI or with an unknown name. */
    public void setDefault(String certId) {
        live.setDefault(certId);
    }

    /** The live chain for {@code certId}, or null if only the fallback is served. */
    public X509Certificate[] currentChain(String certId) {
        return live.currentChain(certId);
    }

    /** Exact SNI name, then wildcard, then the default certificate, then the fallback (no on-demand, no challenge). */
    public Entry select(String sniHost) {
        return live.select(sniHost);
    }

    /** {@link #select(String)} where a client without SNI that arrived at {@code localAddress} gets its IP-address certificate. */
    public Entry select(String sniHost, InetAddress localAddress) {
        return live.select(sniHost, localAddress);
    }

    // ---------------------------------------------------------------- the key manager

    private String chooseAlias(Handshake handshake) {
        Entry e = sources.select(handshake);
        if (e == null || e == NO_CERTIFICATE) {
            return null;
        }
        long now = System.nanoTime();
        if (now - e.lastUsedNanos > 1_000_000_000L) {
            e.lastUsedNanos = now; // at most one write a second: no cache-line ping-pong on busy certificates
        }
        return Handshakes.keyTypeMatches(handshake.keyType(), e.key.getAlgorithm()) ? e.alias : null;
    }

    private Entry byAlias(String alias) {
        Entry e = live.byAlias(alias);
        return e != null || alias == null ? e : sources.byAlias(alias);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        String sni = engine == null ? null : Handshakes.sniHost(engine.getHandshakeSession());
        return chooseAlias(Handshake.of(keyType, sni, engine));
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        String sni = socket instanceof SSLSocket s ? Handshakes.sniHost(s.getHandshakeSession()) : null;
        return chooseAlias(Handshake.of(keyType, sni, socket));
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Entry e = byAlias(alias);
        return e == null ? null : e.chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Entry e = byAlias(alias);
        return e == null ? null : e.key;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return live.currentEntries().stream().filter(e -> Handshakes.keyTypeMatches(keyType, e.key.getAlgorithm()))
                .map(e -> e.alias).toArray(String[]::new);
    }

    // This key manager only serves; it never authenticates as a TLS client.
    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return null;
    }

    @Override
    public String toString() {
        return "LiveKeyManager[certificates=" + live.size() + "]";
    }
}
