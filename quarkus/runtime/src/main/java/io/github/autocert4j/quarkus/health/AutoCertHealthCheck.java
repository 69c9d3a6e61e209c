package io.github.autocert4j.quarkus.health;

import java.time.Instant;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness check {@code autocert4j} (registered when quarkus-smallrye-health is present): DOWN
 * while a configured name is served with the self-signed fallback (no CA certificate yet, or the
 * CA refused) or with an expired certificate; UP when every configured certificate is valid.
 * Data per certificate: state, serial and expiry.
 */
@Readiness
@ApplicationScoped
public class AutoCertHealthCheck implements HealthCheck {
    private final AutoCertQuarkus autoCert;

    /** Created by CDI. */
    @Inject
    public AutoCertHealthCheck(AutoCertQuarkus autoCert) {
        this.autoCert = autoCert;
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named("autocert4j");
        if (!autoCert.enabled()) {
            return b.up().withData("enabled", false).build();
        }
        boolean up = true;
        Instant now = Instant.now();
        List<CertificateStatus> all = autoCert.autoCert().status();
        for (CertificateStatus s : all) {
            boolean valid = s.state() == CertificateStatus.State.VALID && s.notAfter() != null && s.notAfter().isAfter(now);
            up &= valid;
            String state = valid ? "VALID" : s.state() == CertificateStatus.State.VALID ? "EXPIRED" : s.state().name();
            b.withData(s.certificate(), state + (s.serialHex() != null ? " serial " + s.serialHex() : "")
                    + (s.notAfter() != null ? " notAfter " + s.notAfter() : "")
                    + (!valid && s.lastError() != null ? " lastError " + s.lastError() : ""));
        }
        return b.status(up).build();
    }
}
