package io.github.autocert4j.spring.boot;

import java.util.List;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertEventListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands every event to each {@link CertEventListener} bean of the application (the starter's
 * metrics among them), in their order; one that throws does not keep the event from the others.
 */
final class CompositeListener implements CertEventListener {
    private static final Logger LOG = LoggerFactory.getLogger(CompositeListener.class);

    private final List<CertEventListener> listeners;

    CompositeListener(List<CertEventListener> listeners) {
        this.listeners = List.copyOf(listeners);
    }

    @Override
    public void onEvent(CertEvent event) {
        for (CertEventListener listener : listeners) {
            try {
                listener.onEvent(event);
            } catch (RuntimeException e) {
                LOG.warn("autocert4j: event listener {} threw on {}: {}", listener, event.getClass().getSimpleName(), e.toString());
            }
        }
    }

    @Override
    public String toString() {
        return "CompositeListener" + listeners;
    }
}
