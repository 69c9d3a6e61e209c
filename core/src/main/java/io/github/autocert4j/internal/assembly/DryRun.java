package io.github.autocert4j.internal.assembly;

import io.github.autocert4j.internal.config.Config;

import io.github.autocert4j.internal.acme.CaTrust;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.DryRunResult;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.internal.acme.AcmeIssuer;
import io.github.autocert4j.internal.acme.Csr;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.tls.ChainVerifier;
import io.github.autocert4j.internal.util.DaemonThreads;
import io.github.autocert4j.internal.util.LogSafe;

import java.math.BigInteger;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import javax.net.ssl.SSLContext;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * certbot's {@code renew --dry-run}: orders every configured certificate from a test CA with an
 * account at that CA, answering the challenges through the running manager's own responders (so
 * the host's real ports are what the test CA reaches), verifies what comes back, and discards it.
 * The test CA's account is kept in the store under its own CA id ({@code acme/<test-ca-id>/account/}),
 * so every dry run reuses it (Let's Encrypt limits new accounts per IP address, and staging is no
 * exception); nothing else is written: the live certificates, their files and the real CAs'
 * accounts are never touched, and the responders publish nothing to the store for it.
 */
public final class DryRun {
    private static final Logger LOG = LoggerFactory.getLogger(DryRun.class);

    private DryRun() {
    }

    /** Starts the dry run on its own thread (never the renewal executor: renewals must not wait for it). */
    public static CompletableFuture<DryRunResult> start(AcmeCa ca, Config config, List<List<String>> certificates,
                                                 List<ChallengeSolver> solvers) {
        List<String> problems = ca == null ? List.of("dryRun: no test CA. Fix: dryRun(AcmeCa.of(AutoCert.LETS_ENCRYPT_STAGING))")
                : ca.problems("dryRun(" + ca.directory() + ")");
        if (!problems.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(String.join("; ", problems)));
        }
        CompletableFuture<DryRunResult> result = new CompletableFuture<>();
        SSLContext trust;
        try {
            trust = ca.serverTrust() == null ? null : CaTrust.from(ca.serverTrust());
        } catch (Exception e) {
            result.completeExceptionally(new IllegalArgumentException("dryRun: cannot use the trust file " + ca.serverTrust()
                    + " (" + e.getMessage() + "). Fix: pass a readable PEM file with the test CA's certificate(s)", e));
            return result;
        }
        // The store holds the test CA's account next to the real ones (its own CA id): one account, reused.
        AcmeIssuer issuer = new AcmeIssuer(ca, trust, config.store(), null, config.policy().httpTimeout(), solvers,
                config.challengeTypes());
        DaemonThreads.named("autocert4j-dry-run").newThread(() -> {
            try {
                result.complete(run(issuer, ca, config, certificates));
            } catch (InterruptedException e) {
                result.completeExceptionally(e);
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            }
        }).start();
        return result;
    }

    private static DryRunResult run(AcmeIssuer issuer, AcmeCa ca, Config config, List<List<String>> certificates)
            throws InterruptedException {
        List<DryRunResult.Outcome> outcomes = new ArrayList<>();
        for (List<String> names : certificates) {
            long t0 = System.nanoTime();
            BigInteger serial = null;
            IssuanceException failure = null;
            try {
                KeyPair key = config.keyType().generate();
                Issuer.Request request = new Issuer.Request(names, key.getPublic(), Csr.create(names, key), config.profile(), false,
                        null, config.policy().orderTimeout());
                Issuer.Result issued = issuer.issue(request);
                CertBundle bundle = new CertBundle(key, issued.chain());
                try {
                    ChainVerifier.verify(bundle, names, config.clock().instant());
                } catch (ChainVerifier.VerificationException e) {
                    throw IssuanceException.transientFailure("the test certificate from " + issuer.id()
                            + " failed verification: " + e.getMessage(), null);
                }
                serial = bundle.serial();
                LOG.info("autocert4j: dry run for {} succeeded at {} (test certificate serial {}, discarded)", names, ca.directory(),
                        serial.toString(16));
            } catch (IssuanceException e) {
                failure = e;
                LOG.warn("autocert4j: dry run for {} at {} failed: {}", names, ca.directory(), e.getMessage());
            } catch (RuntimeException e) {
                failure = IssuanceException.transientFailure("the dry run failed unexpectedly: " + LogSafe.text(e.toString()), e);
                LOG.warn("autocert4j: dry run for {} at {} failed unexpectedly", names, ca.directory(), e);
            }
            outcomes.add(new DryRunResult.Outcome(names, serial, failure, Duration.ofNanos(System.nanoTime() - t0)));
        }
        return new DryRunResult(ca.directory(), outcomes);
    }
}
