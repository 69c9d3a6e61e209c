package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.RenewalPolicy;
import io.github.autocert4j.internal.store.CertBundle;

import java.time.Instant;
import java.util.List;

/**
 * What {@link ManagedCertificate#status} reads: a consistent copy of one certificate's state,
 * published at the end of every unit of work, so readers never wait for the certificate's lock.
 */
record StatusView(CertBundle live, String profile, String issuerId, Instant lastAttempt, IssuanceException lastFailure,
                  int failures, boolean permanent, Instant nextCheck, Instant ariChosen) {
    /** Before the first unit of work: nothing live, nothing tried. */
    static final StatusView NONE = new StatusView(null, null, null, null, null, 0, false, null, null);

    /** The public status of certificate {@code id} at {@code now}, as this copy shows it. */
    CertificateStatus status(String id, List<String> names, RenewalPolicy policy, Instant now) {
        CertificateStatus.State state;
        if (live == null) {
            state = permanent ? CertificateStatus.State.FAILED : CertificateStatus.State.PENDING;
        } else if (!now.isBefore(live.notAfter())) {
            state = CertificateStatus.State.EXPIRED;
        } else {
            state = permanent ? CertificateStatus.State.FAILED : CertificateStatus.State.VALID;
        }
        CertBundle l = live;
        return new CertificateStatus(id, names, state, l == null ? null : l.serial(),
                l == null ? null : l.leaf().getIssuerX500Principal().getName(), l == null ? null : issuerId,
                l == null ? null : l.notBefore(), l == null ? null : l.notAfter(), l == null ? null : profile,
                lastAttempt, lastFailure, failures, nextCheck,
                l == null ? null : RenewalPlanner.warningFrom(l.notBefore(), l.notAfter(), policy));
    }
}
