package io.github.autocert4j;

import io.github.autocert4j.internal.cluster.OwnAccounts;
import io.github.autocert4j.internal.cluster.PeerChallenges;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.tls.ChallengeCertificates;
import io.github.autocert4j.internal.tls.Handshakes;
import io.github.autocert4j.internal.tls.SelfSigned;
import io.github.autocert4j.internal.util.Names;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS-ALPN-01 challenge solver (RFC 8737, and RFC 8738 for IP addresses): proves a name on the
 * host's own TLS port, for hosts whose port 80 the CA cannot reach. A validation handshake offers
 * the ALPN protocol {@value #ACME_TLS_1} only; it gets a self-signed certificate for the name being
 * validated that carries the key authorization's SHA-256 in a critical {@code id-pe-acmeIdentifier}
 * extension, negotiates {@value #ACME_TLS_1}, and is closed. Every other handshake is untouched.
 *
 * <p>How a TLS stack routes those handshakes here: {@code AutoCert.sslContext()} (JSSE: Jetty,
 * Tomcat) selects {@value #ACME_TLS_1} when offered and its key manager serves this responder's
 * certificate for such handshakes; the Netty adapter's {@code AutoCertTlsHandler} reads the
 * ClientHello and hands such handshakes to a small TLS context built on {@link #keyManager()}.
 * Enable it with {@code AutoCertBuilder.challengeTypes("tls-alpn-01")}.
 *
 * <p>In a cluster (servers sharing one {@link CertStore}) each pending key authorization is also
 * published through the store, so whichever server the CA's validation connection reaches can
 * answer it; store lookups are cached and bounded in rate, like {@link Http01Responder}'s.
 *
 * <pre>{@code
 * AutoCert autoCert = AutoCert.builder()
 *         .challengeTypes("tls-alpn-01")              // no port 80 needed
 *         ...
 *         .build();
 * TlsAlpn01Responder alpn = autoCert.tlsAlpn01();
 * boolean validating = alpn.isPending("example.com");
 * }</pre>
 */
public final class TlsAlpn01Responder implements ChallengeSolver {
    private static final Logger LOG = LoggerFactory.getLogger(TlsAlpn01Responder.class);

    /** The ALPN protocol name a TLS-ALPN-01 validation offers (RFC 8737 §6.2). */
    public static final String ACME_TLS_1 = "acme-tls/1";
    /** The id-pe-acmeIdentifier extension (RFC 8737 §6.1), as a string: BouncyCastle loads only when a challenge is created. */
    static final String ACME_IDENTIFIER_OID = "1.3.6.1.5.5.7.1.31";
    /** Key aliases of challenge certificates start with this, so a key manager can tell them apart. */
    static final String ALIAS_PREFIX = ChallengeCertificates.ALIAS_PREFIX;


    /** One challenge certificate with its key. Never prints the key. */
    static final class Answer {
        final String identifier;
        final String keyAuthorization;
        final String alias;
        final PrivateKey key;
        final X509Certificate certificate;

        private Answer(String identifier, String keyAuthorization, String alias, PrivateKey key, X509Certificate certificate) {
            this.identifier = identifier;
            this.keyAuthorization = keyAuthorization;
            this.alias = alias;
            this.key = key;
            this.certificate = certificate;
        }

        @Override
        public String toString() {
            return "Answer[" + identifier + ", " + alias + "]";
        }
    }

    private final CertStore shared;
    private final ConcurrentHashMap<String, Answer> pending = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Answer> byAlias = new ConcurrentHashMap<>();
    private final PeerChallenges<Answer> peers; // null without a shared store
    private final AtomicLong aliases = new AtomicLong();
    private final AtomicLong served = new AtomicLong();
    private final X509ExtendedKeyManager keyManager = new ChallengeKeyManager();

    /** A responder answering only what it was given itself. {@code AutoCert} creates one for you: see {@code AutoCert#tlsAlpn01()}. */
    public TlsAlpn01Responder() {
        this(null);
    }

    /** A responder that also publishes through, and looks up in, {@code shared} (null: this process only). */
    TlsAlpn01Responder(CertStore shared) {
        this(shared, null);
    }

    /** The same; answers stored longer ago than {@code maxAge} (null: no limit) are an abandoned order's and never served. */
    TlsAlpn01Responder(CertStore shared, java.time.Duration maxAge) {
        this(shared, maxAge, null);
    }

    /**
     * The same, making a challenge certificate from a peer's answer only for one of {@code own} accounts
     * (null: any, for tests): the acmeIdentifier digest is built from the token and the own thumbprint,
     * and an answer planted in the store for another account yields no certificate.
     */
    TlsAlpn01Responder(CertStore shared, java.time.Duration maxAge, OwnAccounts own) {
        this.shared = shared;
        // A peer's challenge found in the store becomes a certificate of this server's, resolvable by its alias while cached.
        this.peers = shared == null ? null : new PeerChallenges<>(shared, StoreLayout::tlsAlpn01Challenge,
                (identifier, bytes) -> {
                    String stored = new String(bytes, StandardCharsets.US_ASCII).trim();
                    String keyAuthorization = own == null ? stored : own.answerFor(null, stored, StoreLayout.tlsAlpn01Challenge(identifier));
                    return keyAuthorization == null ? null : create(identifier, keyAuthorization);
                },
                a -> byAlias.put(a.alias, a), a -> byAlias.remove(a.alias, a), "autocert4j-tls-alpn-lookup", PeerChallenges.CACHE_ENTRIES, maxAge);
    }

    @Override
    public String challengeType() {
        return "tls-alpn-01";
    }

    /**
     * Creates the challenge certificate for {@code challenge.identifier()} and serves it from now
     * on, here and (in a cluster) on every server sharing the store.
     *
     * @throws UncheckedIOException if the shared store cannot be written (the order then fails and is retried)
     */
    @Override
    public void present(Challenge challenge) {
        Answer answer = presentHere(challenge);
        if (shared != null) {
            try {
                shared.store(StoreLayout.tlsAlpn01Challenge(answer.identifier), challenge.keyAuthorization().getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                withdraw(answer.identifier, answer.keyAuthorization);
                throw new UncheckedIOException("cannot publish the TLS-ALPN-01 challenge to the other servers through the store: "
                        + e.getMessage(), e);
            }
        }
    }

    /** Stops serving the challenge certificate of {@code challenge}, here and in the shared store. */
    @Override
    public void cleanUp(Challenge challenge) {
        String identifier = Names.normalize(challenge.identifier());
        withdraw(identifier, challenge.keyAuthorization());
        if (shared != null) {
            try {
                shared.delete(StoreLayout.tlsAlpn01Challenge(identifier));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot withdraw the TLS-ALPN-01 challenge from the store: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Whether a validation handshake with SNI {@code serverName} would be answered from this
     * server's memory right now (a pending challenge of this server, or one of a peer already
     * looked up). Never blocks.
     */
    public boolean isPending(String serverName) {
        return local(Names.acmeIdentifier(serverName)) != null;
    }

    /**
     * Whether a validation handshake with SNI {@code serverName} can be answered, looking in the
     * shared store too when this server has no such challenge. Never blocks the caller: completes
     * at once from memory, else after a bounded store lookup on the responder's own threads. For
     * event-loop servers that route validation handshakes themselves (the Netty adapter).
     */
    public CompletableFuture<Boolean> lookup(String serverName) {
        String identifier = Names.acmeIdentifier(serverName);
        if (identifier == null) {
            return CompletableFuture.completedFuture(false);
        }
        boolean known = local(identifier) != null;
        if (known || peers == null) {
            return CompletableFuture.completedFuture(known);
        }
        return peers.loadAsync(identifier).thenApply(Optional::isPresent);
    }

    /**
     * A key manager that serves, for each handshake, the challenge certificate for the handshake's
     * SNI (from memory: call {@link #lookup} first for a peer's challenge), and nothing for any other
     * name. Meant for a TLS context that only ever sees validation handshakes.
     */
    public X509ExtendedKeyManager keyManager() {
        return keyManager;
    }

    /** How many validation handshakes were given a challenge certificate since start. */
    public long servedCount() {
        return served.get();
    }

    /** The answer for an SNI: memory first, then (if {@code mayBlock}) a bounded store lookup. */
    Answer answer(String serverName, boolean mayBlock) {
        String identifier = Names.acmeIdentifier(serverName);
        if (identifier == null) {
            return null;
        }
        Answer a = local(identifier);
        if (a == null && mayBlock && peers != null) {
            a = peers.load(identifier).orElse(null);
        }
        return a;
    }

    Answer byAlias(String alias) {
        return alias == null ? null : byAlias.get(alias);
    }

    /**
     * The alias of the challenge certificate for a validation handshake with SNI {@code sni},
     * counted as served; null if there is none or it is not of {@code keyType}.
     *
     * @param mayBlock whether a peer's challenge may be read from the store now (else memory only)
     */
    String chooseAlias(String keyType, String sni, boolean mayBlock) {
        Answer a = answer(sni, mayBlock);
        if (a == null || !Handshakes.keyTypeMatches(keyType, a.key.getAlgorithm())) {
            return null;
        }
        served.incrementAndGet();
        return a.alias;
    }

    /** These challenge certificates as the key manager asks for them (first in its chain of sources). */
    ChallengeCertificates certificates() {
        return new ChallengeCertificates() {
            @Override
            public String chooseAlias(String keyType, String sni, boolean mayBlock) {
                return TlsAlpn01Responder.this.chooseAlias(keyType, sni, mayBlock);
            }

            @Override
            public PrivateKey key(String alias) {
                Answer a = byAlias(alias);
                return a == null ? null : a.key;
            }

            @Override
            public X509Certificate certificate(String alias) {
                Answer a = byAlias(alias);
                return a == null ? null : a.certificate;
            }
        };
    }

    /** A view that answers in this process only, publishing nothing to the store (dry runs). */
    ChallengeSolver localOnly() {
        TlsAlpn01Responder self = this;
        return new ChallengeSolver() {
            @Override
            public String challengeType() {
                return self.challengeType();
            }

            @Override
            public void present(Challenge challenge) {
                presentHere(challenge);
            }

            @Override
            public void cleanUp(Challenge challenge) {
                withdraw(Names.normalize(challenge.identifier()), challenge.keyAuthorization());
            }
        };
    }

    /** Creates the challenge certificate and serves it from this process's memory. */
    private Answer presentHere(Challenge challenge) {
        Answer answer = create(Names.normalize(challenge.identifier()), challenge.keyAuthorization());
        pending.put(answer.identifier, answer);
        byAlias.put(answer.alias, answer);
        return answer;
    }

    /** Stops the lookup threads (called by {@code AutoCert.close()}). */
    void close() {
        if (peers != null) {
            peers.close();
        }
    }

    private void withdraw(String identifier, String keyAuthorization) {
        Answer a = pending.get(identifier);
        if (a != null && a.keyAuthorization.equals(keyAuthorization) && pending.remove(identifier, a)) {
            byAlias.remove(a.alias, a);
        }
        if (peers != null) {
            peers.forget(identifier);
        }
    }

    private Answer local(String identifier) {
        if (identifier == null) {
            return null;
        }
        Answer a = pending.get(identifier);
        if (a != null || peers == null) {
            return a;
        }
        Optional<Answer> cached = peers.cached(identifier);
        return cached == null ? null : cached.orElse(null);
    }

    /** The challenge certificate of RFC 8737 §3: one subjectAltName, the critical acmeIdentifier extension. */
    private Answer create(String identifier, String keyAuthorization) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(keyAuthorization.getBytes(StandardCharsets.US_ASCII));
            CertBundle bundle = SelfSigned.buildWithOctetStringExtension("CN=ACME TLS-ALPN-01 challenge", List.of(identifier), Instant.now(),
                    Duration.ofDays(7), ACME_IDENTIFIER_OID, digest);
            return new Answer(identifier, keyAuthorization, ALIAS_PREFIX + aliases.incrementAndGet(), bundle.keyPair().getPrivate(),
                    bundle.leaf());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create the TLS-ALPN-01 challenge certificate for " + identifier, e);
        }
    }

    @Override
    public String toString() {
        return "TlsAlpn01Responder[pending=" + pending.size() + (shared == null ? "" : ", shared") + "]";
    }

    /** Serves challenge certificates by SNI; for contexts that only see validation handshakes. */
    private final class ChallengeKeyManager extends X509ExtendedKeyManager {
        private String choose(String keyType, SSLSession handshake) {
            return chooseAlias(keyType, Handshakes.sniHost(handshake), false);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return choose(keyType, engine == null ? null : engine.getHandshakeSession());
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return choose(keyType, socket instanceof SSLSocket s ? s.getHandshakeSession() : null);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            Answer a = byAlias(alias);
            return a == null ? null : new X509Certificate[] {a.certificate};
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            Answer a = byAlias(alias);
            return a == null ? null : a.key;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return pending.values().stream().map(a -> a.alias).toArray(String[]::new);
        }

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
    }
}
