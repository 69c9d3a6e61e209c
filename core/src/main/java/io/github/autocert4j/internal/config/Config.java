package io.github.autocert4j.internal.config;

import io.github.autocert4j.CertEventListener;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.KeyType;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.RenewalPolicy;

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
 * @param extraSolvers challenge solvers besides the built-in HTTP-01 and TLS-ALPN-01 responders
 * @param challengeTypes the challenge types to use, most preferred first, each with a solver
 * @param store where account, keys and certificates live
 * @param executor the host's scheduler, or null for an own daemon thread
 * @param onDemand on-demand TLS settings, or null when it is off
 * @param lazyLoadAbove above this many configured certificates start() loads them lazily (internal {@code LazyStart})
 */
public record Config(
        List<List<String>> certificates,
        List<IssuerFactory> issuers,
        List<ChallengeSolver> extraSolvers,
        List<String> challengeTypes,
        CertStore store,
        KeyType keyType,
        String profile,
        boolean requireProfile,
        boolean allowIpAddresses,
        RenewalPolicy policy,
        CertEventListener listener,
        ScheduledExecutorService executor,
        Clock clock,
        OnDemand onDemand,
        int lazyLoadAbove) {

    public Config {
        certificates = certificates.stream().map(List::copyOf).toList();
        issuers = List.copyOf(issuers);
        extraSolvers = List.copyOf(extraSolvers);
        challengeTypes = List.copyOf(challengeTypes);
    }

    /** Challenge types answered without an added solver. */
    public static final List<String> BUILT_IN_CHALLENGE_TYPES = List.of("http-01", "tls-alpn-01");

    /** Whether names may be wildcards: only dns-01 can prove them. */
    public boolean wildcardsAllowed() {
        return wildcardsAllowed(challengeTypes);
    }

    /** Whether IP-address names may be ordered: allowed, and validatable by http-01 or tls-alpn-01 (RFC 8738). */
    public boolean ipAddressesAllowed() {
        return allowIpAddresses && ipAddressesValidatable(challengeTypes);
    }

    /** The rule of {@link #wildcardsAllowed()}, for the builder, which checks names before a Config exists. */
    public static boolean wildcardsAllowed(List<String> challengeTypes) {
        return challengeTypes.contains("dns-01");
    }

    /** Whether {@code challengeTypes} can prove an IP-address name (RFC 8738: http-01 or tls-alpn-01, never dns-01). */
    public static boolean ipAddressesValidatable(List<String> challengeTypes) {
        return challengeTypes.contains("http-01") || challengeTypes.contains("tls-alpn-01");
    }

    /** Whether TLS-ALPN-01 is one of the challenge types, so the TLS listener must answer acme-tls/1. */
    public boolean tlsAlpn01Enabled() {
        return challengeTypes.contains("tls-alpn-01");
    }

    /** Creates one issuer when the manager is built: ACME issuers need the store and the challenge solvers. */
    @FunctionalInterface
    public interface IssuerFactory {
        Issuer create(CertStore store, List<ChallengeSolver> solvers);
    }
}
