package io.github.autocert4j.spring.boot;

import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the requests for {@code /.well-known/acme-challenge/} answered on the plain-HTTP port, by
 * the status they got: 200 (a pending token: the CA validating), 404 (unknown token), 503 (the
 * shared store could not tell: the load balancer should try another replica), 400 (malformed),
 * 405 (method). Kept free of Micrometer so that counting works without it.
 */
final class ChallengeRequests {
    /** The statuses a challenge request can get, in the order the metrics list them. */
    static final List<Integer> STATUSES = List.of(200, 400, 404, 405, 503);

    private final LongAdder ok = new LongAdder();
    private final LongAdder badRequest = new LongAdder();
    private final LongAdder notFound = new LongAdder();
    private final LongAdder methodNotAllowed = new LongAdder();
    private final LongAdder unavailable = new LongAdder();

    void record(int status) {
        LongAdder counter = counter(status);
        if (counter != null) {
            counter.increment();
        }
    }

    /** Requests answered with {@code status} so far (0 for a status not in {@link #STATUSES}). */
    long count(int status) {
        LongAdder counter = counter(status);
        return counter == null ? 0 : counter.sum();
    }

    private LongAdder counter(int status) {
        return switch (status) {
            case 200 -> ok;
            case 400 -> badRequest;
            case 404 -> notFound;
            case 405 -> methodNotAllowed;
            case 503 -> unavailable;
            default -> null;
        };
    }

    @Override
    public String toString() {
        return "ChallengeRequests[200=" + ok.sum() + ", 400=" + badRequest.sum() + ", 404=" + notFound.sum() + ", 405="
                + methodNotAllowed.sum() + ", 503=" + unavailable.sum() + "]";
    }
}
