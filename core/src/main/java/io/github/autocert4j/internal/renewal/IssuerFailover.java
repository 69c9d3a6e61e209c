package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.internal.acme.Csr;
import io.github.autocert4j.internal.store.CertBundle;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issuer failover for one managed certificate: asks each issuer in turn (a CA that did not answer
 * lately last), skips one that asked to wait (its Retry-After) until then, and when all fail
 * reports every issuer's reason. Split out of {@link ManagedCertificate} (issue 19); guarded by
 * the certificate's lock.
 */
final class IssuerFailover {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedCertificate.class); // the certificate's log, as before

    /** What an issuer returned, with the fresh key. */
    record Issued(CertBundle bundle, String profile, String issuerId) {
    }

    private final String id;
    private final List<String> names;
    private final Services services;
    /** Per issuer id: not to be asked for this certificate before this instant (its Retry-After). */
    private final java.util.Map<String, Instant> askedToWait = new java.util.HashMap<>();

    IssuerFailover(String id, List<String> names, Services services) {
        this.id = id;
        this.names = names;
        this.services = services;
    }

    /**
     * Orders from each issuer in turn until one succeeds (failover); one fresh key for the attempt.
     * An issuer that asked to wait (its Retry-After) is skipped for this certificate until then,
     * so a rate-limited CA is not asked again early while another CA can issue.
     */
    Issued issue(CertBundle previous, String liveIssuer) throws IssuanceException, InterruptedException {
        KeyPair key = services.config().keyType().generate();
        byte[] csr = Csr.create(names, key);
        List<Issuer> issuers = services.issuersToAsk(); // a CA that did not answer lately comes last
        List<IssuanceException> failed = new ArrayList<>(); // failed.get(i) is issuers.get(i)'s: every pass that does not return adds one
        Instant now = services.now();
        for (int i = 0; i < issuers.size(); i++) {
            Issuer issuer = issuers.get(i);
            if (i > 0 && Thread.interrupted()) {
                // stopped while the previous CA refused an order past its finalization (which waits through interrupts):
                // no order at the next CA, whose first request an interrupt would cut after it reached the CA
                throw new InterruptedException("stopped: " + issuer.id() + " not asked for " + id);
            }
            Instant waitUntil = askedToWait.get(issuer.id());
            if (waitUntil != null && now.isBefore(waitUntil)) {
                failed.add(new IssuanceException(issuer.id() + " asked not to be contacted before " + waitUntil + " (Retry-After); skipped",
                        false, waitUntil, null, null, null));
                LOG.info("autocert4j: not asking {} for {} before {}, as it asked", issuer.id(), id, waitUntil);
                continue;
            }
            askedToWait.remove(issuer.id());
            // ARI's replaces names a certificate of the same CA only.
            X509Certificate replaces = previous != null && (liveIssuer == null || liveIssuer.equals(issuer.id())) ? previous.leaf() : null;
            Issuer.Request request = new Issuer.Request(names, key.getPublic(), csr, services.config().profile(),
                    services.config().requireProfile(), replaces, services.policy().orderTimeout());
            try {
                Issuer.Result result = issuer.issue(request);
                return new Issued(new CertBundle(key, result.chain()), result.profile(), issuer.id());
            } catch (IssuanceException e) {
                failed.add(e);
                e.retryAfter().ifPresent(t -> askedToWait.put(issuer.id(), t));
                if (i + 1 < issuers.size()) {
                    LOG.warn("autocert4j: {} could not issue {} ({}); trying {}", issuer.id(), id, e.getMessage(), issuers.get(i + 1).id());
                }
            } catch (RuntimeException e) {
                failed.add(IssuanceException.transientFailure(issuer.id() + " failed unexpectedly: " + e, e));
            }
        }
        if (failed.size() == 1) {
            throw failed.get(0);
        }
        StringBuilder why = new StringBuilder("every issuer failed:");
        Instant retry = null;
        boolean allAskedToWait = true;
        for (int i = 0; i < failed.size(); i++) {
            IssuanceException e = failed.get(i);
            why.append(i == 0 ? " " : "; ").append(issuers.get(i).id()).append(": ").append(e.getMessage());
            Instant r = e.retryAfter().orElse(null);
            allAskedToWait &= r != null;
            retry = r == null ? retry : retry == null || r.isBefore(retry) ? r : retry;
        }
        IssuanceException first = failed.get(0);
        throw new IssuanceException(why.toString(), failed.stream().allMatch(IssuanceException::permanent),
                allAskedToWait ? retry : null, first.problemType().orElse(null), first.detail().orElse(null), first);
    }
}
