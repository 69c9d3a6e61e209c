package io.github.autocert4j.internal.tls;

import io.github.autocert4j.LocalAddressHint;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.util.Names;

import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The key manager behind every TLS listener: picks the live certificate by SNI at each handshake.
 *
 * <p>Why aliases carry a generation ({@code id#7}): a handshake chooses an alias and then asks for
 * its chain and key; a swap in between must not hand it a mismatched pair. The previous generation
 * stays resolvable, so in-flight handshakes finish with the pair they chose. It also makes
 * alias-keyed caches (Netty's OpenSSL key material cache) safe: a new certificate is a new alias.
 *
 * <p>A client without SNI gets the IP-address certificate of the local address it connected to
 * when that is known (an {@code SSLSocket}, or an engine marked with {@link LocalAddressHint}),
 * else the default certificate. With TLS-ALPN-01 enabled, a handshake that negotiated
 * {@code acme-tls/1} gets the pending challenge certificate for its SNI instead (JSSE negotiates
 * ALPN before it asks for a key).
 *
 * <p>Lookups are lock-free map reads; installs touch only the names of one certificate, so holding
 * 100,000 certificates costs nothing per handshake.
 */
public final class LiveKeyManager extends X509ExtendedKeyManager {

    /** One live certificate. Never prints its key. */
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

    private final ConcurrentHashMap<String, Entry> byName = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Entry> byAlias = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Entry> current = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Entry> previous = new ConcurrentHashMap<>();
    // Many leaves share one intermediate: keep a single parsed copy of each.
    private final ConcurrentHashMap<ByteBuffer, X509Certificate> intermediates = new ConcurrentHashMap<>();
    private final AtomicLong generation = new AtomicLong();
    // Aliases of removed certificates stay resolvable for a while, for handshakes that chose them
    // just before the removal; bounded, oldest dropped first.
    private final ArrayDeque<String> retired = new ArrayDeque<>();
    private static final int MAX_RETIRED = 1024;
    private volatile String defaultCertId;
    private static final String FALLBACK_ALIAS = "fallback#0";
    private static final Supplier<InetAddress> NO_ADDRESS = () -> null;
    // Made on first need only: a start with valid stored certificates never needs it, and on a first
    // start its key pair and certificate builder would delay the first order.
    private final String fallbackCertId;
    private final Supplier<CertBundle> fallbackFactory;
    private volatile Entry fallback;
    private volatile MissHandler missHandler;
    /** Told after every install, with the new leaf and whether sessions made before may now hold a certificate no longer served. */
    private volatile java.util.function.BiConsumer<X509Certificate, Boolean> onInstall;
    // Names (lower case; "" for handshakes without SNI) the self-signed fallback was served to: clients
    // that accepted it may hold sessions under it, to be dropped when their real certificate arrives.
    // Bounded: past the bound every install counts as replacing something.
    private final java.util.Set<String> fallbackServed = ConcurrentHashMap.newKeySet();
    private volatile boolean fallbackServedOverflow;
    private static final int MAX_FALLBACK_SERVED = 10_000;

    /** Returned by a {@link MissHandler} to make the handshake fail (no alias: the TLS stack sends an alert). */
    public static final Entry NO_CERTIFICATE = new Entry("none#0", "", null, new X509Certificate[0]);
    /** Non-null when TLS-ALPN-01 is enabled: handshakes that negotiated acme-tls/1 get its challenge certificate. */
    private volatile ChallengeCertificates tlsAlpn01;

    public LiveKeyManager(String defaultCertId, CertBundle fallback) {
        this(defaultCertId, () -> fallback);
    }

    public LiveKeyManager(String defaultCertId, Supplier<CertBundle> fallbackFactory) {
        this.defaultCertId = defaultCertId;
        this.fallbackCertId = defaultCertId;
        this.fallbackFactory = fallbackFactory;
    }

    private Entry fallback() {
        Entry f = fallback;
        if (f == null) {
            synchronized (fallbackFactory) {
                f = fallback;
                if (f == null) {
                    CertBundle b = fallbackFactory.get();
                    f = new Entry(FALLBACK_ALIAS, fallbackCertId, b.keyPair().getPrivate(), b.chain().toArray(new X509Certificate[0]));
                    byAlias.put(f.alias, f);
                    fallback = f;
                }
            }
        }
        return f;
    }

    private Entry byAlias(String alias) {
        if (alias == null) {
            return null;
        }
        Entry e = byAlias.get(alias);
        return e == null && alias.equals(FALLBACK_ALIAS) ? fallback() : e;
    }

    /** Makes {@code bundle} the certificate for {@code names}; new handshakes see it at once. */
    public void install(String certId, List<String> names, CertBundle bundle) {
        X509Certificate[] chain = bundle.chain().toArray(new X509Certificate[0]);
        for (int i = 1; i < chain.length; i++) {
            chain[i] = intern(chain[i]);
        }
        Entry entry = new Entry(certId + "#" + generation.incrementAndGet(), certId, bundle.keyPair().getPrivate(), chain);
        byAlias.put(entry.alias, entry);
        for (String name : names) {
            byName.put(name.toLowerCase(Locale.ROOT), entry);
        }
        Entry old = current.put(certId, entry);
        if (old != null) {
            Entry older = previous.put(certId, old);
            if (older != null) {
                byAlias.remove(older.alias);
            }
        }
        var listener = onInstall;
        if (listener != null) {
            boolean replaced = old != null || fallbackServedOverflow;
            if (!fallbackServed.isEmpty()) {
                for (String name : names) {
                    replaced |= fallbackServed.remove(name.toLowerCase(Locale.ROOT));
                }
                if (certId.equals(defaultCertId)) {
                    replaced |= fallbackServed.remove("");
                }
            }
            listener.accept(chain[0], replaced);
        }
    }

    public void setOnInstall(java.util.function.BiConsumer<X509Certificate, Boolean> listener) {
        this.onInstall = listener;
    }

    private void noteFallbackServed(String sni) {
        if (fallbackServed.size() >= MAX_FALLBACK_SERVED) {
            fallbackServedOverflow = true;
        } else {
            fallbackServed.add(sni == null ? "" : sni.toLowerCase(Locale.ROOT));
        }
    }

    /** The leaf of every live certificate (not the fallback). */
    public List<X509Certificate> servedLeaves() {
        return current.values().stream().map(e -> e.chain[0]).toList();
    }

    /**
     * Stops serving {@code certId}: its names fall back to the default certificate. Handshakes
     * that already chose its alias still finish.
     */
    public void remove(String certId, List<String> names) {
        for (String name : names) {
            byName.computeIfPresent(name.toLowerCase(Locale.ROOT), (n, e) -> e.certId.equals(certId) ? null : e);
        }
        Entry cur = current.remove(certId);
        Entry prev = previous.remove(certId);
        synchronized (retired) {
            for (Entry e : new Entry[] {prev, cur}) {
                if (e != null) {
                    retired.addLast(e.alias);
                }
            }
            while (retired.size() > MAX_RETIRED) {
                byAlias.remove(retired.removeFirst());
            }
        }
    }

    public void setMissHandler(MissHandler handler) {
        this.missHandler = handler;
    }

    /** The live entry covering {@code host} exactly or by wildcard, or null; never the default. */
    public Entry find(String host) {
        if (host == null) {
            return null;
        }
        String h = host.toLowerCase(Locale.ROOT);
        Entry e = byName.get(h);
        if (e != null) {
            return e;
        }
        int dot = h.indexOf('.');
        return dot > 0 ? byName.get("*" + h.substring(dot)) : null;
    }

    /** The certificate for clients without SNI or with a name nothing covers: the default certificate, else the fallback. */
    public Entry defaultEntry() {
        Entry e = defaultCertId == null ? null : current.get(defaultCertId);
        return e != null ? e : fallback();
    }

    /** Makes {@code certId} the certificate for clients without SNI or with an unknown name. */
    public void setDefault(String certId) {
        this.defaultCertId = certId;
    }

    /** The live chain for {@code certId}, or null if only the fallback is served. */
    public X509Certificate[] currentChain(String certId) {
        Entry e = current.get(certId);
        return e == null ? null : e.chain;
    }

    /** Selects the entry for a handshake: exact SNI name, then wildcard, then the default certificate, then the fallback. */
    public Entry select(String sniHost) {
        Entry e = find(sniHost);
        return e != null ? e : defaultEntry();
    }

    /**
     * Selects the entry for a handshake whose SNI is {@code sniHost} (null: none) and which arrived
     * at {@code localAddress} (null: unknown). Without SNI, an IP-address certificate for the local
     * address wins over the default certificate: clients connecting to an IP address send no SNI.
     */
    public Entry select(String sniHost, InetAddress localAddress) {
        if (sniHost == null && localAddress != null) {
            Entry e = byName.get(Names.normalize(localAddress.getHostAddress()));
            if (e != null) {
                return e;
            }
        }
        return select(sniHost);
    }

    /** Serves TLS-ALPN-01 challenge certificates from {@code responder} to handshakes that negotiated acme-tls/1. */
    public void answerTlsAlpn01(ChallengeCertificates responder) {
        this.tlsAlpn01 = responder;
    }

    /**
     * @param sni the handshake's SNI name, read once by the caller (null: none)
     * @param localAddress asked only when no certificate matches the name: the address the client connected to
     */
    private String chooseAlias(String keyType, String sni, Supplier<InetAddress> localAddress) {
        Entry e = find(sni);
        MissHandler handler = missHandler;
        if (e == null && sni != null && handler != null) {
            e = handler.onMiss(sni);
            if (e == NO_CERTIFICATE) {
                return null;
            }
        }
        if (e == null) {
            e = select(null, localAddress.get());
            if (e.alias.equals(FALLBACK_ALIAS)) {
                noteFallbackServed(sni);
            }
        }
        long now = System.nanoTime();
        if (now - e.lastUsedNanos > 1_000_000_000L) {
            e.lastUsedNanos = now; // at most one write a second: no cache-line ping-pong on busy certificates
        }
        return Handshakes.keyTypeMatches(keyType, e.key.getAlgorithm()) ? e.alias : null;
    }

    /**
     * The challenge certificate's alias if this handshake negotiated acme-tls/1 (JSSE has selected
     * ALPN before it asks for a key, in TLS 1.2 and 1.3), else null: not a validation handshake.
     * A validation handshake for a name without a pending challenge gets no certificate at all.
     */
    private String challengeAlias(String keyType, String applicationProtocol, SSLSession handshake) {
        ChallengeCertificates responder = tlsAlpn01;
        if (responder == null || !ChallengeCertificates.ACME_TLS_1.equals(applicationProtocol)) {
            return null;
        }
        String alias = responder.chooseAlias(keyType, Handshakes.sniHost(handshake), true);
        return alias == null ? "" : alias;
    }

    private X509Certificate intern(X509Certificate cert) {
        try {
            return intermediates.computeIfAbsent(ByteBuffer.wrap(cert.getEncoded()), k -> cert);
        } catch (CertificateEncodingException e) {
            return cert;
        }
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        if (engine == null) {
            return chooseAlias(keyType, null, NO_ADDRESS);
        }
        SSLSession handshake = engine.getHandshakeSession();
        if (tlsAlpn01 != null) {
            String challenge = challengeAlias(keyType, Handshakes.applicationProtocol(engine), handshake);
            if (challenge != null) {
                return challenge.isEmpty() ? null : challenge;
            }
        }
        String sni = Handshakes.sniHost(handshake);
        return chooseAlias(keyType, sni, sni == null ? () -> LocalAddressHint.of(engine) : NO_ADDRESS);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        SSLSession handshake = socket instanceof SSLSocket s ? s.getHandshakeSession() : null;
        if (tlsAlpn01 != null && socket instanceof SSLSocket s) {
            String challenge = challengeAlias(keyType, Handshakes.applicationProtocol(s), handshake);
            if (challenge != null) {
                return challenge.isEmpty() ? null : challenge;
            }
        }
        return chooseAlias(keyType, Handshakes.sniHost(handshake), socket == null ? NO_ADDRESS : socket::getLocalAddress);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Entry e = byAlias(alias);
        if (e == null) {
            X509Certificate c = challengeSource(alias) == null ? null : challengeSource(alias).certificate(alias);
            return c == null ? null : new X509Certificate[] {c};
        }
        return e.chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Entry e = byAlias(alias);
        if (e == null) {
            ChallengeCertificates source = challengeSource(alias);
            return source == null ? null : source.key(alias);
        }
        return e.key;
    }

    /** The challenge source if {@code alias} names a challenge certificate, else null. */
    private ChallengeCertificates challengeSource(String alias) {
        ChallengeCertificates responder = tlsAlpn01;
        return responder == null || alias == null || !alias.startsWith(ChallengeCertificates.ALIAS_PREFIX) ? null : responder;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return current.values().stream().filter(e -> Handshakes.keyTypeMatches(keyType, e.key.getAlgorithm()))
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
        return "LiveKeyManager[certificates=" + current.size() + "]";
    }
}
