package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the failed validations of each hostname at one issuer (one ACME account) under the CA's
 * limit: Let's Encrypt allows 5 failed authorizations per hostname per account per hour, and
 * answers the sixth with {@code rateLimited} (and, after many days of failures, pauses the
 * hostname for the account). An order for a name that already failed validation {@code max}
 * times within the rolling {@code window} is not sent: it fails at once, transiently, with
 * {@link IssuanceException#retryAfter()} set to the moment the oldest failure leaves the window,
 * which the renewal schedule honours (another configured CA may be tried meanwhile).
 *
 * <p>A failed validation is an {@link IssuanceException} with one of the ACME validation problem
 * types (RFC 8555 §6.7: {@code connection}, {@code dns}, {@code incorrectResponse}, {@code tls},
 * {@code unauthorized}, {@code caa}). It is counted for every name of the order: an upper bound
 * (the CA counts only the names whose authorization failed), so the limit is never exceeded.
 *
 * <p>The failure times are kept in the store ({@code validation-failures/<issuer>/<name>}, one
 * epoch-millisecond per line, only for names that failed), so a restarted process, and every
 * server sharing the store (and so the account), sees them too; if the store cannot be read or
 * written they are kept in memory meanwhile.
 */
public final class FailedValidationBudget implements Issuer {
    private static final Logger LOG = LoggerFactory.getLogger(FailedValidationBudget.class);

    /** Let's Encrypt's "Authorization Failures per Hostname per Account": 5 per hour. */
    public static final int DEFAULT_MAX = 5;
    public static final Duration DEFAULT_WINDOW = Duration.ofHours(1);
    /** Above this many tracked names, expired entries of all names are dropped on the next call. */
    private static final int PRUNE_ABOVE = 10_000;

    private static final Set<String> VALIDATION_PROBLEMS = Set.of("connection", "dns", "incorrectResponse", "tls",
            "unauthorized", "caa");

    private final Issuer delegate;
    private final int max;
    private final Duration window;
    private final Clock clock;
    private final CertStore store; // null: memory only
    /** Failure times per name, oldest first, as last read or written; guarded by this. */
    private final Map<String, Deque<Instant>> failures = new HashMap<>();

    public FailedValidationBudget(Issuer delegate, int max, Duration window, Clock clock, CertStore store) {
        this.delegate = delegate;
        this.max = max;
        this.window = window;
        this.clock = clock;
        this.store = store;
    }

    /** The issuer this budget guards. */
    public Issuer delegate() {
        return delegate;
    }

    private String key(String name) {
        return "validation-failures/" + StoreLayout.sanitize(delegate.id()) + "/" + StoreLayout.sanitize(name);
    }

    /** Refreshes {@code name}'s failures from the store (other servers, earlier runs); keeps memory if it cannot. Caller holds the lock. */
    private void refresh(String name) {
        if (store == null) {
            return;
        }
        try {
            java.util.Optional<byte[]> value = store.load(key(name));
            Deque<Instant> times = new ArrayDeque<>();
            if (value.isPresent()) {
                for (String line : new String(value.get(), java.nio.charset.StandardCharsets.US_ASCII).split("\n")) {
                    if (!line.isBlank()) {
                        times.addLast(Instant.ofEpochMilli(Long.parseLong(line.trim())));
                    }
                }
            }
            Deque<Instant> known = failures.get(name);
            if (known != null) {
                known.stream().filter(t -> !times.contains(t)).forEach(times::addLast); // failures the store missed
            }
            List<Instant> sorted = new ArrayList<>(times);
            sorted.sort(null);
            if (sorted.isEmpty()) {
                failures.remove(name);
            } else {
                failures.put(name, new ArrayDeque<>(sorted));
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("autocert4j: cannot read the failed validations of {} from the store ({}); using what this process saw",
                    name, LogSafe.text(e.toString()));
        }
    }

    /** Writes {@code name}'s failures to the store (deletes the key when none are left). Caller holds the lock. */
    private void save(String name) {
        if (store == null) {
            return;
        }
        Deque<Instant> times = failures.get(name);
        try {
            if (times == null || times.isEmpty()) {
                store.delete(key(name));
            } else {
                StringBuilder sb = new StringBuilder();
                times.forEach(t -> sb.append(t.toEpochMilli()).append('\n'));
                store.store(key(name), sb.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("autocert4j: cannot write the failed validations of {} to the store ({}); kept in memory", name,
                    LogSafe.text(e.toString()));
        }
    }

    @Override
    public String id() {
        return delegate.id();
    }

    @Override
    public Result issue(Request request) throws IssuanceException, InterruptedException {
        Instant now = clock.instant();
        String exhausted = null;
        Instant until = null;
        synchronized (this) {
            if (failures.size() > PRUNE_ABOVE) {
                for (String n : new ArrayList<>(failures.keySet())) {
                    expire(n, now);
                }
            }
            for (String name : request.names()) {
                refresh(name);
                int before = failures.containsKey(name) ? failures.get(name).size() : 0;
                int left = expire(name, now);
                if (left == 0 && before > 0) {
                    save(name); // all expired: the key goes
                }
                if (left >= max) {
                    Instant free = failures.get(name).peekFirst().plus(window);
                    if (until == null || free.isAfter(until)) {
                        until = free;
                        exhausted = name;
                    }
                }
            }
        }
        if (exhausted != null) {
            throw new IssuanceException("not ordering " + request.names() + " from " + delegate.id() + " before " + until + ": "
                    + exhausted + " failed validation " + max + " times within " + window + ", the CA's limit for one hostname "
                    + "(Let's Encrypt: 5 failed authorizations per hostname per account per hour); more attempts would only be "
                    + "refused as rateLimited. Fix: look at the previous failures' detail (the challenge the CA could not "
                    + "reach or verify), fix that, and renewNow() after " + until, false, until, null, null, null);
        }
        try {
            return delegate.issue(request);
        } catch (IssuanceException e) {
            if (validationFailure(e)) {
                Instant at = clock.instant();
                int worst = 0;
                synchronized (this) {
                    for (String name : request.names()) {
                        refresh(name);
                        Deque<Instant> times = failures.computeIfAbsent(name, n -> new ArrayDeque<>());
                        times.addLast(at);
                        worst = Math.max(worst, expire(name, at));
                        save(name);
                    }
                }
                if (worst >= max) {
                    LOG.warn("autocert4j: {} failed validation at {} {} times within {}; no new order for it before {} (the CA's "
                            + "limit per hostname)", request.names(), delegate.id(), worst, window, at.plus(window));
                }
            }
            throw e;
        }
    }

    /** Drops {@code name}'s failures that left the window; how many are left. Caller holds the lock. */
    private int expire(String name, Instant now) {
        Deque<Instant> times = failures.get(name);
        if (times == null) {
            return 0;
        }
        Instant oldestKept = now.minus(window);
        for (Iterator<Instant> it = times.iterator(); it.hasNext(); ) {
            if (it.next().isAfter(oldestKept)) {
                break;
            }
            it.remove();
        }
        if (times.isEmpty()) {
            failures.remove(name);
            return 0;
        }
        return times.size();
    }

    public static boolean validationFailure(IssuanceException e) {
        String type = e.problemType().orElse("");
        return type.startsWith("urn:ietf:params:acme:error:")
                && VALIDATION_PROBLEMS.contains(type.substring("urn:ietf:params:acme:error:".length()));
    }

    @Override
    public Optional<Window> renewalWindow(X509Certificate certificate) throws IssuanceException, InterruptedException {
        return delegate.renewalWindow(certificate);
    }

    /** The names currently with failures in the window (for tests and status). */
    public synchronized List<String> namesWithFailures() {
        return new ArrayList<>(failures.keySet());
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
