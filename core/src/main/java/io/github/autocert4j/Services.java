package io.github.autocert4j;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What every {@link ManagedCertificate} shares: the frozen configuration and the stateful parts
 * {@link AutoCert} built from it. Nothing here is per certificate.
 *
 * @param random jitter for schedules and the moment picked in an ARI window: one generator per
 *        manager (java.util.Random is thread-safe and the draws are few), no thread-local state
 */
record Services(Config config, List<Issuer> issuers, CertificateStorage storage, LiveKeyManager keyManager,
                ScheduledExecutorService executor, Events events, java.util.Random random) {

    Services {
        issuers = List.copyOf(issuers);
    }

    Instant now() {
        return clock().instant();
    }

    Clock clock() {
        return config.clock();
    }

    RenewalPolicy policy() {
        return config.policy();
    }

    /** Whether {@code issuerId} is one of the configured issuers (null: unknown, treated as configured). */
    boolean isConfigured(String issuerId) {
        return issuerId == null || issuers.stream().anyMatch(i -> i.id().equals(issuerId));
    }

    /** The issuer with this id, else the first one (for ARI of certificates stored without an issuer). */
    Issuer issuerOrFirst(String issuerId) {
        return issuers.stream().filter(i -> i.id().equals(issuerId)).findFirst().orElse(issuers.get(0));
    }
}
