package io.github.autocert4j;

import io.github.autocert4j.internal.acme.AcmeTlsAlpnContext;
import io.github.autocert4j.internal.assembly.AutoCertMBean;
import io.github.autocert4j.internal.config.Config;
import io.github.autocert4j.internal.assembly.DryRun;
import io.github.autocert4j.internal.assembly.Wiring;
import io.github.autocert4j.internal.cluster.OwnAccounts;
import io.github.autocert4j.internal.renewal.Services;
import io.github.autocert4j.internal.renewal.ManagedCertificate;
import io.github.autocert4j.internal.store.LeftoverSweep;
import io.github.autocert4j.internal.tls.LiveKeyManager;
import io.github.autocert4j.internal.tls.LiveKeyManagerFactory;

import java.net.URI;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.X509ExtendedKeyManager;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Obtains, stores, renews and serves publicly trusted certificates inside a JVM server.
 *
 * <p>Build one, hand its key material to the host's HTTPS listener and its {@link #http01()}
 * responder to the host's plain-HTTP listener (the Netty and Servlet adapters do both), then
 * {@link #start()} it. The TLS listener works from the first second: a valid stored certificate
 * is served at once, otherwise a self-signed fallback until the CA has issued one. Renewals
 * happen in the background and take effect for new connections without a restart. Certificates
 * can be added and removed while it runs.
 *
 * <pre>{@code
 * AutoCert autoCert = AutoCert.builder()
 *         .directory(AutoCert.LETS_ENCRYPT_PRODUCTION)
 *         .agreeToTermsOfService(true)
 *         .email("ops@example.com")
 *         .certificate("example.com", "www.example.com")
 *         .storageDirectory(Path.of("/var/lib/myapp/certs"))
 *         .build();
 * Http01Responder acme = autoCert.http01(); // for the port-80 listener
 * autoCert.start();                         // once port 80 answers (HTTP-01); with TLS-ALPN-01 first, once 443 does
 * SSLContext tls = autoCert.sslContext();   // for the HTTPS listener
 * }</pre>
 */
public final class AutoCert implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AutoCert.class);

    /** Let's Encrypt production. Rate limits apply: test against staging first. */
    public static final URI LETS_ENCRYPT_PRODUCTION = URI.create("https://acme-v02.api.letsencrypt.org/directory");
    /** Let's Encrypt staging: untrusted certificates, generous rate limits. */
    public static final URI LETS_ENCRYPT_STAGING = URI.create("https://acme-staging-v02.api.letsencrypt.org/directory");

    private final Config config;
    /** The running parts assembled from the configuration; this facade delegates to them. */
    private final Wiring wiring;
    private final Services services;
    private final Http01Responder http01;
    private final TlsAlpn01Responder tlsAlpn01;
    private final AtomicBoolean started = new AtomicBoolean();
    /** The builder's {@code checkAccess()} of the store; still running or failed at {@link #start()}: the store is down. */
    private volatile CompletableFuture<Void> storeProbe;
    private volatile boolean closed;
    private final List<javax.management.ObjectName> mbeans = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile SSLContext sslContext;
    private final TlsSessions tlsSessions;

    AutoCert(Config config) {
        this.config = config;
        java.time.Duration challengeMaxAge = LeftoverSweep.challengeMaxAge(config.policy());
        // Peers' challenge answers are served only for this manager's own ACME accounts (docs/security.md).
        OwnAccounts own = new OwnAccounts(config.store());
        this.http01 = new Http01Responder(config.store(), challengeMaxAge, own);
        this.tlsAlpn01 = new TlsAlpn01Responder(config.store(), challengeMaxAge, own);
        this.wiring = new Wiring(config, solvers(http01, tlsAlpn01), config.tlsAlpn01Enabled() ? tlsAlpn01.certificates() : null,
                challengeMaxAge);
        this.services = wiring.services();
        wiring.acmeActions().accounts().forEach(a -> own.addCa(a.directory(), a::onKeyChange)); // a key rollover: at once
        this.tlsSessions = new TlsSessions(config.clock(), wiring.keyManager()::servedLeaves, services.executor());
        wiring.keyManager().setOnInstall(tlsSessions::certificateInstalled);
    }

    /** Starts configuring a manager. */
    public static AutoCertBuilder builder() {
        return new AutoCertBuilder();
    }

    /**
     * Serves every valid stored certificate at once (no CA contact), then checks each certificate
     * in the background: missing or due certificates are ordered. Returns without waiting for the
     * CA, and without waiting for a store that is down or does not answer (a database outage): the
     * self-signed fallback is served meanwhile and the stored certificates are loaded within
     * seconds of the store answering, without an order (see the internal {@code StartupLoad}). Calling it again
     * does nothing.
     */
    public AutoCert start() {
        if (closed) {
            throw new IllegalStateException("this AutoCert is closed; build a new one");
        }
        if (!started.compareAndSet(false, true)) {
            return this;
        }
        wiring.start(storeProbe);
        return this;
    }

    /** The responder the host's plain-HTTP listener consults for {@code /.well-known/acme-challenge/}. */
    public Http01Responder http01() {
        return http01;
    }

    /**
     * The TLS-ALPN-01 responder, used when {@code challengeTypes(...)} lists {@code "tls-alpn-01"}:
     * {@link #sslContext()} and {@link #keyManager()} then answer validation handshakes on their
     * own; the Netty adapter routes them to it. See {@link TlsAlpn01Responder}.
     */
    public TlsAlpn01Responder tlsAlpn01() {
        return tlsAlpn01;
    }

    /** certbot's {@code renew --dry-run} against Let's Encrypt staging: see {@link #dryRun(AcmeCa)}. */
    public CompletableFuture<DryRunResult> dryRun() {
        return dryRun(AcmeCa.of(LETS_ENCRYPT_STAGING));
    }

    /**
     * Proves that renewal would work, without touching anything live: orders a certificate for each
     * configured certificate's names from the test CA {@code testCa}, answering the challenges
     * through this manager's own responders (so the test CA reaches the host's real ports), verifies
     * what it issues and discards it. The account at the test CA is created once and kept in the
     * store under the test CA's id, so later dry runs reuse it; nothing else in the store changes and
     * the live certificates stay as they are. The future completes with one outcome per
     * certificate, never exceptionally for a failed order (only for an unusable {@code testCa}).
     */
    public CompletableFuture<DryRunResult> dryRun(AcmeCa testCa) {
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("this AutoCert is closed"));
        }
        List<List<String>> names = wiring.certificates().all().stream().map(m -> m.names).toList();
        return DryRun.start(testCa, config, names, solvers(http01.localOnly(), tlsAlpn01.localOnly()));
    }

    /** Every challenge solver, an added one before the built-in of its type (so it replaces it). */
    private List<ChallengeSolver> solvers(ChallengeSolver http, ChallengeSolver tlsAlpn) {
        List<ChallengeSolver> solvers = new ArrayList<>(config.extraSolvers());
        solvers.add(http);
        solvers.add(tlsAlpn);
        return solvers;
    }

    /**
     * The live key manager: picks the current certificate by SNI at every handshake. Hand it to any
     * TLS stack that accepts a {@code KeyManager} (Netty's {@code SslContextBuilder}, Jetty, Tomcat).
     */
    public X509ExtendedKeyManager keyManager() {
        return services.keyManager();
    }

    /**
     * A {@link javax.net.ssl.KeyManagerFactory} that hands out {@link #keyManager()}, for TLS stacks
     * that take a factory (Reactor Netty's {@code SslContextBuilder.forServer(KeyManagerFactory)},
     * Vert.x and Quarkus key-cert options). Its {@code init} methods do nothing: the key material
     * lives in this manager.
     */
    public javax.net.ssl.KeyManagerFactory keyManagerFactory() {
        return new LiveKeyManagerFactory(services.keyManager());
    }

    /**
     * Where TLS listeners register so that no resumed session serves a replaced or expired
     * certificate ({@link TlsSessions}); the adapters and {@link #sslContext()} register theirs.
     */
    public TlsSessions tlsSessions() {
        return tlsSessions;
    }

    /**
     * The certificate a handshake with SNI {@code serverName} (null: no SNI) is served right now:
     * exact name, then wildcard, then the first configured certificate, then the self-signed fallback.
     */
    public ServedCertificate servedCertificate(String serverName) {
        LiveKeyManager.Entry e = services.keyManager().select(serverName);
        return new ServedCertificate(e.alias, e.key, List.of(e.chain));
    }

    /**
     * Completes with true once the handshake for {@code serverName} can proceed with the live key
     * material: at once for a name a configured certificate covers (exactly or by its wildcard; its
     * certificate, or the self-signed fallback until it is issued, never an on-demand order);
     * for any other name (with {@link AutoCertBuilder#onDemand on-demand TLS}) after it was
     * loaded from the store or obtained, if the application allows it and the limits admit it.
     * Completes with false when none may or can be. Never blocks: event-loop servers (the Netty
     * adapter) call it before the handshake; thread-per-connection servers need not (their
     * handshake thread waits inside {@link #keyManager()}, bounded by {@link OnDemand#handshakeWait()}).
     */
    public CompletableFuture<Boolean> certificateReady(String serverName) {
        return wiring.certificateReady(serverName);
    }

    /**
     * The challenge types this manager answers, most preferred first (as given to
     * {@code AutoCertBuilder.challengeTypes}, else derived from the configured solvers): adapters check that their
     * server can answer them (a server that cannot negotiate {@code acme-tls/1} refuses a
     * TLS-ALPN-01-only configuration at start instead of failing every order).
     */
    public List<String> challengeTypes() {
        return config.challengeTypes();
    }

    /** The on-demand configuration, if on-demand TLS is enabled. */
    public Optional<OnDemand> onDemand() {
        return Optional.ofNullable(config.onDemand());
    }

    /**
     * A JSSE {@code SSLContext} whose server side always presents the live certificates; with
     * TLS-ALPN-01 enabled its engines also select {@code acme-tls/1} when a validation offers it.
     */
    public SSLContext sslContext() {
        SSLContext ctx = sslContext;
        if (ctx == null) {
            synchronized (this) {
                if (sslContext == null) {
                    try {
                        // A new JDK context after every swap: no session or ticket resumes into a replaced certificate.
                        SSLContext c = tlsSessions.newRenewingContext();
                        c.init(new KeyManager[] {keyManager()}, null, null);
                        // TLS-ALPN-01: JSSE must select acme-tls/1 for the key manager to see it.
                        sslContext = config.tlsAlpn01Enabled() ? AcmeTlsAlpnContext.wrap(c) : c;
                    } catch (GeneralSecurityException e) {
                        throw new IllegalStateException("this JVM has no TLS SSLContext", e);
                    }
                }
                ctx = sslContext;
            }
        }
        return ctx;
    }

    /**
     * Orders a new certificate for the managed certificate that covers {@code name} now, whatever
     * its expiry, and swaps it in. The future completes with the new status, or exceptionally with
     * an {@link IssuanceException} (the old certificate then stays live, and the renewal is
     * retried along the backoff schedule until it succeeds). Concurrent calls share one order.
     * Call {@link #start()} first.
     */
    public CompletableFuture<CertificateStatus> renewNow(String name) {
        ManagedCertificate m = managed(name);
        if (m == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no managed certificate covers '" + name
                    + "'; managed names: " + wiring.certificates().names()));
        }
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("this AutoCert is closed"));
        }
        if (!started.get()) {
            return CompletableFuture.failedFuture(new IllegalStateException("renewNow() before start(): call autoCert.start() first, "
                    + "so that the stored certificate is loaded before anything replaces it"));
        }
        return m.renewNow();
    }

    /**
     * Adds a certificate covering {@code names} to the running manager (or to the set
     * {@link #start()} will load), validated like the builder's {@code certificate(...)}: an
     * invalid or already managed name throws {@link IllegalArgumentException} naming the fix. A
     * valid stored certificate is served at once, otherwise one is ordered. The future completes
     * when a CA-issued certificate is live, or exceptionally with the first failure (ordering is
     * then retried in the background).
     */
    public CompletableFuture<CertificateStatus> addCertificate(String... names) {
        if (closed) {
            throw new IllegalStateException("this AutoCert is closed");
        }
        return wiring.addCertificate(names, started.get());
    }

    /**
     * Stops managing the certificate that covers {@code name}: no more renewals, and its names are
     * no longer served (they get the default certificate). The stored copy is kept, so adding it again later serves
     * it at once (with {@link AutoCertBuilder#revokeOnRemove}: revoked and deleted). Returns whether one was removed.
     */
    public boolean removeCertificate(String name) {
        return wiring.removeCertificate(name);
    }

    /**
     * Revokes the live certificate covering {@code name}, signed with the ACME account, and orders its replacement:
     * {@link AcmeAccounts#revoke}. <pre>{@code autoCert.revoke("example.com", "keyCompromise").get(1, TimeUnit.MINUTES);}</pre>
     */
    public CompletableFuture<CertificateStatus> revoke(String name, String reason) {
        return accounts().revoke(name, reason, false);
    }

    /** The ACME accounts: revocation with a certificate's key, key rollover, deactivation: {@link AcmeAccounts}. */
    public AcmeAccounts accounts() {
        return new AcmeAccounts(wiring.acmeActions());
    }

    /**
     * One status per configured certificate, in the order they were added, then one per on-demand
     * certificate loaded in memory right now.
     */
    public List<CertificateStatus> status() {
        return wiring.status();
    }

    /** The status of the configured (or loaded on-demand) certificate covering {@code name}. */
    public Optional<CertificateStatus> status(String name) {
        ManagedCertificate m = managed(name);
        return m == null ? Optional.empty() : Optional.of(wiring.status(m));
    }

    /**
     * Registers this manager's {@link AutoCertMXBean} (status per certificate, {@code renewNow}, {@code dryRun}
     * against Let's Encrypt staging) in the platform MBean server as
     * {@code io.github.autocert4j:type=AutoCert,name=<first certificate id>}; {@link #close()} unregisters it.
     * For servers without Spring Boot's Actuator. See {@link #registerMBean(String, AcmeCa)}.
     */
    public javax.management.ObjectName registerMBean() {
        List<CertificateStatus> all = status();
        return registerMBean(all.isEmpty() ? "on-demand" : all.get(0).certificate(), AcmeCa.of(LETS_ENCRYPT_STAGING));
    }

    /**
     * Registers this manager's {@link AutoCertMXBean} as {@code io.github.autocert4j:type=AutoCert,name=<name>}
     * (quoted if needed), with {@code dryRunCa} as the test CA of its {@code dryRun} operation. Give each
     * manager of one JVM its own name: a taken name is an {@link IllegalStateException}. Returns the name.
     */
    public javax.management.ObjectName registerMBean(String name, AcmeCa dryRunCa) {
        if (closed) {
            throw new IllegalStateException("this AutoCert is closed");
        }
        try {
            javax.management.ObjectName on = new javax.management.ObjectName("io.github.autocert4j", new java.util.Hashtable<>(
                    java.util.Map.of("type", "AutoCert", "name", javax.management.ObjectName.quote(name))));
            java.lang.management.ManagementFactory.getPlatformMBeanServer().registerMBean(
                    new javax.management.StandardMBean(new AutoCertMBean(this, dryRunCa), AutoCertMXBean.class, true), on);
            mbeans.add(on);
            return on;
        } catch (javax.management.InstanceAlreadyExistsException e) {
            throw new IllegalStateException("an MBean named " + name + " is already registered. Fix: registerMBean(\"<unique name>\", ca)"
                    + " for each manager of this JVM", e);
        } catch (javax.management.JMException e) {
            throw new IllegalStateException("cannot register the autocert4j MBean " + name + ": " + e.getMessage(), e);
        }
    }

    /**
     * Stops the background work: pending {@code renewNow()} and {@code addCertificate()} futures
     * fail, an order in progress is interrupted. Certificates keep being served by TLS listeners
     * already set up.
     */
    @Override
    public void close() {
        closed = true;
        wiring.stopWork();
        tlsSessions.close();
        for (javax.management.ObjectName on : mbeans) {
            try {
                java.lang.management.ManagementFactory.getPlatformMBeanServer().unregisterMBean(on);
            } catch (javax.management.JMException e) {
                LOG.debug("autocert4j: unregistering MBean {} failed: {}", on, e.toString());
            }
        }
        mbeans.clear();
        http01.close();
        tlsAlpn01.close();
        wiring.shutdownExecutor();
    }

    @Override
    public String toString() {
        return "AutoCert" + wiring;
    }

    /** End of build(): its store probe (null: none ran), then the ACME client's preparation, last (issue 23: build()'s own classes load on its thread). */
    void finishBuild(CompletableFuture<Void> probe) {
        this.storeProbe = probe;
        wiring.prepareAcmeClients();
    }

    /** The frozen configuration, for tests in this package. */
    Config config() {
        return config;
    }

    /** The state machine of the configured or loaded on-demand certificate covering {@code name}. */
    ManagedCertificate managed(String name) {
        return wiring.managed(name);
    }
}
