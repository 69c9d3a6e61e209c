package io.github.autocert4j.internal.config;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.CertEventListener;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.KeyEncryptionKey;
import io.github.autocert4j.KeyType;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.RenewalPolicy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What the builder was given, as given: unchecked, copied at {@code build()} so that the builder
 * can change (and build again) without touching a manager it built. {@link ConfigValidator}
 * checks it; the assembly turns it into a {@link Config}.
 *
 * @param problems what the builder's setters already refused (a null, an unparsable URL), each with its fix
 * @param furtherIssuers the issuers added after the directory's CA, in the order they were added
 * @param policyProblem what {@code RenewalPolicy} found wrong with itself (its check is not public API), or null
 * @param eabSet whether {@code externalAccountBinding} was called (with nulls it is an error)
 * @param challengeTypes as given to {@code challengeTypes(...)}, or null (derived from the solvers)
 */
public record Settings(List<List<String>> certificates, List<ChallengeSolver> extraSolvers, List<IssuerSource> furtherIssuers,
                       List<String> problems, URI directory, Path acmeTrustPem, String email, boolean agreedToTos, KeyType keyType,
                       CertStore store, KeyEncryptionKey[] keyEncryption, RenewalPolicy policy, String policyProblem,
                       CertEventListener listener,
                       ScheduledExecutorService executor, Clock clock, String profile, boolean requireProfile,
                       boolean allowIpAddresses, OnDemand onDemand, int failedValidationMax, Duration failedValidationWindow,
                       boolean eabSet, String eabKeyId, String eabHmacKey, String preferredChain, List<String> challengeTypes,
                       int lazyLoadAbove) {

    /** One issuer in failover order: an ACME CA this library talks to, or a custom {@link Issuer}; exactly one is set. */
    public record IssuerSource(AcmeCa ca, Issuer custom) {
        /** Whether this library talks ACME to it (and so the terms of service must be agreed to). */
        public boolean isAcme() {
            return ca != null;
        }
    }
}
