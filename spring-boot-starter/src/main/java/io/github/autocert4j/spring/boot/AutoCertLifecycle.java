package io.github.autocert4j.spring.boot;

import io.github.autocert4j.AutoCert;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Starts the AutoCert once Boot's web server (and so the plain-HTTP port the CA validates on) is
 * listening. {@link AutoCert#start()} serves stored certificates and returns at once: start-up never
 * waits for the CA. The AutoCert itself is closed when its bean is destroyed.
 */
final class AutoCertLifecycle implements SmartLifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(AutoCertLifecycle.class);

    /** After Boot's web server start (phase {@code Integer.MAX_VALUE - 2048}); stopped before it. */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

    private final AutoCert autoCert;
    private final ServerIntegrations integrations;
    private final boolean webApplication;
    private volatile boolean running;

    AutoCertLifecycle(AutoCert autoCert, ServerIntegrations integrations, boolean webApplication) {
        this.autoCert = autoCert;
        this.integrations = integrations;
        this.webApplication = webApplication;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    @Override
    public void start() {
        if (webApplication && integrations.isEmpty()) {
            LOG.warn("autocert4j: none of the supported servers (Tomcat or Jetty with Spring MVC, Reactor Netty with WebFlux) "
                    + "was configured, so nothing serves the certificates {}. Hand autoCert.keyManager() to your server yourself, "
                    + "or set autocert4j.enabled=false", autoCert);
        }
        autoCert.start();
        running = true;
    }

    @Override
    public void stop() {
        // Certificates keep being served while the server drains; the AutoCert bean's close() ends renewals.
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
