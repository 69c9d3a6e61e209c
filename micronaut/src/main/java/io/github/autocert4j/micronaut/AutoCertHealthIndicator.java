package io.github.autocert4j.micronaut;

import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import jakarta.inject.Singleton;
import org.reactivestreams.Publisher;

/**
 * The {@code autocert4j} entry of Micronaut's {@code /health} (micronaut-management present):
 * <ul>
 *   <li>{@code DOWN}: a configured name is served with an expired certificate;</li>
 *   <li>{@code OUT_OF_SERVICE}: a configured name is served with the self-signed fallback (no
 *       certificate obtained yet, or the CA refused it), or its last renewal failed inside the
 *       expiry-warning window;</li>
 *   <li>{@code UP} otherwise;</li>
 * </ul>
 * with per certificate: its state, names, serial, notAfter, last error and next check.
 */
@Singleton
@Requires(classes = HealthIndicator.class)
@Requires(beans = AutoCert.class)
public class AutoCertHealthIndicator implements HealthIndicator {
    /** Not operational: the fallback is served or renewal is failing near expiry. */
    public static final HealthStatus OUT_OF_SERVICE = new HealthStatus("OUT_OF_SERVICE", "a configured name is not served with a valid "
            + "CA-issued certificate, or its renewal is failing near expiry", false, 1000);

    private final AutoCert autoCert;
    private final Clock clock;

    /** Created by Micronaut. */
    public AutoCertHealthIndicator(AutoCert autoCert) {
        this(autoCert, Clock.systemUTC());
    }

    AutoCertHealthIndicator(AutoCert autoCert, Clock clock) {
        this.autoCert = autoCert;
        this.clock = clock;
    }

    @Override
    public Publisher<HealthResult> getResult() {
        return Publishers.just(result());
    }

    /** The current result, computed from {@link AutoCert#status()}. */
    public HealthResult result() {
        Instant now = clock.instant();
        int worst = 0;
        Map<String, Object> details = new LinkedHashMap<>();
        for (CertificateStatus s : autoCert.status()) {
            int level = level(s, now);
            worst = Math.max(worst, level);
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("health", name(level));
            d.put("state", s.state().name());
            d.put("names", s.names());
            if (s.serial() != null) {
                d.put("serial", s.serial().toString(16));
            }
            if (s.notAfter() != null) {
                d.put("notAfter", s.notAfter().toString());
            }
            if (s.lastError() != null) {
                d.put("lastError", s.lastError());
            }
            if (s.consecutiveFailures() > 0) {
                d.put("consecutiveFailures", s.consecutiveFailures());
            }
            if (s.nextCheck() != null) {
                d.put("nextCheck", s.nextCheck().toString());
            }
            details.put(s.certificate(), d);
        }
        HealthStatus status = worst == 2 ? HealthStatus.DOWN : worst == 1 ? OUT_OF_SERVICE : HealthStatus.UP;
        return HealthResult.builder("autocert4j", status).details(details).build();
    }

    private static String name(int level) {
        return level == 2 ? HealthStatus.NAME_DOWN : level == 1 ? OUT_OF_SERVICE.getName() : HealthStatus.NAME_UP;
    }

    private static int level(CertificateStatus s, Instant now) {
        if (s.state() == CertificateStatus.State.EXPIRED || (s.notAfter() != null && !now.isBefore(s.notAfter()))) {
            return 2;
        }
        if (s.state() == CertificateStatus.State.PENDING || s.state() == CertificateStatus.State.FAILED) {
            return 1; // the self-signed fallback is served for these names
        }
        boolean failing = s.consecutiveFailures() > 0;
        return failing && s.expiryWarningFrom() != null && !now.isBefore(s.expiryWarningFrom()) ? 1 : 0;
    }
}
