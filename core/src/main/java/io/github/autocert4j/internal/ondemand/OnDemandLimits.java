package io.github.autocert4j.internal.ondemand;

import io.github.autocert4j.OnDemand;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The abuse limits of on-demand orders: a global token bucket (burst, then the hourly rate), a
 * minimum interval between two orders for one name, and an exponential backoff for names whose
 * order failed. The cap on concurrent orders is the on-demand worker pool's size. All state is
 * bounded: per-name memory is a fixed-size map that drops its oldest entries.
 */
public final class OnDemandLimits {
    private static final int MAX_NAMES = 100_000;

    private final OnDemand config;
    private double tokens;
    private Instant refilledAt;
    private final Map<String, NameState> names = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, NameState> eldest) {
            return size() > MAX_NAMES;
        }
    };

    private static final class NameState {
        public Instant lastOrder;
        public int failures;
        public Instant blockedUntil;
    }

    public OnDemandLimits(OnDemand config) {
        this.config = config;
        this.tokens = config.burst();
    }

    /** Takes one order slot for {@code name} at {@code now}; null if admitted, else why not. */
    public synchronized String tryStartOrder(String name, Instant now) {
        NameState s = names.get(name);
        if (s != null && s.blockedUntil != null && now.isBefore(s.blockedUntil)) {
            return "its last order failed; backing off until " + s.blockedUntil;
        }
        if (s != null && s.lastOrder != null && now.isBefore(s.lastOrder.plus(config.perNameInterval()))) {
            return "ordered at " + s.lastOrder + "; at most one order per " + config.perNameInterval() + " for a name";
        }
        refill(now);
        if (tokens < 1) {
            return "the on-demand order rate (" + config.ordersPerHour() + " per hour, burst " + config.burst() + ") is used up";
        }
        tokens -= 1;
        if (s == null) {
            s = new NameState();
            names.put(name, s);
        }
        s.lastOrder = now;
        return null;
    }

    public synchronized void succeeded(String name) {
        NameState s = names.get(name);
        if (s != null) {
            s.failures = 0;
            s.blockedUntil = null;
        }
    }

    public synchronized void failed(String name, Instant now) {
        NameState s = names.computeIfAbsent(name, n -> new NameState());
        s.failures++;
        s.lastOrder = null; // the failure backoff governs the next order, not the per-name interval
        Duration wait = config.failedNameBackoff().multipliedBy(1L << Math.min(20, s.failures - 1));
        if (wait.compareTo(config.maxFailedNameBackoff()) > 0) {
            wait = config.maxFailedNameBackoff();
        }
        s.blockedUntil = now.plus(wait);
    }

    private void refill(Instant now) {
        if (refilledAt != null) {
            double hours = Duration.between(refilledAt, now).toMillis() / 3_600_000.0;
            tokens = Math.min(config.burst(), tokens + Math.max(0, hours) * config.ordersPerHour());
        }
        refilledAt = now;
    }
}
