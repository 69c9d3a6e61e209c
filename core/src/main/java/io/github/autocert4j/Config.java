package io.github.autocert4j;

import java.time.Clock;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Everything {@link AutoCertBuilder#build()} validated, frozen. Building creates no threads,
 * files or connections; {@link AutoCert} creates its stateful parts (issuers, responder, key
 * manager, scheduler) from this.
 *
 * @param certificates the configured certificates, each a list of normalized names (first = id)
 * @param issuers where certificates come from, in failover order (at least one)
 * @param extraSolvers challenge solvers besides the built-in HTTP-01 responder
 * @param store where account, keys and certificates live
 * @param executor the host's scheduler, or null for an own daemon thread
 * @param onDemand on-demand TLS settings, or null when it is off
 */
record Config(
        List<List<String>> certificates,
        List<IssuerFactory> issuers,
        List<ChallengeSolver> extraSolvers,
        CertStore store,
        KeyType keyType,
        String profile,
        boolean requireProfile,
        boolean allowIpAddresses,
        RenewalPolicy policy,
        CertEventListener listener,
        ScheduledExecutorService executor,
        Clock clock,
        OnDemand onDemand) {

    Config {
        certificates = certificates.stream().map(List::copyOf).toList();
        issuers = List.copyOf(issuers);
        extraSolvers = List.copyOf(extraSolvers);
    }

    /** Whether names may be wildcards: only a dns-01 solver can prove them. */
    boolean wildcardsAllowed() {
        return extraSolvers.stream().anyMatch(s -> "dns-01".equals(s.challengeType()));
    }

    /** Creates one issuer when the manager is built: ACME issuers need the store and the challenge solvers. */
    @FunctionalInterface
    interface IssuerFactory {
        Issuer create(CertStore store, List<ChallengeSolver> solvers);
    }
}
