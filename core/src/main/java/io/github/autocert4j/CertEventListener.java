package io.github.autocert4j;

/**
 * Receives {@link CertEvent}s. Called on autocert4j's renewal thread: return quickly, and do not
 * throw (an exception is logged and otherwise ignored).
 *
 * <pre>{@code
 * AutoCert.builder().listener(e -> log.info("certificate event: {}", e))
 * }</pre>
 */
@FunctionalInterface
public interface CertEventListener {
    /** Handles one event. */
    void onEvent(CertEvent event);
}
