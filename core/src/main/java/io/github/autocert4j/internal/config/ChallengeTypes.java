package io.github.autocert4j.internal.config;

import io.github.autocert4j.ChallengeSolver;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** The builder's challenge types, resolved and checked (split out of {@code AutoCertBuilder}, issue 19). */
public final class ChallengeTypes {

    private ChallengeTypes() {
    }

    /**
     * The challenge types in preference order: as given to {@code AutoCertBuilder.challengeTypes}, else http-01
     * followed by the added solvers' types (with a dns-01 solver: the solvers' types, dns-01 first, then http-01). Adds an error for an unknown, repeated or unanswerable type.
     */
    public static List<String> resolve(List<String> challengeTypes, List<ChallengeSolver> extraSolvers, List<String> errors) {
        Set<String> solvable = new java.util.LinkedHashSet<>(Config.BUILT_IN_CHALLENGE_TYPES);
        extraSolvers.forEach(s -> solvable.add(s.challengeType()));
        if (challengeTypes == null) {
            // A dns-01 solver means DNS-01 for every DNS name (the CA offers it for all of them), so a
            // host without port 80 works as configured; http-01 stays last, for IP addresses only.
            List<String> types = new ArrayList<>();
            boolean dns01 = extraSolvers.stream().anyMatch(s -> "dns-01".equals(s.challengeType()));
            types.add(dns01 ? "dns-01" : "http-01");
            extraSolvers.stream().map(ChallengeSolver::challengeType).filter(t -> t != null && !types.contains(t)).forEach(types::add);
            if (!types.contains("http-01")) {
                types.add("http-01");
            }
            return List.copyOf(types);
        }
        if (challengeTypes.isEmpty()) {
            errors.add("challengeTypes: none given. Fix: list at least one, e.g. .challengeTypes(\"http-01\") or .challengeTypes(\"tls-alpn-01\")");
            return List.of();
        }
        List<String> types = new ArrayList<>();
        for (String t : challengeTypes) {
            if (t == null || t.isBlank()) {
                errors.add("challengeTypes: an empty type. Fix: use \"http-01\", \"tls-alpn-01\" or \"dns-01\"");
            } else if (types.contains(t)) {
                errors.add("challengeTypes: '" + t + "' is listed twice. Fix: list each type once, most preferred first");
            } else if (!solvable.contains(t)) {
                errors.add("challengeTypes: '" + t + "' has no solver. Fix: " + ("dns-01".equals(t)
                        ? "add .challengeSolver(new Dns01Solver(yourDnsProvider)) (module autocert4j-dns)"
                        : "add .challengeSolver(aSolverFor(\"" + t + "\")) or remove it; built in are http-01 and tls-alpn-01"));
            } else {
                types.add(t);
            }
        }
        return List.copyOf(types);
    }
}
