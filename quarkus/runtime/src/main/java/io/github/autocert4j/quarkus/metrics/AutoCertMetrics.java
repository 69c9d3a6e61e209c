package io.github.autocert4j.quarkus.metrics;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.annotation.PreDestroy;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;

/**
 * Micrometer gauges (registered when quarkus-micrometer is present), per configured certificate
 * (tag {@code certificate}): {@code autocert4j.certificate.expiry} (seconds until notAfter; -1
 * without a CA certificate) and {@code autocert4j.certificate.valid} (1 or 0); and
 * {@code autocert4j.http01.answered} (challenge requests answered).
 */
@Singleton
public class AutoCertMetrics {
    private final AutoCertQuarkus autoCert;
    private final MeterRegistry registry;
    private final List<Meter> meters = new CopyOnWriteArrayList<>();

    /** Created by CDI. */
    @Inject
    public AutoCertMetrics(AutoCertQuarkus autoCert, MeterRegistry registry) {
        this.autoCert = autoCert;
        this.registry = registry;
    }

    void register(@Observes StartupEvent start) {
        if (!autoCert.enabled()) {
            return;
        }
        for (String id : autoCert.autoCert().status().stream().map(CertificateStatus::certificate).toList()) {
            meters.add(Gauge.builder("autocert4j.certificate.expiry", this, m -> m.secondsLeft(id)).tag("certificate", id)
                    .description("Seconds until the served certificate expires; -1 while the self-signed fallback is served")
                    .baseUnit("seconds").register(registry));
            meters.add(Gauge.builder("autocert4j.certificate.valid", this, m -> m.valid(id) ? 1 : 0).tag("certificate", id)
                    .description("1 while a valid CA certificate is served").register(registry));
        }
        meters.add(Gauge.builder("autocert4j.http01.answered", this, m -> m.autoCert.autoCert().http01().answeredCount())
                .description("HTTP-01 challenge requests answered").register(registry));
    }

    /**
     * Removes the gauges: a registry that outlives this application (Micrometer's global one, a
     * restart in dev or test mode) must not keep reading, or keep the names of, a closed AutoCert.
     */
    @PreDestroy
    void unregister() {
        meters.forEach(registry::remove);
        meters.clear();
    }

    private Optional<CertificateStatus> status(String id) {
        return autoCert.autoCert().status(id);
    }

    private double secondsLeft(String id) {
        return status(id).filter(s -> s.state() == CertificateStatus.State.VALID || s.state() == CertificateStatus.State.EXPIRED)
                .map(CertificateStatus::notAfter).map(t -> (double) (t.getEpochSecond() - Instant.now().getEpochSecond())).orElse(-1.0);
    }

    private boolean valid(String id) {
        return status(id).map(s -> s.state() == CertificateStatus.State.VALID && s.notAfter().isAfter(Instant.now())).orElse(false);
    }
}
