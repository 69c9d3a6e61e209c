package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * ACME profiles against real Pebble 2.10 (profiles "default" 90 days and "week" 7 days) and
 * Pebble 2.6 (no profiles): the profile is checked against meta.profiles, sent with the order,
 * persisted with the certificate, served in the status after a restart and kept on renewal.
 */
@WithPebble(profiles = @WithPebble.Profile(name = "week", seconds = 7 * 24 * 3600))
class ProfilePebbleTest {
    static final String NAME = "profile.autocert4j.test";
    static final Duration T = Duration.ofSeconds(20);

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path store;

    AutoCert start(FaultProxy p, FaultProxy.ChallengeListener l, List<CertEvent> events, String profile, boolean require) {
        AutoCert a = PebbleAutoCerts.builderFor(p.directoryUri(), p.caPem())
                .certificate(NAME).storageDirectory(store).listener(events::add).profile(profile).requireProfile(require).build();
        l.responder = a.http01();
        a.start();
        return a;
    }

    @Test
    void profileIsOrderedPersistedAndKeptOnRenewal() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = start(CA.proxy(), CA.challenges(), events, "week", false)) {
            CertEvent.Issued issued = FaultMatrixTestAccess.await(events, CertEvent.Issued.class, T);
            assertEquals("week", issued.profile());
            CertificateStatus s = a.status(NAME).orElseThrow();
            assertEquals("week", s.profile());
            Duration lifetime = Duration.between(s.notBefore(), s.notAfter());
            assertTrue(lifetime.compareTo(Duration.ofDays(8)) < 0, "Pebble issued under the 7-day profile: " + lifetime);
        }
        java.util.Properties meta = new java.util.Properties();
        try (java.io.Reader r = Files.newBufferedReader(store.resolve(StoreLayout.certMeta(NAME)))) {
            meta.load(r);
        }
        assertEquals("week", meta.getProperty("profile"), "persisted with the certificate");

        // Restart: the stored profile shows in the status without contacting the CA; a renewal keeps it.
        List<CertEvent> events2 = new CopyOnWriteArrayList<>();
        try (AutoCert a = start(CA.proxy(), CA.challenges(), events2, "week", false)) {
            assertEquals("week", a.status(NAME).orElseThrow().profile());
            CertificateStatus renewed = a.renewNow(NAME).get(T.toSeconds(), TimeUnit.SECONDS);
            assertEquals("week", renewed.profile());
            assertTrue(Duration.between(renewed.notBefore(), renewed.notAfter()).compareTo(Duration.ofDays(8)) < 0);
        }
        List<FaultProxy.Seen> orders = CA.proxy().requests("POST", "newOrder");
        assertTrue(orders.size() >= 2 && orders.stream().allMatch(o -> o.payload().contains("\"profile\":\"week\"")), orders.toString());
    }

    @Test
    void requiredProfileTheCaLacksIsAPermanentReportedFailure() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = start(CA.proxy(), CA.challenges(), events, "tlsserver", true)) {
            CertEvent.Failed f = FaultMatrixTestAccess.await(events, CertEvent.Failed.class, T);
            assertTrue(f.permanent(), f.toString());
            assertTrue(f.error().contains("tlsserver") && f.error().contains("week") && f.error().contains("default"), f.error());
            CertificateStatus s = a.status(NAME).orElseThrow();
            assertEquals(CertificateStatus.State.FAILED, s.state());
            assertEquals(f.error(), s.lastError());
            assertNull(s.nextCheck());
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> a.renewNow(NAME).get(T.toSeconds(), TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("tlsserver"));
        }
        assertEquals(0, CA.proxy().count("POST", "newOrder"), "nothing was ordered");
    }

    @Test
    void optionalProfileTheCaLacksFallsBackWithAWarning() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try (AutoCert a = start(CA.proxy(), CA.challenges(), events, "tlsserver", false)) {
            CertEvent.Issued issued = FaultMatrixTestAccess.await(events, CertEvent.Issued.class, T);
            // Ordered without a profile: the status shows the profile the CA says it used, not null.
            assertNotNull(issued.profile(), "the CA's own choice is reported");
            assertEquals(issued.profile(), a.status(NAME).orElseThrow().profile());
        } finally {
            System.setErr(err);
        }
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(text.lines().anyMatch(l -> l.contains("WARN") && l.contains("tlsserver")), text);
        List<FaultProxy.Seen> orders = CA.proxy().requests("POST", "newOrder");
        assertEquals(1, orders.size());
        assertFalse(orders.get(0).payload().contains("\"profile\":"), orders.get(0).payload());
    }

    @Test
    void aCaWithoutProfilesFallsBackOrFailsAsConfigured() throws Exception {
        int port = FreePorts.loopback();
        try (PebbleServer old = PebbleServer.builder().flavor(PebbleServer.Flavor.ARI).httpPort(port).start();
             FaultProxy p = new FaultProxy(old, store);
             FaultProxy.ChallengeListener l = new FaultProxy.ChallengeListener(port)) {
            List<CertEvent> required = new CopyOnWriteArrayList<>();
            try (AutoCert a = start(p, l, required, "week", true)) {
                CertEvent.Failed f = FaultMatrixTestAccess.await(required, CertEvent.Failed.class, T);
                assertTrue(f.permanent() && f.error().contains("week"), f.toString());
            }
            List<CertEvent> optional = new CopyOnWriteArrayList<>();
            try (AutoCert a = start(p, l, optional, "week", false)) {
                CertEvent.Issued issued = FaultMatrixTestAccess.await(optional, CertEvent.Issued.class, T);
                assertNull(issued.profile());
            }
            assertTrue(p.requests("POST", "newOrder").stream().noneMatch(o -> o.payload().contains("\"profile\":")));
        }
    }
}
