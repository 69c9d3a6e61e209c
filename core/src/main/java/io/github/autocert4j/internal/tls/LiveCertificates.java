package io.github.autocert4j.internal.tls;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.tls.LiveKeyManager.Entry;
import io.github.autocert4j.internal.util.Names;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The certificates being served, by name and by alias, with the default certificate and the
 * self-signed fallback (split out of {@link LiveKeyManager}, issue 19). Two sources of the
 * {@link SourceChain} read it: {@link #named()} (exact name, then wildcard: configured certificates
 * and loaded on-demand ones) and {@link #byDefault()} (the IP-address certificate of the local
 * address for a client without SNI, else the default certificate, else the fallback).
 *
 * <p>Why aliases carry a generation ({@code id#7}): a handshake chooses an alias and then asks for
 * its chain and key; a swap in between must not hand it a mismatched pair. The previous generation
 * stays resolvable, so in-flight handshakes finish with the pair they chose. It also makes
 * alias-keyed caches (Netty's OpenSSL key material cache) safe: a new certificate is a new alias.
 *
 * <p>Lookups are lock-free map reads; installs touch only the names of one certificate, so holding
 * 100,000 certificates costs nothing per handshake.
 */
public final class LiveCertificates {
    static final String FALLBACK_ALIAS = "fallback#0";
    private static final int MAX_RETIRED = 1024;
    private static final int MAX_FALLBACK_SERVED = 10_000;

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
    private volatile String defaultCertId;
    // Made on first need only: a start with valid stored certificates never needs it, and on a first
    // start its key pair and certificate builder would delay the first order.
    private final String fallbackCertId;
    private final Supplier<CertBundle> fallbackFactory;
    private volatile Entry fallback;
    /** Told after every install, with the new leaf and whether sessions made before may now hold a certificate no longer served. */
    private volatile BiConsumer<X509Certificate, Boolean> onInstall;
    // Names (lower case; "" for handshakes without SNI) the self-signed fallback was served to: clients
    // that accepted it may hold sessions under it, to be dropped when their real certificate arrives.
    // Bounded: past the bound every install counts as replacing something.
    private final Set<String> fallbackServed = ConcurrentHashMap.newKeySet();
    private volatile boolean fallbackServedOverflow;

    private final CertificateSource named = h -> find(h.sni());
    private final CertificateSource byDefault = h -> {
        Entry e = select(null, h.sni() == null ? h.localAddress() : null);
        if (e.alias.equals(FALLBACK_ALIAS)) {
            noteFallbackServed(h.sni());
        }
        return e;
    };

    public LiveCertificates(String defaultCertId, Supplier<CertBundle> fallbackFactory) {
        this.defaultCertId = defaultCertId;
        this.fallbackCertId = defaultCertId;
        this.fallbackFactory = fallbackFactory;
    }

    /** The source that serves a live certificate covering the SNI name exactly or by wildcard (never the default). */
    public CertificateSource named() {
        return named;
    }

    /** The last source: the local address's IP-address certificate (no SNI), else the default certificate, else the fallback. Never null. */
    public CertificateSource byDefault() {
        return byDefault;
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

    /** The entry an alias names (current, previous or recently retired generation, or the fallback), or null. */
    Entry byAlias(String alias) {
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

    public void setOnInstall(BiConsumer<X509Certificate, Boolean> listener) {
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

    /** The live entries (not the fallback). */
    java.util.Collection<Entry> currentEntries() {
        return current.values();
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

    /** Exact SNI name, then wildcard, then the default certificate, then the fallback. */
    public Entry select(String sniHost) {
        Entry e = find(sniHost);
        return e != null ? e : defaultEntry();
    }

    /**
     * {@link #select(String)}, except that without SNI an IP-address certificate for
     * {@code localAddress} (null: unknown) wins over the default certificate: clients connecting
     * to an IP address send no SNI.
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

    private X509Certificate intern(X509Certificate cert) {
        try {
            return intermediates.computeIfAbsent(ByteBuffer.wrap(cert.getEncoded()), k -> cert);
        } catch (CertificateEncodingException e) {
            return cert;
        }
    }

    int size() {
        return current.size();
    }
}
