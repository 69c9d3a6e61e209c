package io.github.autocert4j;

import io.github.autocert4j.internal.tls.LiveKeyManager;
import io.github.autocert4j.internal.tls.SelfSigned;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

/**
 * The decision {@link TlsSessions} makes once for every TLS stack, with a manual clock and
 * scheduler: sessions go when a certificate that was served is replaced (not when a certificate
 * for a name nothing served goes live), no session lifetime reaches past the earliest notAfter of
 * the served certificates, the lifetime shrinks as that time nears, and every session is dropped
 * when a certificate reaches its notAfter.
 */
class SessionAfterSwapPolicyTest {
    static final Instant START = Instant.parse("2026-03-01T00:00:00Z");

    /** What a registered listener was told. */
    static final class Recorder implements TlsSessions.Host {
        final List<Integer> lifetimes = new CopyOnWriteArrayList<>();
        int drops;

        @Override
        public synchronized void dropSessions() {
            drops++;
        }

        @Override
        public void limitSessionLifetime(int seconds) {
            lifetimes.add(seconds);
        }

        int last() {
            return lifetimes.get(lifetimes.size() - 1);
        }
    }

    static X509Certificate leaf(Instant notAfter, String name) throws Exception {
        return SelfSigned.build("CN=" + name, List.of(name), notAfter.minus(Duration.ofDays(6)).plus(Duration.ofHours(1)),
                Duration.ofDays(6).minus(Duration.ofHours(1)), b -> { }).chain().get(0);
    }

    @Test
    void lifetimeStaysWithinTheEarliestNotAfterAndEverySessionGoesAtExpiry() throws Exception {
        ManualScheduler scheduler = new ManualScheduler(START);
        List<X509Certificate> served = new ArrayList<>();
        X509Certificate sixDays = leaf(START.plus(Duration.ofDays(6)), "six.example");
        served.add(sixDays);
        TlsSessions sessions = new TlsSessions(scheduler.clock(), () -> List.copyOf(served), scheduler);
        Recorder host = new Recorder();
        sessions.register(this, host);
        assertEquals(24 * 3600, host.last(), "6 days left: the 24-hour cap");
        sessions.register(this, new Recorder());
        assertEquals(1, sessions.registered(), "a second registration for the same owner does nothing");

        X509Certificate soon = leaf(START.plus(Duration.ofMinutes(40)), "soon.example");
        served.add(soon);
        sessions.certificateInstalled(soon, false);
        assertEquals(0, host.drops, "a certificate for a name nothing served before: no session to drop");
        int lifetime = host.last();
        assertTrue(lifetime <= 40 * 60 && lifetime >= 20 * 60, "within the 40 minutes left: " + lifetime);

        // Each refresh comes before a session made since the previous one could outlive the certificate.
        int refreshes = 0;
        while (scheduler.now().isBefore(START.plus(Duration.ofMinutes(40))) && refreshes++ < 100) {
            Instant due = scheduler.nextDue();
            long leftAtRefresh = Duration.between(scheduler.now(), START.plus(Duration.ofMinutes(40))).toSeconds();
            // 1 s is the floor (a JDK timeout of 0 means unlimited); the drop at notAfter covers that last second.
            assertTrue(Duration.between(scheduler.now(), due).toSeconds() + host.last() <= leftAtRefresh || host.last() == 1,
                    "a session made just before the next refresh (" + due + ") ends by notAfter; lifetime " + host.last());
            scheduler.advanceTo(due);
        }
        assertTrue(refreshes < 100, "the refreshes reach notAfter in a bounded number of steps");
        scheduler.advance(Duration.ofSeconds(1));
        assertEquals(1, host.drops, "every session is dropped once the certificate reached notAfter");

        served.remove(soon);
        X509Certificate renewed = leaf(START.plus(Duration.ofDays(6)), "soon.example");
        served.add(renewed);
        sessions.certificateInstalled(renewed, true);
        assertEquals(2, host.drops, "a renewal drops every session");
        assertEquals(24 * 3600, host.last(), "and the lifetime is back to the cap");
        sessions.close();
    }

    @Test
    void theKeyManagerReportsAReplacementOnlyForARenewalOrANameTheFallbackWasServedTo() throws Exception {
        Instant now = Instant.now();
        LiveKeyManager km = new LiveKeyManager("a.example", () -> SelfSigned.create(List.of("a.example"), now));
        List<Boolean> replaced = new ArrayList<>();
        km.setOnInstall((leaf, r) -> replaced.add(r));
        km.install("b.example", List.of("b.example"), SelfSigned.create(List.of("b.example"), now));
        assertEquals(List.of(false), replaced, "nothing was served for b.example before");
        km.install("b.example", List.of("b.example"), SelfSigned.create(List.of("b.example"), now));
        assertEquals(List.of(false, true), replaced, "a renewal");
        assertEquals("fallback#0", km.chooseEngineServerAlias("EC", null, null), "no certificate for a.example yet: the fallback");
        km.install("a.example", List.of("a.example"), SelfSigned.create(List.of("a.example"), now));
        assertEquals(List.of(false, true, true), replaced, "the default certificate replaces the fallback a client got");
    }

    /**
     * The OpenSSL hook, decided here once for the Netty adapter and the starter: a swap renews the
     * session ID context and ticket keys (new random bytes every time, of the sizes BoringSSL takes)
     * and invalidates every cached session; the context's own timeout still caps the lifetime.
     */
    @Test
    void anOpenSslContextGetsNewSecretsOnEverySwapAndKeepsItsTimeoutCap() throws Exception {
        ManualScheduler scheduler = new ManualScheduler(START);
        X509Certificate sixDays = leaf(START.plus(Duration.ofDays(6)), "six.example");
        TlsSessions sessions = new TlsSessions(scheduler.clock(), () -> List.of(sixDays), scheduler);
        javax.net.ssl.SSLContext jdk = javax.net.ssl.SSLContext.getInstance("TLS");
        jdk.init(null, null, null);
        javax.net.ssl.SSLSessionContext context = jdk.getServerSessionContext();
        context.setSessionTimeout(600);
        List<byte[][]> renewed = new CopyOnWriteArrayList<>();
        sessions.guard(context, (id, name, hmac, aes) -> renewed.add(new byte[][] {id, name, hmac, aes}));
        assertEquals(600, context.getSessionTimeout(), "the context's own 10 minutes stay below the 24-hour cap");
        assertEquals(0, renewed.size(), "nothing renewed before a swap");
        sessions.certificateInstalled(sixDays, true);
        sessions.certificateInstalled(sixDays, true);
        assertEquals(2, renewed.size(), "one renewal per swap");
        for (byte[][] r : renewed) {
            assertEquals(List.of(32, 16, 16, 16), java.util.Arrays.stream(r).map(b -> b.length).toList());
        }
        assertTrue(!java.util.Arrays.equals(renewed.get(0)[0], renewed.get(1)[0]) && !java.util.Arrays.equals(renewed.get(0)[2], renewed.get(1)[2]),
                "fresh random secrets each time");
        sessions.guard(context, (id, name, hmac, aes) -> renewed.add(null));
        assertEquals(1, sessions.registered(), "guarding the same context again does nothing");
        sessions.close();
    }
}
