package io.github.autocert4j.spring.boot;

import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;

/**
 * The health of the managed certificates, free of Boot's health types (which differ between Boot
 * 3.5 and 4.0); the per-line indicators only translate it.
 *
 * <ul>
 *   <li>{@code DOWN}: a certificate has expired.</li>
 *   <li>{@code autocert4j.health.renewal-failing-status} (default {@code OUT_OF_SERVICE}): a
 *       certificate is inside the expiry-warning window ({@code autocert4j.renewal.expiry-warning},
 *       at most 1/4 of its lifetime) and its last renewal failed; or the CA refused it permanently;
 *       or none has been obtained yet and ordering keeps failing.</li>
 *   <li>{@code UP} otherwise (also while the first certificate is being ordered), with details.</li>
 * </ul>
 *
 * @param status the status code
 * @param details per certificate id: its own health, state, names, serial, notAfter, last error, next check
 *        ("health", not "status": Boot 4 writes details before the top-level status)
 */
record HealthEvaluation(String status, Map<String, Object> details) {
    static final String UP = "UP";
    static final String DOWN = "DOWN";

    /** The configured renewal-failing status ({@code OUT_OF_SERVICE} when left empty). */
    static String failingStatus(AutoCertProperties properties) {
        String s = properties.getHealth().getRenewalFailingStatus();
        return s == null || s.isBlank() ? "OUT_OF_SERVICE" : s.trim();
    }

    static HealthEvaluation of(AutoCert autoCert, String failingStatus, Clock clock) {
        return of(autoCert.status().stream().map(Facts::of).toList(), failingStatus, clock.instant());
    }

    /** What the rule looks at in a certificate's status (the core's status has no public constructor). */
    record Facts(String certificate, List<String> names, CertificateStatus.State state, BigInteger serial, Instant notAfter,
                 Instant expiryWarningFrom, String lastError, int consecutiveFailures, Instant nextCheck) {
        static Facts of(CertificateStatus s) {
            return new Facts(s.certificate(), s.names(), s.state(), s.serial(), s.notAfter(), s.expiryWarningFrom(), s.lastError(),
                    s.consecutiveFailures(), s.nextCheck());
        }
    }

    static HealthEvaluation of(List<Facts> statuses, String failingStatus, Instant now) {
        int worst = 0; // 0 UP, 1 failing, 2 DOWN
        Map<String, Object> details = new LinkedHashMap<>();
        for (Facts s : statuses) {
            int level = level(s, now);
            worst = Math.max(worst, level);
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("health", level == 2 ? DOWN : level == 1 ? failingStatus : UP);
            d.put("state", s.state().name());
            d.put("names", s.names());
            putIfNotNull(d, "serial", s.serial() == null ? null : s.serial().toString(16));
            putIfNotNull(d, "notAfter", s.notAfter() == null ? null : s.notAfter().toString());
            putIfNotNull(d, "lastError", s.lastError());
            if (s.consecutiveFailures() > 0) {
                d.put("consecutiveFailures", s.consecutiveFailures());
            }
            putIfNotNull(d, "nextCheck", s.nextCheck() == null ? null : s.nextCheck().toString());
            details.put(s.certificate(), d);
        }
        return new HealthEvaluation(worst == 2 ? DOWN : worst == 1 ? failingStatus : UP, details);
    }

    private static int level(Facts s, Instant now) {
        if (s.state() == CertificateStatus.State.EXPIRED || (s.notAfter() != null && !now.isBefore(s.notAfter()))) {
            return 2;
        }
        if (s.state() == CertificateStatus.State.FAILED) {
            return 1;
        }
        boolean failing = s.consecutiveFailures() > 0;
        if (s.notAfter() == null) {
            return failing ? 1 : 0;
        }
        // The core's own expiry-warning window (CertificateStatus.expiryWarningFrom), not a copy of its rule.
        return failing && s.expiryWarningFrom() != null && !now.isBefore(s.expiryWarningFrom()) ? 1 : 0;
    }

    private static void putIfNotNull(Map<String, Object> map, String key, Object value) {
        if (value != null) {
            map.put(key, value);
        }
    }
}
