package io.github.autocert4j;

import io.github.autocert4j.internal.tls.FreshSessionsContext;
import io.github.autocert4j.internal.util.LogSafe;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Enumeration;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps resumed TLS sessions from serving a certificate that is no longer live. A TLS stack asks
 * the key manager for a certificate only on a full handshake; a client that resumes a session
 * (a TLS 1.2 session ID, a TLS 1.3 ticket) is served under the certificate of the session it
 * resumes, however old. So, for every TLS listener registered here:
 * <ul>
 *   <li>whenever a certificate goes live (a renewal, a certificate replacing the self-signed
 *       fallback, a store change made by another server) the listener's sessions are dropped
 *       ({@link Host#dropSessions()}): cached session IDs are invalidated and ticket keys renewed,
 *       so the next connection of every client is a full handshake that gets the live certificate;</li>
 *   <li>no session outlives its certificate: the listener's session lifetime is kept at most
 *       the time left until the earliest {@code notAfter} of the served certificates (capped at
 *       24 hours, the JDK's default; certificates already expired are left out, since a full
 *       handshake would serve them just the same), re-applied as that time shrinks.</li>
 * </ul>
 * The decision (when to drop, how long a session may live) is made here once; adapters only
 * register each listener's hook: {@link #guard(SSLSessionContext)} for a JSSE context,
 * {@link #guard(SSLSessionContext, SessionSecrets)} for an OpenSSL one (Netty's OpenSSL provider), or
 * {@link #register(Object, Host)} for another TLS stack.
 *
 * <pre>{@code
 * autoCert.tlsSessions().guard(sslContext.getServerSessionContext());
 * }</pre>
 */
public final class TlsSessions {
    private static final Logger LOG = LoggerFactory.getLogger(TlsSessions.class);
    /** The JDK's default session lifetime; never longer than this. */
    static final Duration MAX_LIFETIME = Duration.ofHours(24);
    /** How often the lifetime is re-applied at most; a shrinking remaining validity re-applies sooner. */
    static final Duration MAX_REFRESH = Duration.ofHours(1);

    /** What a TLS listener does when its sessions must go; called from any thread. */
    public interface Host {
        /** Makes every session and ticket issued so far unusable for resumption. */
        void dropSessions();

        /** Limits the lifetime of sessions (and tickets) to {@code seconds} (at least 1). */
        void limitSessionLifetime(int seconds);
    }

    private final Clock clock;
    private final Supplier<List<X509Certificate>> servedLeaves;
    private final ScheduledExecutorService executor;
    private final Map<Object, Host> hosts = Collections.synchronizedMap(new IdentityHashMap<>());
    private ScheduledFuture<?> refresh; // guarded by this
    private boolean closed; // guarded by this
    private int lifetimeSeconds = (int) MAX_LIFETIME.toSeconds(); // guarded by this
    private Instant earliestNotAfter; // guarded by this: the earliest notAfter at the last refresh
    private final java.security.Provider jsseProvider = new FreshSessionsContext.JsseProvider(this);
    /** Session ID contexts and ticket keys for {@link #guard(SSLSessionContext, SessionSecrets)}; seeded on first use. */
    private final java.security.SecureRandom random = new java.security.SecureRandom();

    TlsSessions(Clock clock, Supplier<List<X509Certificate>> servedLeaves, ScheduledExecutorService executor) {
        this.clock = clock;
        this.servedLeaves = servedLeaves;
        this.executor = executor;
    }

    /**
     * Guards a JSSE server session context (of an {@code SSLContext} whose key manager is the
     * AutoCert's): on a swap every cached session is invalidated, and its session timeout is kept
     * within the served certificates' validity. Registering the same context again does nothing.
     */
    public void guard(SSLSessionContext context) {
        int configured = context.getSessionTimeout(); // 0: unlimited
        register(context, new Host() {
            @Override
            public void dropSessions() {
                invalidateAll(context);
            }

            @Override
            public void limitSessionLifetime(int seconds) {
                context.setSessionTimeout(configured == 0 ? seconds : Math.min(configured, seconds));
            }
        });
    }

    /**
     * Renews what an OpenSSL-based server session context resumes under, for
     * {@link #guard(SSLSessionContext, SessionSecrets)}: BoringSSL and OpenSSL resume a session only
     * under the session ID context it was made in (TLS 1.2 IDs and TLS 1.3 tickets alike), and
     * decrypt a ticket only with the keys that sealed it.
     */
    public interface SessionSecrets {
        /**
         * Installs a new session ID context and new ticket keys, all random: Netty's
         * {@code server.setSessionIdContext(sessionIdContext);
         * server.setTicketKeys(new OpenSslSessionTicketKey(ticketKeyName, ticketHmacKey, ticketAesKey))}.
         *
         * @param sessionIdContext 32 bytes
         * @param ticketKeyName 16 bytes
         * @param ticketHmacKey 16 bytes
         * @param ticketAesKey 16 bytes
         */
        void renew(byte[] sessionIdContext, byte[] ticketKeyName, byte[] ticketHmacKey, byte[] ticketAesKey);
    }

    /**
     * Guards the server session context of an OpenSSL-based TLS stack (Netty's
     * {@code OpenSslServerSessionContext}): on a swap {@code secrets} get a new session ID context
     * and new ticket keys (BoringSSL then refuses every earlier session and ticket) and every cached
     * session is invalidated; its session timeout is kept within the served certificates' validity.
     * The one copy of the hook the Netty adapter and the Spring Boot starter (Reactor Netty) each
     * wrote; registering the same context again does nothing.
     *
     * <pre>{@code
     * if (sslContext.sessionContext() instanceof OpenSslServerSessionContext server) {
     *     autoCert.tlsSessions().guard(server, (id, name, hmac, aes) -> {
     *         server.setSessionIdContext(id);
     *         server.setTicketKeys(new OpenSslSessionTicketKey(name, hmac, aes));
     *     });
     * }
     * }</pre>
     */
    public void guard(SSLSessionContext context, SessionSecrets secrets) {
        java.util.Objects.requireNonNull(secrets, "secrets");
        int configured = context.getSessionTimeout(); // 0: unlimited
        register(context, new Host() {
            @Override
            public void dropSessions() {
                secrets.renew(randomBytes(32), randomBytes(16), randomBytes(16), randomBytes(16));
                invalidateAll(context);
            }

            @Override
            public void limitSessionLifetime(int seconds) {
                context.setSessionTimeout(configured == 0 ? seconds : Math.min(configured, seconds));
            }
        });
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /**
     * A JSSE provider whose {@code SSLContext.getInstance("TLS", provider)} contexts are registered
     * here when initialized and become a new JDK context after every swap (the only public way to
     * retire the JDK's stateless session tickets, which cached-session invalidation does not
     * reach). For TLS stacks that take a provider, e.g. Netty's {@code SslContextBuilder.sslContextProvider}.
     */
    public java.security.Provider jsseProvider() {
        return jsseProvider;
    }

    /** A new TLS context, initialized by the caller, that renews itself on every swap (see {@link #jsseProvider()}). */
    SSLContext newRenewingContext() {
        return FreshSessionsContext.create(this, jsseProvider);
    }

    /**
     * Registers {@code host}, keyed by {@code owner} (identity; a second registration for the same
     * owner does nothing), and applies the current session lifetime to it at once.
     */
    public void register(Object owner, Host host) {
        if (hosts.putIfAbsent(owner, host) != null) {
            return;
        }
        int seconds;
        synchronized (this) {
            seconds = lifetimeSeconds;
        }
        host.limitSessionLifetime(seconds);
        refreshLifetime();
    }

    /**
     * The longest a session may live now, in seconds: the time left until the earliest
     * {@code notAfter} of the certificates served, less the refresh period, capped at 24 hours.
     */
    public int maxSessionSeconds() {
        return computeLifetime()[0];
    }

    /**
     * Called when a certificate went live. If it replaced one that was served (a renewal, a store
     * change, the self-signed fallback some client got), every listener's sessions are dropped;
     * the lifetime is re-applied when that happened or the new certificate expires first.
     */
    void certificateInstalled(X509Certificate leaf, boolean replaced) {
        if (replaced) {
            certificateSwapped();
            return;
        }
        boolean earlier;
        synchronized (this) {
            earlier = earliestNotAfter == null || leaf.getNotAfter().toInstant().isBefore(earliestNotAfter);
        }
        if (earlier && !hosts.isEmpty()) {
            refreshLifetime(); // O(certificates): only when this certificate shortens the lifetime
        }
    }

    /** Drops every listener's sessions, then re-applies the lifetime. */
    void certificateSwapped() {
        Host[] all = hosts();
        for (Host h : all) {
            try {
                h.dropSessions();
            } catch (RuntimeException e) {
                LOG.warn("autocert4j: dropping TLS sessions after a certificate swap failed: {}", LogSafe.text(e.toString()));
            }
        }
        if (all.length > 0) {
            refreshLifetime();
        }
    }

    private Host[] hosts() {
        synchronized (hosts) {
            return hosts.values().toArray(new Host[0]);
        }
    }

    /** {lifetime seconds, refresh delay seconds, seconds to the earliest notAfter (or -1)} */
    private int[] computeLifetime() {
        Instant now = clock.instant();
        long remaining = MAX_LIFETIME.toSeconds() + MAX_REFRESH.toSeconds();
        long earliest = -1;
        for (X509Certificate leaf : servedLeaves.get()) {
            long left = leaf.getNotAfter().toInstant().getEpochSecond() - now.getEpochSecond();
            if (left > 0) {
                remaining = Math.min(remaining, left);
                earliest = earliest < 0 ? left : Math.min(earliest, left);
            }
        }
        // A session made just before the next refresh lives until refresh + lifetime <= notAfter.
        long period = Math.max(1, Math.min(MAX_REFRESH.toSeconds(), remaining / 4));
        long lifetime = Math.max(1, Math.min(MAX_LIFETIME.toSeconds(), remaining - period));
        // The next refresh comes no later than the earliest notAfter, where every session is dropped.
        long delay = earliest > 0 ? Math.max(1, Math.min(period, earliest)) : period;
        return new int[] {(int) lifetime, (int) delay, (int) earliest};
    }

    void refreshLifetime() {
        int[] computed = computeLifetime();
        boolean expired;
        synchronized (this) {
            Instant now = clock.instant();
            // A certificate reached its notAfter since the last refresh: stacks whose session lifetime
            // cannot be set exactly (BoringSSL's TLS 1.3 tickets keep 2 days) lose every session now.
            expired = earliestNotAfter != null && !now.isBefore(earliestNotAfter);
            earliestNotAfter = computed[2] > 0 ? now.plusSeconds(computed[2]) : null;
            lifetimeSeconds = computed[0];
            if (refresh != null) {
                refresh.cancel(false);
            }
            try {
                refresh = closed ? null : executor.schedule(this::refreshLifetime, computed[1], TimeUnit.SECONDS);
            } catch (RuntimeException e) {
                refresh = null; // the executor was shut down: no more refreshes
            }
        }
        if (expired) {
            LOG.info("autocert4j: a served certificate reached its notAfter: dropping TLS sessions so that none outlives it");
            for (Host h : hosts()) {
                try {
                    h.dropSessions();
                } catch (RuntimeException e) {
                    LOG.warn("autocert4j: dropping TLS sessions at a certificate's expiry failed: {}", LogSafe.text(e.toString()));
                }
            }
        }
        for (Host h : hosts()) {
            try {
                h.limitSessionLifetime(computed[0]);
            } catch (RuntimeException e) {
                LOG.warn("autocert4j: limiting the TLS session lifetime failed: {}", LogSafe.text(e.toString()));
            }
        }
    }

    /** How many listeners are registered. */
    int registered() {
        return hosts.size();
    }

    /** Stops the refreshes (the AutoCert was closed); listeners keep the last lifetime applied. */
    synchronized void close() {
        closed = true;
        if (refresh != null) {
            refresh.cancel(false);
            refresh = null;
        }
    }

    /** Invalidates every session cached in {@code context}; returns how many. */
    static int invalidateAll(SSLSessionContext context) {
        int n = 0;
        for (Enumeration<byte[]> ids = context.getIds(); ids.hasMoreElements(); ) {
            SSLSession s = context.getSession(ids.nextElement());
            if (s != null) {
                s.invalidate();
                n++;
            }
        }
        return n;
    }
}
