package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.internal.util.LogSafe;

import java.time.Duration;
import java.time.Instant;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A configured certificate whose start-up read the store did not answer (down, a read that timed out,
 * a connection reset, a file it could not read): whether a certificate is stored is not known, so
 * it is neither served nor ordered ("cannot tell" is not "none stored": ordering would burn the CA's
 * limits once per node of a fleet). {@link StartupLoad} reads it again with bounded backoff; this
 * class makes {@code status()} and the listener say so meanwhile: {@code lastError()} names the
 * store, its failure and the fix, and one {@link CertEvent.Failed} is emitted per outage (not per
 * retry). Runs under the certificate's lock, inside {@link GoingLive#load}.
 */
final class NotLoadedYet {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedCertificate.class); // the certificate's log, as before
    /** What {@code lastError()} starts with while the certificate waits for the store. */
    static final String PREFIX = "not loaded from the store yet: ";

    private final ManagedCertificate m;
    /** The failure set by {@link #failed}, while it is the certificate's last failure. */
    private IssuanceException shown;
    private int reads;

    NotLoadedYet(ManagedCertificate m) {
        this.m = m;
    }

    /** The read of the stored certificate failed with {@code failure} (the store's own exception). */
    void failed(Exception failure) {
        if (m.stopped) { // removed or closed: a read that close() interrupted is no failure to report
            return;
        }
        reads++;
        Instant now = m.services.now();
        IssuanceException e = IssuanceException.transientFailure(PREFIX + "the store " + m.services.storage().store()
                + " could not be read for certificate " + m.id + " (" + LogSafe.text(String.valueOf(failure.getMessage()))
                + "). The self-signed fallback is served for " + String.join(", ", m.names) + " meanwhile; the store is read again every "
                + StartupLoad.RETRY_MAX.toSeconds() + " s at most and nothing is ordered from the CA until it answers. "
                + "Fix: make the store answer again (see its message); the stored certificate is then served without a restart", failure);
        boolean first = shown == null || m.lastFailure != shown;
        m.lastFailure = e;
        shown = e;
        if (first) {
            LOG.debug("autocert4j: {}", e.getMessage());
            m.emit(new CertEvent.Failed(m.id, now, e, reads, now.plus(StartupLoad.RETRY_MAX), Duration.ZERO));
        }
    }

    /** The store answered for this certificate (stored or not): what {@link #failed} showed no longer holds. */
    void answered() {
        if (shown != null && m.lastFailure == shown) {
            m.lastFailure = null;
        }
        shown = null;
        reads = 0;
    }

    /** Whether the last start-up read could not ask the store (then it is read again, not checked). */
    boolean waiting() {
        return shown != null;
    }
}
