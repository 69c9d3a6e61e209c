package io.github.autocert4j.quarkus;

import java.util.Optional;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import io.github.autocert4j.AutoCert;
import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.ext.web.Router;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Wires autocert4j into Quarkus' HTTP servers: the live key material on the HTTPS server (asked
 * at each handshake, so renewals need no reload) and the challenge route first on the router.
 */
@Singleton
public class AutoCertHttp implements HttpServerOptionsCustomizer {
    private static final Logger LOG = Logger.getLogger(AutoCertHttp.class);

    private final AutoCertQuarkus autoCert;
    private final Optional<String> insecureRequests;
    private volatile int httpsPort = 443;

    /** Created by CDI. */
    @Inject
    public AutoCertHttp(AutoCertQuarkus autoCert,
            @ConfigProperty(name = InsecureRedirectConfigBuilder.ORIGINAL) Optional<String> insecureRequests) {
        this.autoCert = autoCert;
        this.insecureRequests = insecureRequests;
    }

    @Override
    public void customizeHttpsServer(HttpServerOptions options) {
        if (!autoCert.enabled()) {
            return;
        }
        AutoCert a = autoCert.autoCert();
        options.setSsl(true).setKeyCertOptions(new LiveKeyCertOptions(a));
        if (options.getPort() > 0) {
            httpsPort = options.getPort();
        }
        if (a.onDemand().isPresent()) {
            // the key manager may wait for a new name's certificate: run handshake work off the event loop
            SSLEngineOptions engine = options.getSslEngineOptions();
            if (engine == null || engine instanceof JdkSSLEngineOptions) {
                JdkSSLEngineOptions jdk = engine == null ? new JdkSSLEngineOptions() : (JdkSSLEngineOptions) engine.copy();
                jdk.setUseWorkerThread(true);
                options.setSslEngineOptions(jdk);
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
        String strategy = insecureRequests.orElse("enabled").trim().toLowerCase(java.util.Locale.ROOT);
        if ("disabled".equals(strategy) && autoCert.autoCert().challengeTypes().contains("http-01")) {
            LOG.warn("autocert4j: quarkus.http.insecure-requests=disabled turns the plain-HTTP server off, so the CA cannot reach "
                    + "http-01 challenges. Fix: quarkus.http.insecure-requests=redirect (the challenge path is answered before the redirect)");
        }
        router.route().order(Integer.MIN_VALUE)
                .handler(new AcmeChallengeRoute(autoCert.autoCert().http01(), "redirect".equals(strategy), () -> httpsPort));
    }
}
