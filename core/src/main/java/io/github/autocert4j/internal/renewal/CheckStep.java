package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.internal.renewal.Outcome.Next;

import java.time.Duration;
import java.time.Instant;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The check step of one {@link ManagedCertificate}: refresh the CA's renewal window (ARI), plan,
 * and either return the next check or hand over to the {@link OrderStep}.
 *
 * <p>Runs inside {@link ManagedCertificate}'s unit of work, under its one lock; it schedules
 * nothing itself (the unit schedules what it returns, in one place).
 */
final class CheckStep {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedCertificate.class); // the certificate's log, as before

    private final ManagedCertificate m;

    CheckStep(ManagedCertificate m) {
        this.m = m;
    }


    /** A scheduled check: refresh ARI if due, then renew if the plan says so, else look again later. */
    Outcome check() throws InterruptedException {
        if (m.permanent) {
            return new Outcome(Next.NEVER, null);
        }
        Instant now = m.services.now();
        if (m.live != null && m.services.policy().useAri()) {
            m.ariTracking.refresh(now, m.live, m.liveIssuer);
        }
        RenewalPlanner.Plan plan = m.renewReason != null ? new RenewalPlanner.Plan(true, now, m.renewReason)
                : RenewalPlanner.plan(m.live == null ? null : m.live.notBefore(), m.live == null ? null : m.live.notAfter(),
                        m.ariTracking.chosen(), now, m.services.policy(), m.services.random());
        Duration minAge = m.live == null ? ManagedCertificate.MIN_ARI_RENEWAL_AGE : min(ManagedCertificate.MIN_ARI_RENEWAL_AGE, m.live.lifetime().dividedBy(10));
        if (plan.renewNow() && plan.byAri() && m.liveSince != null && now.isBefore(m.liveSince.plus(minAge))) {
            Instant notBefore = m.liveSince.plus(minAge);
            LOG.warn("autocert4j: the CA's ARI window asks to renew {} again right after it went live; waiting until {}", m.id, notBefore);
            plan = new RenewalPlanner.Plan(false, notBefore, "ARI renewal deferred", false, notBefore);
        }
        m.ariTracking.logPlanned(plan);
        if (!plan.renewNow()) {
            Instant next = plan.nextCheck();
            Instant ariNextFetch = m.ariTracking.nextFetch();
            if (ariNextFetch != null && ariNextFetch.isBefore(next)) {
                next = ariNextFetch;
            }
            return new Outcome(Next.at(next), null);
        }
        if (m.live != null && !m.hooks.shouldRenew(m)) {
            LOG.info("autocert4j: not renewing {}: the on-demand decision no longer allows it", m.id);
            return new Outcome(Next.NEVER, null);
        }
        LOG.info("autocert4j: renewing {}: {}", m.id, plan.reason());
        return m.orderStep.attempt(false);
    }

    static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
