package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.internal.config.Config;

import io.github.autocert4j.Issuer;
import io.github.autocert4j.RenewalPolicy;
import io.github.autocert4j.internal.acme.AcmeIssuer;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.tls.LiveKeyManager;
import io.github.autocert4j.internal.util.Events;

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
public record Services(Config config, List<Issuer> issuers, CertificateStorage storage, LiveKeyManager keyManager,
                ScheduledExecutorService executor, Events events, java.util.Random random) {

    public Services {
        issuers = List.copyOf(issuers);
    }

    public Instant now() {
        return clock().instant();
    }

    public Clock clock() {
        return config.clock();
    }

    public RenewalPolicy policy() {
        return config.policy();
    }

    /** Whether {@code issuerId} is one of the configured issuers (null: unknown, treated as configured). */
    public boolean isConfigured(String issuerId) {
        return issuerId == null || issuers.stream().anyMatch(i -> i.id().equals(issuerId));
    }

    /**
     * The issuers in the order to ask them now: the configured order, except that an ACME CA that
     * did not answer recently ({@link AcmeIssuer#restingUntil}) comes after the others until its rest
     * ends. It stays in the list: with no other CA, or when all others fail, it is still asked.
     */
    public List<Issuer> issuersToAsk() {
        Instant now = now();
        List<Issuer> ready = new java.util.ArrayList<>(issuers.size());
        List<Issuer> resting = new java.util.ArrayList<>(0);
        for (Issuer i : issuers) {
            Issuer inner = i instanceof FailedValidationBudget budget ? budget.delegate() : i;
            (inner instanceof AcmeIssuer a && a.restingUntil(now) != null ? resting : ready).add(i);
        }
        if (resting.isEmpty()) {
            return issuers;
        }
        ready.addAll(resting);
        return ready;
    }

    /** The issuer with this id, else the first one (for ARI of certificates stored without an issuer). */
    public Issuer issuerOrFirst(String issuerId) {
        return issuers.stream().filter(i -> i.id().equals(issuerId)).findFirst().orElse(issuers.get(0));
    }
}
