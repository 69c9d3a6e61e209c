package io.github.autocert4j.internal.names;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Internal: at most {@code max} on-demand orders per registrable domain (see {@link PublicSuffixes}) in any
 * window of {@code window} (a week by default, Let's Encrypt's window for its 50 certificates per
 * registered domain), counted in this process. Thread-safe.
 */
public final class RegistrableDomainBudget {
    private final PublicSuffixes list;
    private final int max;
    private final Duration window;
    private final Map<String, Deque<Instant>> orders = new HashMap<>();

    /** A budget of {@code max} orders per registrable domain per {@code window}. */
    public RegistrableDomainBudget(PublicSuffixes list, int max, Duration window) {
        this.list = list;
        this.max = max;
        this.window = window;
    }

    /**
     * Takes one order for {@code name} from its domain's budget at {@code now}; returns null if taken, else
     * why not (naming the fix). IP addresses and names without a registrable domain are not counted here.
     */
    public synchronized String tryOrder(String name, Instant now) {
        String domain = list.registrableDomain(name).orElse(null);
        if (domain == null) {
            return null;
        }
        Deque<Instant> times = orders.computeIfAbsent(domain, d -> new ArrayDeque<>());
        while (!times.isEmpty() && !times.peekFirst().isAfter(now.minus(window))) {
            times.pollFirst();
        }
        if (times.size() >= max) {
            return "on-demand orders for names under the registrable domain " + domain + " reached " + max + " in "
                    + window.toDays() + " days (Let's Encrypt allows 50 new certificates per registered domain per week). Fix: "
                    + "raise OnDemand.builder's maxOrdersPerRegistrableDomain(...) if your CA allows more, or refuse such names "
                    + "in the decision function";
        }
        times.addLast(now);
        return null;
    }
}
