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
 * <p>The worst certificate decides, in this order:
 * <ul>
 *   <li>{@code DOWN}: a certificate has expired (clients refuse it).</li>
 *   <li>{@code autocert4j.health.fallback-status} (default {@code OUT_OF_SERVICE}): a configured
 *       name is served with the self-signed fallback, because no certificate was obtained yet (the
 *       first order is running or failing, or the CA refused it) or the store holding it could not
 *       be read yet (a database down at start). Clients that verify refuse the fallback.</li>
 *   <li>{@code autocert4j.health.renewal-failing-status} (default {@code OUT_OF_SERVICE}): a valid
 *       certificate is inside the expiry-warning window ({@code autocert4j.renewal.expiry-warning},
 *       at most 1/4 of its lifetime) and its last renewal failed, or the CA refused its renewal
 *       permanently.</li>
 *   <li>{@code UP} otherwise, with details.</li>
 * </ul>
 * Each certificate's details say {@code "serving": "certificate"} or {@code "fallback"}.
 *
 * @param status the status code
 * @param details per certificate id: its own health, state, names, serial, notAfter, last error, next check
 *        ("health", not "status": Boot 4 writes details before the top-level status)
 */
record HealthEvaluation(String status, Map<String, Object> details) {
    static final String UP = "UP";
    static final String DOWN = "DOWN";

    static final String OUT_OF_SERVICE = "OUT_OF_SERVICE";

    /** The configured renewal-failing status ({@code OUT_OF_SERVICE} when left empty). */
    static String failingStatus(AutoCertProperties properties) {
        String s = properties.getHealth().getRenewalFailingStatus();
        return s == null || s.isBlank() ? OUT_OF_SERVICE : s.trim();
    }

    /** The configured fallback status ({@code OUT_OF_SERVICE} when left empty). */
    static String fallbackStatus(AutoCertProperties properties) {
        String s = properties.getHealth().getFallbackStatus();
        return s == null || s.isBlank() ? OUT_OF_SERVICE : s.trim();
    }

    static HealthEvaluation of(AutoCert autoCert, AutoCertProperties properties, Clock clock) {
        return of(autoCert.status().stream().map(Facts::of).toList(), failingStatus(properties), fallbackStatus(properties), clock.instant());
    }

    /** What the rule looks at in a certificate's status (the core's status has no public constructor). */
    record Facts(String certificate, List<String> names, CertificateStatus.State state, BigInteger serial, Instant notAfter,
                 Instant expiryWarningFrom, String lastError, int consecutiveFailures, Instant nextCheck) {
        static Facts of(CertificateStatus s) {
            return new Facts(s.certificate(), s.names(), s.state(), s.serial(), s.notAfter(), s.expiryWarningFrom(), s.lastError(),
                    s.consecutiveFailures(), s.nextCheck());
        }
    }

    static HealthEvaluation of(List<Facts> statuses, String failingStatus, String fallbackStatus, Instant now) {
        int worst = UP_LEVEL;
        Map<String, Object> details = new LinkedHashMap<>();
        for (Facts s : statuses) {
            int level = level(s, now);
            worst = Math.max(worst, level);
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("health", status(level, failingStatus, fallbackStatus));
            d.put("state", s.state().name());
            d.put("serving", s.serial() == null ? "fallback" : "certificate");
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
        return new HealthEvaluation(status(worst, failingStatus, fallbackStatus), details);
    }

    private static final int UP_LEVEL = 0;
    private static final int FAILING_LEVEL = 1;
    private static final int FALLBACK_LEVEL = 2;
    private static final int DOWN_LEVEL = 3;

    private static String status(int level, String failingStatus, String fallbackStatus) {
        return switch (level) {
            case DOWN_LEVEL -> DOWN;
            case FALLBACK_LEVEL -> fallbackStatus;
            case FAILING_LEVEL -> failingStatus;
            default -> UP;
        };
    }

    private static int level(Facts s, Instant now) {
        if (s.state() == CertificateStatus.State.EXPIRED || (s.notAfter() != null && !now.isBefore(s.notAfter()))) {
            return DOWN_LEVEL;
        }
        if (s.state() == CertificateStatus.State.NOT_LOADED) {
            return UP_LEVEL; // lazy loading: stored, read at its first handshake or by the sweep; nothing is missing
        }
        if (s.serial() == null) {
            return FALLBACK_LEVEL; // nothing CA-issued is live: the self-signed fallback is served
        }
        if (s.state() == CertificateStatus.State.FAILED) {
            return FAILING_LEVEL;
        }
        boolean failing = s.consecutiveFailures() > 0;
        // The core's own expiry-warning window (CertificateStatus.expiryWarningFrom), not a copy of its rule.
        return failing && s.expiryWarningFrom() != null && !now.isBefore(s.expiryWarningFrom()) ? FAILING_LEVEL : UP_LEVEL;
    }

    private static void putIfNotNull(Map<String, Object> map, String key, Object value) {
        if (value != null) {
            map.put(key, value);
        }
    }
}
