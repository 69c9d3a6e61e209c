package io.github.autocert4j;

import io.github.autocert4j.internal.util.Events;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoMoreInteractions;

import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.mockito.InOrder;

/**
 * The {@link CertEventListener} contract as {@link Events} delivers it: each event once, in the order
 * emitted, and a listener that throws (an injected fault: the mock's {@code doThrow}) neither
 * reaches the emitting thread nor stops the events after it. A mock listener states the contract as
 * interactions: exactly these calls, in this order, and nothing else.
 */
class EventsTest {
    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    final CertEvent loaded = new CertEvent.Loaded("example.com", T0, BigInteger.ONE, T0.plus(Duration.ofDays(90)));
    final CertEvent warning = new CertEvent.ExpiryWarning("example.com", T0.plusSeconds(1), T0.plus(Duration.ofDays(90)),
            Duration.ofDays(7));
    final CertEvent other = new CertEvent.Loaded("www.example.com", T0.plusSeconds(2), BigInteger.TWO, T0.plus(Duration.ofDays(90)));

    @Test
    void eachEventReachesTheListenerOnceInTheOrderEmitted() {
        CertEventListener listener = mock(CertEventListener.class);
        Events events = new Events(listener);
        events.emit(loaded);
        events.emit(warning);
        events.emit(other);
        InOrder order = inOrder(listener);
        order.verify(listener).onEvent(loaded);
        order.verify(listener).onEvent(warning);
        order.verify(listener).onEvent(other);
        verifyNoMoreInteractions(listener);
    }

    @Test
    void aListenerThatThrowsIsContainedAndStillGetsTheNextEvents() {
        CertEventListener listener = mock(CertEventListener.class);
        doThrow(new IllegalStateException("injected: listener bug")).when(listener).onEvent(loaded);
        Events events = new Events(listener);
        assertDoesNotThrow(() -> events.emit(loaded), "a listener's exception must not reach the renewal thread");
        events.emit(warning);
        events.emit(loaded);   // throws again: still contained
        verify(listener, times(2)).onEvent(loaded);
        verify(listener).onEvent(warning);
        verify(listener, times(3)).onEvent(any());
    }
}
