package io.github.autocert4j;

import io.github.autocert4j.internal.util.LogSafe;

import java.time.Instant;
import java.util.Optional;

/**
 * Why obtaining a certificate failed, already classified: whether retrying can help, when the CA
 * asked to be contacted again, and the CA's own problem type and detail. The message says what
 * happened and, where there is one, what to do about it. Text that came from the CA is escaped
 * (no control characters) and bounded in length before it gets here.
 *
 * <p>{@code renewNow()} futures fail with it, {@link CertEvent.Failed#failure()} carries it, and
 * {@link CertificateStatus#lastFailure()} keeps the latest one.
 *
 * <pre>{@code
 * autoCert.renewNow("example.com").exceptionally(t -> {
 *     if (t.getCause() instanceof IssuanceException e && e.permanent()) {
 *         alerts.page("certificate needs a human: " + e.getMessage());
 *     }
 *     return null;
 * });
 * }</pre>
 */
public final class IssuanceException extends Exception {
    private static final long serialVersionUID = 1L;

    private final boolean permanent;
    private final Instant retryAfter;
    private final String problemType;
    private final String detail;

    /**
     * @param message what happened and what to do, for logs and events
     * @param permanent true when retrying the same request cannot succeed (a name the CA refuses,
     *        an unsupported profile): autocert4j then stops retrying until {@code renewNow()} or a restart
     * @param retryAfter when the CA asked to be contacted again, or null
     * @param problemType the CA's problem type (e.g. {@code urn:ietf:params:acme:error:rateLimited}), or null
     * @param detail the CA's problem detail, or null
     * @param cause the underlying exception, or null
     */
    public IssuanceException(String message, boolean permanent, Instant retryAfter, String problemType, String detail,
                             Throwable cause) {
        super(LogSafe.text(message), cause);
        this.permanent = permanent;
        this.retryAfter = retryAfter;
        this.problemType = problemType == null ? null : LogSafe.text(problemType);
        this.detail = detail == null ? null : LogSafe.text(detail);
    }

    /** A failure that may go away on its own (network, CA outage, a failed validation): retried with backoff. */
    public static IssuanceException transientFailure(String message, Throwable cause) {
        return new IssuanceException(message, false, null, null, null, cause);
    }

    /** A failure that retrying cannot fix: reported, and not retried until {@code renewNow()} or a restart. */
    public static IssuanceException permanentFailure(String message) {
        return new IssuanceException(message, true, null, null, null, null);
    }

    /** Whether retrying cannot help. */
    public boolean permanent() {
        return permanent;
    }

    /** When the CA asked to be contacted again (its {@code Retry-After}), if it did. */
    public Optional<Instant> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    /** The CA's problem type, e.g. {@code urn:ietf:params:acme:error:rejectedIdentifier}, if the CA sent one. */
    public Optional<String> problemType() {
        return Optional.ofNullable(problemType);
    }

    /** The CA's problem detail, if the CA sent one. */
    public Optional<String> detail() {
        return Optional.ofNullable(detail);
    }
}
