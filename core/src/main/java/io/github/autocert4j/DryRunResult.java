package io.github.autocert4j;

import java.math.BigInteger;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What a dry run ({@link AutoCert#dryRun()}) found: for each configured certificate, whether a
 * test CA issued it through this server's own challenge path, or why not. The test certificate and
 * its key are discarded; only the account at the test CA is kept in the store, for the next dry run.
 *
 * <pre>{@code
 * DryRunResult r = autoCert.dryRun().get(5, TimeUnit.MINUTES);
 * if (!r.succeeded()) {
 *     r.outcomes().stream().filter(o -> !o.succeeded())
 *             .forEach(o -> log.error("{} would fail: {}", o.names(), o.failure().getMessage()));
 * }
 * }</pre>
 *
 * @param directory the test CA's directory
 * @param outcomes one per configured certificate, in configuration order
 */
public record DryRunResult(URI directory, List<Outcome> outcomes) {

    /** Copies the outcomes. */
    public DryRunResult {
        outcomes = List.copyOf(outcomes);
    }

    /** Whether every certificate could be issued. */
    public boolean succeeded() {
        return outcomes.stream().allMatch(Outcome::succeeded);
    }

    /**
     * One certificate's dry run.
     *
     * @param names the certificate's names
     * @param serial the test certificate's serial number, or null if none was issued
     * @param failure why none was issued (the same classified failure a real renewal would report), or null
     * @param took how long the attempt took
     */
    public record Outcome(List<String> names, BigInteger serial, IssuanceException failure, Duration took) {

        /** Copies the names. */
        public Outcome {
            names = List.copyOf(names);
        }

        /** Whether the test CA issued a certificate that passed verification. */
        public boolean succeeded() {
            return failure == null;
        }

        /** The failure, if any. */
        public Optional<IssuanceException> failureIfAny() {
            return Optional.ofNullable(failure);
        }
    }
}
