package io.github.autocert4j.quarkus;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.OnDemand;
import io.quarkus.runtime.LaunchMode;
import org.jboss.logging.Logger;

/**
 * The application's {@link AutoCert}, built from {@link AutoCertQuarkusConfig} on first use (the
 * HTTP server's options customizer asks for it before the server starts, so the HTTPS server has
 * key material from its first handshake: the self-signed fallback until started), and started
 * only once Quarkus' HTTP servers listen ({@link AutoCertHttp} observes Quarkus'
 * {@code HttpServerStart}/{@code HttpsServerStart}): the CA's first validation then reaches a
 * listening port. Starting serves the stored certificates without contacting the CA and orders
 * missing or due ones in the background. Closed with the application. Inject it to read
 * {@code status()}, call {@code renewNow(...)} or wait for {@link #started()}.
 */
@Singleton
public class AutoCertQuarkus {
    private static final Logger LOG = Logger.getLogger(AutoCertQuarkus.class);

    /** The issuer id under which dev/test mode without a CA is reported. */
    static final String NO_CA_ID = "autocert4j-no-ca";

    private final AutoCertQuarkusConfig config;
    private final Instance<StoreFactory> storeFactories;
    private final Instance<ChallengeSolver> solvers;
    private volatile AutoCert autoCert;
    private volatile boolean closed;
    private final CompletableFuture<AutoCert> started = new CompletableFuture<>();

    /** Created by CDI. */
    @Inject
    public AutoCertQuarkus(AutoCertQuarkusConfig config, Instance<StoreFactory> storeFactories, @Any Instance<ChallengeSolver> solvers) {
        this.config = config;
        this.storeFactories = storeFactories;
        this.solvers = solvers;
    }

    /** Whether {@code quarkus.autocert4j.enabled} is true. */
    public boolean enabled() {
        return config.enabled();
    }

    /**
     * The AutoCert (built on the first call; started once Quarkus' HTTP servers listen, see
     * {@link #started()}). Its key manager serves the self-signed fallback until then.
     */
    public AutoCert autoCert() {
        AutoCert a = autoCert;
        if (a == null) {
            synchronized (this) {
                if (closed) {
                    throw new IllegalStateException("autocert4j: the application is shutting down");
                }
                a = autoCert;
                if (a == null) {
                    a = build();
                    autoCert = a;
                }
            }
        }
        return a;
    }

    /**
     * Completes with the AutoCert once it is started: stored certificates are served from then on
     * and missing ones are being ordered. That happens right after Quarkus' HTTP servers listen.
     */
    public CompletionStage<AutoCert> started() {
        return started.minimalCompletionStage();
    }

    /** Whether {@link #start(String)} has started the AutoCert. */
    boolean isStarted() {
        return started.isDone();
    }

    /** Starts the AutoCert (once; nothing after close). {@code why} is logged. */
    void start(String why) {
        AutoCert a;
        synchronized (this) {
            if (closed || started.isDone()) {
                return;
            }
            a = autoCert();
            a.start();
        }
        LOG.infof("autocert4j: started (%s)", why);
        started.complete(a);
    }

    /** The configured certificate names (empty with on-demand TLS only). */
    public List<String> names() {
        return config.names().orElse(List.of());
    }

    private AutoCert build() {
        AutoCertBuilder b = AutoCert.builder();
        List<String> names = names();
        if (!names.isEmpty()) {
            b.certificate(names.toArray(String[]::new));
        }
        b.challengeTypes(config.challengeTypes().toArray(String[]::new));
        solvers.forEach(b::challengeSolver); // the application's own solvers (a dns-01 solver bean)
        config.email().ifPresent(b::email);
        config.profile().ifPresent(b::profile);
        config.trust().ifPresent(b::acmeServerTrust);
        b.agreeToTermsOfService(config.agreeToTermsOfService());
        b.store(store());
        if (config.directory().isPresent()) {
            b.directory(config.directory().get());
        } else if (LaunchMode.current().isDevOrTest()) {
            LOG.warnf("autocert4j: no quarkus.autocert4j.directory in %s mode: the HTTPS server presents a self-signed certificate "
                    + "for %s and nothing is ordered. Fix: set quarkus.autocert4j.directory (and agree-to-terms-of-service) "
                    + "to obtain a CA certificate", LaunchMode.current().getDefaultProfile(), names);
            b.issuer(new NoCa());
        } else {
            throw new IllegalStateException("autocert4j: quarkus.autocert4j.directory is not set. Fix: set it to the CA's ACME "
                    + "directory (Let's Encrypt: " + AutoCert.LETS_ENCRYPT_PRODUCTION + ", staging: " + AutoCert.LETS_ENCRYPT_STAGING
                    + ") and quarkus.autocert4j.agree-to-terms-of-service=true, or quarkus.autocert4j.enabled=false");
        }
        if (config.onDemand().enabled()) {
            List<String> allow = config.onDemand().allow().orElse(List.of());
            b.onDemand(OnDemand.allow(name -> CompletableFuture.completedFuture(allowed(allow, name)))
                    .handshakeWait(config.onDemand().handshakeWait()).build());
        }
        return b.build();
    }

    /** Whether {@code name} matches an exact entry or a {@code *.suffix} entry (one label) of {@code allow}. */
    static boolean allowed(List<String> allow, String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (String a : allow) {
            String p = a.trim().toLowerCase(Locale.ROOT);
            if (p.equals(n)) {
                return true;
            }
            if (p.startsWith("*.")) {
                String suffix = p.substring(1);
                if (n.endsWith(suffix) && n.length() > suffix.length() && n.indexOf('.') == n.length() - suffix.length()) {
                    return true;
                }
            }
        }
        return false;
    }

    private CertStore store() {
        String type = config.store().type().trim().toLowerCase(Locale.ROOT);
        if (!type.equals("file") && !type.equals("postgres") && !type.equals("auto")) {
            throw new IllegalArgumentException("quarkus.autocert4j.store.type='" + config.store().type()
                    + "' is not a store type. Fix: file, postgres or auto");
        }
        if (!type.equals("file")) {
            Optional<CertStore> postgres = storeFactories.isResolvable() ? storeFactories.get().create() : Optional.empty();
            if (postgres.isPresent()) {
                LOG.infof("autocert4j: keys and certificates are kept in PostgreSQL through the default datasource");
                return postgres.get();
            }
            if (type.equals("postgres")) {
                throw new IllegalStateException("quarkus.autocert4j.store.type=postgres, but the PostgreSQL store is not available. "
                        + "Fix: add the io.github.autocert4j:autocert4j-postgres and io.quarkus:quarkus-jdbc-postgresql dependencies "
                        + "and configure the default datasource (quarkus.datasource.jdbc.url, username, password), "
                        + "or set quarkus.autocert4j.store.type=file");
            }
        }
        LOG.infof("autocert4j: keys and certificates are kept in %s", config.store().directory().toAbsolutePath());
        return FileCertStore.of(config.store().directory());
    }

    /** Closes the AutoCert with the application. */
    @PreDestroy
    void close() {
        AutoCert a;
        synchronized (this) {
            closed = true;
            a = autoCert;
        }
        if (a != null) {
            a.close();
        }
        started.completeExceptionally(new IllegalStateException("autocert4j: the application shut down"));
    }

    /** Makes the PostgreSQL store when the application has a datasource it can use. */
    public interface StoreFactory {
        /** A new store, or empty when the application's default datasource is not configured (inactive). */
        Optional<CertStore> create();
    }

    /** Dev/test mode without a CA: never issues, so the self-signed fallback stays. */
    static final class NoCa implements Issuer {
        @Override
        public String id() {
            return NO_CA_ID;
        }

        @Override
        public Result issue(Request request) throws IssuanceException {
            throw IssuanceException.permanentFailure("no CA configured (quarkus.autocert4j.directory is not set): serving a "
                    + "self-signed certificate. Fix: set quarkus.autocert4j.directory");
        }
    }

    @Override
    public String toString() {
        return "AutoCertQuarkus[" + autoCert + "]";
    }

}
