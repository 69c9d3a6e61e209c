package io.github.autocert4j.internal.util;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertEventListener;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers {@link CertEvent}s to the user's listener one at a time, in the order they were
 * emitted, whatever thread emits them (the renewal executor may have several threads; start-up
 * loads many certificates in parallel). A listener that throws is logged, never propagated.
 */
public final class Events {
    private static final Logger LOG = LoggerFactory.getLogger(Events.class);
    private final CertEventListener listener;

    public Events(CertEventListener listener) {
        this.listener = listener;
    }

    public synchronized void emit(CertEvent event) {
        try {
            listener.onEvent(event);
        } catch (RuntimeException e) {
            LOG.warn("autocert4j: event listener threw on {}: {}", event.getClass().getSimpleName(), LogSafe.text(e.toString()));
        }
    }
}
