package io.github.autocert4j.internal.acme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.shredzone.acme4j.Status;

/**
 * The schedule of {@link Authorizations#poll} (issue 23): a status that may be stale is polled at once, a current one
 * first after 20 ms; then 20 ms doubling, or the CA's Retry-After. Whether a poll slept is told without timing: the
 * calling thread is interrupted first, so any sleep throws at once.
 */
class AuthorizationsPollTest {
    private static final Set<Status> READY = Set.of(Status.READY, Status.VALID, Status.INVALID);

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    @Test
    void aStaleStatusIsPolledAtOnce() throws Exception {
        AtomicReference<Status> status = new AtomicReference<>(Status.PENDING);
        List<Long> fetches = new ArrayList<>();
        Thread.currentThread().interrupt();
        Status s = Authorizations.poll("order", () -> {
            fetches.add(System.nanoTime());
            status.set(Status.READY);
            return Optional.empty();
        }, status::get, READY, deadline(), false);
        assertEquals(Status.READY, s);
        assertEquals(1, fetches.size());
        assertTrue(Thread.interrupted(), "no sleep consumed the interrupt: the first poll did not wait");
    }

    @Test
    void aCurrentStatusIsPolledAfterTheFirstWait() {
        AtomicReference<Status> status = new AtomicReference<>(Status.PROCESSING);
        List<Long> fetches = new ArrayList<>();
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> Authorizations.poll("finalization", () -> {
            fetches.add(System.nanoTime());
            return Optional.empty();
        }, status::get, Set.of(Status.VALID, Status.INVALID), deadline(), true));
        assertEquals(List.of(), fetches, "slept before the first poll");
    }

    @Test
    void aFinalStatusIsNotPolled() throws Exception {
        Thread.currentThread().interrupt();
        assertEquals(Status.VALID, Authorizations.poll("order", () -> {
            throw new AssertionError("polled a final status");
        }, () -> Status.VALID, READY, deadline(), false));
    }

    @Test
    void afterTheFirstPollTheScheduleDoublesFrom20MsAndHonoursRetryAfter() throws Exception {
        AtomicReference<Status> status = new AtomicReference<>(Status.PENDING);
        List<Long> fetches = new ArrayList<>();
        Status s = Authorizations.poll("order", () -> {
            fetches.add(System.nanoTime());
            if (fetches.size() == 4) {
                status.set(Status.READY);
            }
            // The second answer asks for 300 ms.
            return fetches.size() == 2 ? Optional.of(Instant.now().plusMillis(300)) : Optional.empty();
        }, status::get, READY, deadline(), false);
        assertEquals(Status.READY, s);
        assertEquals(4, fetches.size());
        assertTrue(fetches.get(1) - fetches.get(0) >= Duration.ofMillis(20).toNanos(), "20 ms after the first poll");
        assertTrue(fetches.get(2) - fetches.get(1) >= Duration.ofMillis(250).toNanos(), "the Retry-After of the second answer");
        assertTrue(fetches.get(3) - fetches.get(2) >= Duration.ofMillis(40).toNanos(), "then doubled: 40 ms");
    }

    /** Past the finalization request (the CA may have signed) an interrupt does not end the poll; it is kept for the caller. */
    @Test
    void aCommittedPollSleepsThroughAnInterruptAndKeepsIt() throws Exception {
        AtomicReference<Status> status = new AtomicReference<>(Status.PROCESSING);
        List<Long> fetches = new ArrayList<>();
        Thread.currentThread().interrupt();
        Status s = Authorizations.poll("finalization", () -> {
            fetches.add(System.nanoTime());
            if (fetches.size() == 2) {
                status.set(Status.VALID);
            }
            return Optional.empty();
        }, status::get, Set.of(Status.VALID, Status.INVALID), deadline(), true, true);
        assertEquals(Status.VALID, s);
        assertEquals(2, fetches.size(), "polled on until valid");
        assertTrue(Thread.interrupted(), "the interrupt is restored for the caller");
    }

    private static long deadline() {
        return System.nanoTime() + Duration.ofSeconds(30).toNanos();
    }
}
