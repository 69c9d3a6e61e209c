package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.autocert4j.testkit.ForgedBundle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 20, the schedule around a rejected store entry (fake issuer, manual clock and executor): a
 * forged bundle a peer notification points at is rejected once however often it is notified, the live
 * certificate stays served, and a replacement is ordered at once; while orders are failing, the
 * replacement waits for the backoff's next attempt instead of adding an order.
 */
class ForgedCertificateScheduleTest {
    static final Instant T0 = Instant.parse("2027-03-01T00:00:00Z");
    static final String APP = "app.forged.test";

    @TempDir
    Path dir;
    ManualScheduler sched;
    FakeIssuer issuer;
    final List<CertEvent> events = new CopyOnWriteArrayList<>();
    final List<AutoCert> opened = new ArrayList<>();

    @BeforeEach
    void setUp() {
        sched = new ManualScheduler(T0);
        issuer = new FakeIssuer("fake-ca", sched.clock());
    }

    @AfterEach
    void tearDown() {
        opened.forEach(AutoCert::close);
    }

    AutoCert start() {
        AutoCert a = AutoCert.builder().issuer(issuer).certificate(APP).storageDirectory(dir).executor(sched).clock(sched.clock())
                .listener(events::add).build();
        opened.add(a);
        a.start();
        sched.runDue();
        return a;
    }

    ForgedBundle plant() throws Exception {
        ForgedBundle forged = ForgedBundle.withOwnCa(APP, "fake CA fake-ca");
        Files.write(dir.resolve(StoreLayout.certBundle(APP)), forged.pem());
        Files.write(dir.resolve(StoreLayout.certMeta(APP)), forged.meta("fake-ca"));
        return forged;
    }

    List<CertEvent.Rejected> rejected() {
        return events.stream().filter(CertEvent.Rejected.class::isInstance).map(CertEvent.Rejected.class::cast).toList();
    }

    static BigInteger served(AutoCert a) {
        return a.servedCertificate(APP).chain().get(0).getSerialNumber();
    }

    @Test
    void aForgedEntryIsRejectedOnceTheLiveCertificateStaysAndAReplacementIsOrderedAtOnce() throws Exception {
        AutoCert a = start();
        BigInteger first = a.status(APP).orElseThrow().serial();
        assertEquals(1, issuer.issueCalls());
        ForgedBundle forged = plant();
        a.managed(APP).peerChanged();
        a.managed(APP).peerChanged(); // the store notifies more than once
        assertEquals(first, served(a), "nothing ran yet: the live certificate is served");
        sched.runDue();
        assertEquals(1, rejected().size(), events.toString());
        assertEquals(forged.leaf().getSerialNumber(), rejected().get(0).serial());
        assertTrue(rejected().get(0).reason().contains("CN=fake CA fake-ca"), rejected().get(0).reason());
        assertEquals(2, issuer.issueCalls(), "one replacement ordered at once");
        BigInteger replacement = a.status(APP).orElseThrow().serial();
        assertNotEquals(first, replacement);
        assertNotEquals(forged.leaf().getSerialNumber(), replacement);
        assertEquals(replacement, served(a));
        assertEquals(null, a.status(APP).orElseThrow().lastError(), "the replacement's success clears the error");
    }

    @Test
    void whileOrdersFailTheReplacementWaitsForTheBackoff() throws Exception {
        AutoCert a = start();
        BigInteger first = a.status(APP).orElseThrow().serial();
        issuer.failNextTimes(1, "CA down");
        a.renewNow(APP);
        sched.runDue();
        CertificateStatus failing = a.status(APP).orElseThrow();
        assertEquals(1, failing.consecutiveFailures());
        Instant retry = failing.nextCheck();
        assertTrue(retry.isAfter(sched.clock().instant()), "a backoff retry is scheduled: " + retry);
        int calls = issuer.issueCalls();

        plant();
        a.managed(APP).peerChanged();
        sched.runDue();
        assertEquals(1, rejected().size(), events.toString());
        assertEquals(calls, issuer.issueCalls(), "no order before the backoff's next attempt");
        assertEquals(retry, a.status(APP).orElseThrow().nextCheck());
        assertTrue(a.status(APP).orElseThrow().lastError().contains("was not served"), a.status(APP).orElseThrow().lastError());
        assertEquals(first, served(a), "the last good certificate stays");

        sched.advanceTo(retry.plusSeconds(1));
        assertEquals(calls + 1, issuer.issueCalls(), "the backoff's attempt orders the replacement");
        assertNotEquals(first, a.status(APP).orElseThrow().serial());
        assertEquals(a.status(APP).orElseThrow().serial(), served(a));
    }
}
