package io.github.autocert4j;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.locks.ReentrantLock;

/** The mutable state of one managed certificate. Fields are guarded by {@code this}; orders by {@link #work}. */
final class Managed {
    final String id;
    final List<String> names;
    /** Held for the whole of a check or order, so one certificate never has two orders in flight. */
    final ReentrantLock work = new ReentrantLock();

    CertBundle live;
    String liveProfile;
    Instant lastAttempt;
    String lastError;
    int failures;
    boolean permanentFailure;
    /** The live certificate was loaded from the store but lacks a configured name: order at once. */
    boolean reorder;
    Instant nextCheck;
    AcmeClient.AriWindow ari;
    Instant ariChosen;
    Instant ariNextFetch;
    ScheduledFuture<?> scheduled;
    CompletableFuture<CertificateStatus> inFlight;

    Managed(String id, List<String> names) {
        this.id = id;
        this.names = List.copyOf(names);
    }

    synchronized boolean isLive() {
        return live != null;
    }

    synchronized CertificateStatus status(Instant now) {
        CertificateStatus.State state;
        if (live == null) {
            state = permanentFailure ? CertificateStatus.State.FAILED : CertificateStatus.State.PENDING;
        } else if (!now.isBefore(live.notAfter())) {
            state = CertificateStatus.State.EXPIRED;
        } else {
            state = permanentFailure ? CertificateStatus.State.FAILED : CertificateStatus.State.VALID;
        }
        return new CertificateStatus(id, names, state,
                live == null ? null : live.serial(),
                live == null ? null : live.leaf().getIssuerX500Principal().getName(),
                live == null ? null : live.notBefore(),
                live == null ? null : live.notAfter(),
                liveProfile, lastAttempt, lastError, failures, nextCheck);
    }

    @Override
    public String toString() {
        return "Managed[" + id + " " + names + "]";
    }
}
