package io.github.autocert4j;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * On-demand TLS: a certificate for a name nobody configured, obtained at the first handshake that
 * asks for it by SNI, if the application allows that name. For SaaS hosts whose customers point
 * their own domains at them.
 *
 * <p>Deny by default: a name is ordered only when the {@link Decider} says yes (it may look the
 * name up in a database; it is asynchronous and its answers are cached for
 * {@link Builder#decisionCacheTtl}). Names are normalized and validated first (no wildcards, IP
 * addresses only with {@code allowIpAddresses(true)}); a handshake without SNI never orders.
 * Abuse limits bound what a crawler sending random names can cause: a global rate with a burst,
 * a cap on concurrent orders, a minimum interval per name and a backoff for names that failed.
 *
 * <p>The handshake waits for the certificate up to {@link Builder#handshakeWait}, then fails with
 * a TLS alert (or gets the fallback certificate, see {@link OnTimeout}). Concurrent handshakes for
 * one name share one order. On Netty use the adapter's {@code AutoCertSsl.newHandler(...)}, which
 * waits without blocking the event loop; on Jetty and Tomcat the wait happens on the container's
 * worker thread that runs the handshake.
 *
 * <p>On-demand certificates are stored and renewed like configured ones, but not loaded at
 * start-up: a certificate is read from the store on its first handshake into a bounded in-memory
 * cache ({@link Builder#maxCertificatesInMemory}, least recently used evicted first), and a
 * background sweep over a compact index in the store renews the ones that are due.
 *
 * <pre>{@code
 * AutoCert autoCert = AutoCert.builder()
 *         .directory(AutoCert.LETS_ENCRYPT_PRODUCTION).agreeToTermsOfService(true)
 *         .onDemand(OnDemand.allow(name -> customers.hasDomainAsync(name)).build())
 *         .storageDirectory(Path.of("/var/lib/myapp/certs"))
 *         .build();
 * }</pre>
 */
public final class OnDemand {

    /** Decides whether a certificate may be obtained for a name. */
    @FunctionalInterface
    public interface Decider {
        /**
         * Completes with true if {@code serverName} (normalized: lower case, validated) may get a
         * certificate. May do I/O; must not block the calling thread for long (return a stage
         * that completes later instead). A stage that fails or completes with null means no.
         */
        CompletionStage<Boolean> allow(String serverName);
    }

    /** What a handshake gets when its certificate is not ready in time (or not allowed). */
    public enum OnTimeout {
        /** The handshake fails with a TLS alert; the client may retry once the certificate is live. */
        FAIL_HANDSHAKE,
        /** The handshake completes with the default (or self-signed fallback) certificate. */
        SERVE_FALLBACK
    }

    private final Decider decider;
    private final Duration decisionCacheTtl;
    private final Duration handshakeWait;
    private final OnTimeout onTimeout;
    private final int maxCertificatesInMemory;
    private final int maxConcurrentOrders;
    private final int ordersPerHour;
    private final int burst;
    private final Duration perNameInterval;
    private final Duration failedNameBackoff;
    private final Duration maxFailedNameBackoff;
    private final Duration sweepInterval;
    private final int maxOrdersPerRegistrableDomain;

    private OnDemand(Builder b) {
        this.decider = b.decider;
        this.decisionCacheTtl = b.decisionCacheTtl;
        this.handshakeWait = b.handshakeWait;
        this.onTimeout = b.onTimeout;
        this.maxCertificatesInMemory = b.maxCertificatesInMemory;
        this.maxConcurrentOrders = b.maxConcurrentOrders;
        this.ordersPerHour = b.ordersPerHour;
        this.burst = b.burst;
        this.perNameInterval = b.perNameInterval;
        this.failedNameBackoff = b.failedNameBackoff;
        this.maxFailedNameBackoff = b.maxFailedNameBackoff;
        this.sweepInterval = b.sweepInterval;
        this.maxOrdersPerRegistrableDomain = b.maxOrdersPerRegistrableDomain;
    }

    /** At most this many on-demand orders per registrable domain per 7 days, in this process (default 50). */
    public int maxOrdersPerRegistrableDomain() {
        return maxOrdersPerRegistrableDomain;
    }

    /** Starts configuring on-demand TLS for the names {@code decider} allows. */
    public static Builder allow(Decider decider) {
        return new Builder(decider);
    }

    /** The application's decision function. */
    public Decider decider() {
        return decider;
    }

    /** How long a decision (yes or no) is remembered. */
    public Duration decisionCacheTtl() {
        return decisionCacheTtl;
    }

    /** How long a handshake waits for its certificate. */
    public Duration handshakeWait() {
        return handshakeWait;
    }

    /** What a handshake gets when its certificate is not ready in time. */
    public OnTimeout onTimeout() {
        return onTimeout;
    }

    /** How many on-demand certificates stay loaded in memory. */
    public int maxCertificatesInMemory() {
        return maxCertificatesInMemory;
    }

    /** How many on-demand orders may run at once. */
    public int maxConcurrentOrders() {
        return maxConcurrentOrders;
    }

    /** Sustained rate of new on-demand orders, per hour, for the whole manager. */
    public int ordersPerHour() {
        return ordersPerHour;
    }

    /** How many new orders may start at once before the hourly rate applies. */
    public int burst() {
        return burst;
    }

    /** The minimum time between two orders for the same name. */
    public Duration perNameInterval() {
        return perNameInterval;
    }

    /** The first wait after a name's order failed; doubles per failure up to {@link #maxFailedNameBackoff()}. */
    public Duration failedNameBackoff() {
        return failedNameBackoff;
    }

    /** The longest wait after repeated failures for one name. */
    public Duration maxFailedNameBackoff() {
        return maxFailedNameBackoff;
    }

    /** How often the stored on-demand certificates are swept for renewal. */
    public Duration sweepInterval() {
        return sweepInterval;
    }

    @Override
    public String toString() {
        return "OnDemand[wait=" + handshakeWait + ", onTimeout=" + onTimeout + ", inMemory=" + maxCertificatesInMemory
                + ", concurrent=" + maxConcurrentOrders + ", perHour=" + ordersPerHour + ", burst=" + burst + "]";
    }

    /**
     * Configures {@link OnDemand}; {@link #build()} validates and names every bad field with its fix.
     *
     * <pre>{@code
     * OnDemand onDemand = OnDemand.allow(name -> CompletableFuture.completedFuture(name.endsWith(".shops.example")))
     *         .handshakeWait(Duration.ofSeconds(10))
     *         .maxCertificatesInMemory(10_000)
     *         .build();
     * }</pre>
     */
    public static final class Builder {
        private final Decider decider;
        private Duration decisionCacheTtl = Duration.ofMinutes(1);
        private Duration handshakeWait = Duration.ofSeconds(10);
        private OnTimeout onTimeout = OnTimeout.FAIL_HANDSHAKE;
        private int maxCertificatesInMemory = 10_000;
        private int maxConcurrentOrders = 16;
        private int ordersPerHour = 100;
        private int burst = 50;
        private Duration perNameInterval = Duration.ofMinutes(10);
        private Duration failedNameBackoff = Duration.ofMinutes(1);
        private Duration maxFailedNameBackoff = Duration.ofHours(6);
        private Duration sweepInterval = Duration.ofHours(1);
        private int maxOrdersPerRegistrableDomain = 50;

        private Builder(Decider decider) {
            this.decider = decider;
        }

        /** How long a decision is remembered, both ways (default 1 minute). */
        public Builder decisionCacheTtl(Duration ttl) {
            this.decisionCacheTtl = ttl;
            return this;
        }

        /** How long a handshake waits for its certificate (default 10 s). */
        public Builder handshakeWait(Duration wait) {
            this.handshakeWait = wait;
            return this;
        }

        /** What a handshake gets when its certificate is not ready in time (default: fail with a TLS alert). */
        public Builder onTimeout(OnTimeout action) {
            this.onTimeout = action;
            return this;
        }

        /** How many on-demand certificates stay loaded (default 10,000; the least recently used are dropped and reloaded from the store when needed). */
        public Builder maxCertificatesInMemory(int max) {
            this.maxCertificatesInMemory = max;
            return this;
        }

        /** How many on-demand orders may run at once (default 16). */
        public Builder maxConcurrentOrders(int max) {
            this.maxConcurrentOrders = max;
            return this;
        }

        /**
         * The global limit on new orders: {@code burst} at once, refilled at {@code perHour}
         * (default 50 and 100 per hour: within Let's Encrypt's 300 new orders per 3 hours).
         */
        public Builder orderRate(int perHour, int burst) {
            this.ordersPerHour = perHour;
            this.burst = burst;
            return this;
        }

        /** The minimum time between two orders for one name (default 10 minutes). */
        public Builder perNameInterval(Duration interval) {
            this.perNameInterval = interval;
            return this;
        }

        /** Backoff for a name whose order failed: {@code first}, doubling up to {@code max} (default 1 minute to 6 hours). */
        public Builder failedNameBackoff(Duration first, Duration max) {
            this.failedNameBackoff = first;
            this.maxFailedNameBackoff = max;
            return this;
        }

        /** How often stored on-demand certificates are swept for renewal (default 1 hour). */
        public Builder sweepInterval(Duration interval) {
            this.sweepInterval = interval;
            return this;
        }

        /**
         * At most {@code max} on-demand orders for names under one registrable domain ({@code example.co.uk} for
         * {@code a.example.co.uk}, by the Public Suffix List) per 7 days, counted in this process (default 50: Let's
         * Encrypt issues at most 50 new certificates per registered domain per week, so a 51st order would only fail,
         * and a decision function that lets through every subdomain of one domain cannot exhaust it for others).
         */
        public Builder maxOrdersPerRegistrableDomain(int max) {
            this.maxOrdersPerRegistrableDomain = max;
            return this;
        }

        /** Validates and freezes the configuration. */
        public OnDemand build() {
            List<String> errors = new ArrayList<>();
            if (decider == null) {
                errors.add("onDemand: no decider. Fix: OnDemand.allow(name -> yourCheck(name)) — deny-by-default needs a decision function");
            }
            positive(errors, "decisionCacheTtl", decisionCacheTtl, "Duration.ofMinutes(1)");
            positive(errors, "handshakeWait", handshakeWait, "Duration.ofSeconds(10)");
            positive(errors, "perNameInterval", perNameInterval, "Duration.ofMinutes(10)");
            positive(errors, "failedNameBackoff", failedNameBackoff, "Duration.ofMinutes(1)");
            positive(errors, "maxFailedNameBackoff", maxFailedNameBackoff, "Duration.ofHours(6)");
            positive(errors, "sweepInterval", sweepInterval, "Duration.ofHours(1)");
            if (onTimeout == null) {
                errors.add("onDemand.onTimeout: null. Fix: OnTimeout.FAIL_HANDSHAKE or OnTimeout.SERVE_FALLBACK");
            }
            if (maxCertificatesInMemory < 1) {
                errors.add("onDemand.maxCertificatesInMemory: " + maxCertificatesInMemory + ". Fix: a positive number, e.g. 10_000");
            }
            if (maxOrdersPerRegistrableDomain < 1) {
                errors.add("onDemand.maxOrdersPerRegistrableDomain: " + maxOrdersPerRegistrableDomain + ". Fix: a positive number, e.g. 50");
            }
            if (maxConcurrentOrders < 1) {
                errors.add("onDemand.maxConcurrentOrders: " + maxConcurrentOrders + ". Fix: a positive number, e.g. 16");
            }
            if (ordersPerHour < 1 || burst < 1) {
                errors.add("onDemand.orderRate: " + ordersPerHour + "/h, burst " + burst + ". Fix: positive numbers, e.g. orderRate(100, 50)");
            }
            if (failedNameBackoff != null && maxFailedNameBackoff != null && maxFailedNameBackoff.compareTo(failedNameBackoff) < 0) {
                errors.add("onDemand.failedNameBackoff: max " + maxFailedNameBackoff + " is below the first step " + failedNameBackoff
                        + ". Fix: failedNameBackoff(Duration.ofMinutes(1), Duration.ofHours(6))");
            }
            if (!errors.isEmpty()) {
                throw new IllegalArgumentException("invalid on-demand configuration:\n  - " + String.join("\n  - ", errors));
            }
            return new OnDemand(this);
        }

        private static void positive(List<String> errors, String field, Duration d, String example) {
            if (d == null || d.isZero() || d.isNegative()) {
                errors.add("onDemand." + field + ": " + d + ". Fix: a positive duration, e.g. " + example);
            }
        }
    }
}
