package io.github.autocert4j.quarkus;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.ObservesAsync;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import io.github.autocert4j.AutoCert;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.quarkus.vertx.http.HttpServerStart;
import io.quarkus.vertx.http.HttpsServerStart;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.ext.web.Router;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Wires autocert4j into Quarkus' HTTP servers: the live key material on the HTTPS server (asked
 * at each handshake, so renewals need no reload), the challenge route first on the router, and
 * the start of the AutoCert once the servers listen. Quarkus opens its sockets after
 * {@code StartupEvent}, so starting earlier would let the CA's first HTTP-01 validation hit a
 * closed port (refused; the retry then waits the first backoff step). The start waits for
 * {@link HttpServerStart} of the plain-HTTP server (unless {@code quarkus.http.insecure-requests}
 * is {@code disabled} or {@code quarkus.http.host-enabled} is false) and for
 * {@link HttpsServerStart} of the HTTPS server this class gave key material to. If Quarkus fires
 * neither within {@value #START_FALLBACK_SECONDS} s of {@code StartupEvent} (dev mode keeps a
 * running server across a live reload), it starts then, with a log line.
 *
 * <p>The HTTPS server's SSL engine, unless another customizer chose OpenSSL or a JDK-engine class
 * of its own, becomes {@link JdkServerEngineOptions} (Quarkus' settings on it kept): the same JDK
 * engine, whose plain server context skips Netty's {@code JdkSslServerContext} and with it the
 * BouncyCastle JCA provider its static initialiser would instantiate on the event loop accepting
 * the first HTTPS connection (docs/quarkus.md).
 */
@Singleton
public class AutoCertHttp implements HttpServerOptionsCustomizer {
    private static final Logger LOG = Logger.getLogger(AutoCertHttp.class);

    /** Seconds after {@code StartupEvent} after which the AutoCert starts without a server-start event. */
    static final long START_FALLBACK_SECONDS = 10;

    private final AutoCertQuarkus autoCert;
    private final Optional<String> insecureRequests;
    private final boolean plainExpected;
    private volatile int httpsPort = 443;
    private volatile boolean httpsExpected;
    private volatile boolean plainListens;
    private volatile boolean httpsListens;

    /** Created by CDI. */
    @Inject
    public AutoCertHttp(AutoCertQuarkus autoCert,
            @ConfigProperty(name = InsecureRedirectConfigBuilder.ORIGINAL) Optional<String> insecureRequests,
            @ConfigProperty(name = "quarkus.http.host-enabled", defaultValue = "true") boolean hostEnabled) {
        this.autoCert = autoCert;
        this.insecureRequests = insecureRequests;
        this.plainExpected = hostEnabled && !"disabled".equals(strategy(insecureRequests));
    }

    private static String strategy(Optional<String> insecureRequests) {
        return insecureRequests.orElse("enabled").trim().toLowerCase(java.util.Locale.ROOT);
    }

    void plainStarted(@ObservesAsync HttpServerStart event) {
        plainListens = true;
        startIfListening();
    }

    void httpsStarted(@ObservesAsync HttpsServerStart event) {
        httpsListens = true;
        startIfListening();
    }

    private void startIfListening() {
        if (!autoCert.enabled()) {
            return;
        }
        if ((!plainExpected || plainListens) && (!httpsExpected || httpsListens)) {
            autoCert.start("Quarkus' servers listen: plain HTTP " + (plainListens ? "yes" : "off") + ", HTTPS "
                    + (httpsListens ? "yes" : "off"));
        }
    }

    /** Arms the fallback start: Quarkus opens its sockets right after this event. */
    void armFallback(@Observes StartupEvent event) {
        if (!autoCert.enabled()) {
            return;
        }
        CompletableFuture.delayedExecutor(START_FALLBACK_SECONDS, TimeUnit.SECONDS).execute(() -> {
            if (autoCert.isStarted()) {
                return;
            }
            LOG.infof("autocert4j: no start event from Quarkus' HTTP servers within %d s (plain HTTP listens: %s, HTTPS listens: %s; "
                    + "dev mode keeps a running server across a live reload): starting now", START_FALLBACK_SECONDS,
                    plainListens, httpsListens);
            autoCert.start("fallback after " + START_FALLBACK_SECONDS + " s");
        });
    }

    @Override
    public void customizeHttpsServer(HttpServerOptions options) {
        if (!autoCert.enabled()) {
            return;
        }
        AutoCert a = autoCert.autoCert();
        options.setSsl(true).setKeyCertOptions(new LiveKeyCertOptions(a));
        httpsExpected = true;
        if (options.getPort() > 0) {
            httpsPort = options.getPort();
        }
        boolean onDemand = a.onDemand().isPresent();
        SSLEngineOptions engine = options.getSslEngineOptions();
        if (engine == null || engine.getClass() == JdkSSLEngineOptions.class || engine instanceof JdkServerEngineOptions) {
            // Vert.x's choice on Java 17 (unset) or the plain JDK engine (Quarkus' pooled-buffer setting kept):
            // the same engine, its plain server context built without Netty's JdkSslServerContext (JdkServerEngineOptions)
            JdkServerEngineOptions jdk = engine == null ? new JdkServerEngineOptions(a)
                    : new JdkServerEngineOptions((JdkSSLEngineOptions) engine, a);
            if (onDemand) {
                // the key manager may wait for a new name's certificate: run handshake work off the event loop
                jdk.setUseWorkerThread(true);
            }
            options.setSslEngineOptions(jdk);
        } else if (onDemand) {
            if (engine instanceof JdkSSLEngineOptions) {
                options.setSslEngineOptions(((JdkSSLEngineOptions) engine).copy().setUseWorkerThread(true));
            } else {
                throw new IllegalStateException("autocert4j on-demand TLS needs the JDK SSL engine, whose handshake work Vert.x runs "
                        + "on its worker pool; the HTTPS server uses " + engine.getClass().getSimpleName()
                        + ". Fix: remove the OpenSSL engine setting or set quarkus.autocert4j.on-demand.enabled=false");
            }
        }
        LOG.infof("autocert4j: the HTTPS server presents the live certificates of %s", a);
    }

    /** Puts the challenge route first on Quarkus' router. */
    void route(@Observes Router router) {
        if (!autoCert.enabled()) {
            return;
        }
        String strategy = strategy(insecureRequests);
        if ("disabled".equals(strategy) && autoCert.autoCert().challengeTypes().contains("http-01")) {
            LOG.warn("autocert4j: quarkus.http.insecure-requests=disabled turns the plain-HTTP server off, so the CA cannot reach "
                    + "http-01 challenges. Fix: quarkus.http.insecure-requests=redirect (the challenge path is answered before the redirect)");
        }
        router.route().order(Integer.MIN_VALUE)
                .handler(new AcmeChallengeRoute(autoCert.autoCert().http01(), "redirect".equals(strategy), () -> httpsPort));
    }
}
