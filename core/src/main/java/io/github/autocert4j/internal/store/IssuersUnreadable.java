package io.github.autocert4j.internal.store;

import java.io.IOException;

/**
 * The store did not answer when the record of issuers ({@link IssuerRecord}) was read: whether a
 * chain links to a recorded issuer is not known, which is not a problem of the chain.
 */
public final class IssuersUnreadable extends IOException {
    private static final long serialVersionUID = 1L;

    IssuersUnreadable(String message, Throwable cause) {
        super(message, cause);
    }
}
