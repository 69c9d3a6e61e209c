package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import java.security.cert.X509Certificate;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One ARI pick and one ARI fetch per window for a fleet (issue 18, RFC 9773 §4.2): three servers
 * on one {@link FileCertStore}, each with its own issuer that logs every ARI fetch (time and serial)
 * into one shared list, on one manual clock. Before, each server fetched the window itself and drew
 * its own moment, so the fleet renewed at the earliest of three picks.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SharedAriTest {
    static final Instant T0 = Instant.parse("2027-03-01T00:00:00Z");
    static final String APP = "app.ari.test";
    static final Duration HOUR = Duration.ofHours(1);
    static final Duration DAY = Duration.ofDays(1);
    static final Duration CHECK = RenewalPolicy.defaults().checkInterval();

    @TempDir
    Path dir;
    ManualScheduler sched;
    final List<AutoCert> nodes = new ArrayList<>();
    final List<FakeIssuer> issuers = new ArrayList<>();
    /** Every ARI fetch of the fleet: the test clock's time and the certificate's serial. */
    final List<Map.Entry<Instant, BigInteger>> fetches = new CopyOnWriteArrayList<>();
    final List<CertEvent> events = new CopyOnWriteArrayList<>();
    volatile Function<X509Certificate, Issuer.Window> window;

    @BeforeEach
    void setUp() {
        sched = new ManualScheduler(T0);
        window = cert -> new Issuer.Window(cert.getNotBefore().toInstant().plus(Duration.ofDays(50)),
                cert.getNotBefore().toInstant().plus(Duration.ofDays(55)), null, null);
    }

    @AfterEach
    void tearDown() {
        nodes.forEach(AutoCert::close);
    }

    AutoCert node() {
        FakeIssuer is = new FakeIssuer("fake-ca", sched.clock());
        is.windowFor = cert -> {
            fetches.add(Map.entry(sched.now(), cert.getSerialNumber()));
            return window.apply(cert);
        };
        issuers.add(is);
        AutoCert a = AutoCert.builder().issuer(is).certificate(APP).storageDirectory(dir).executor(sched).clock(sched.clock())
                .listener(events::add).build();
        nodes.add(a);
        a.start();
        sched.runDue();
        return a;
    }

    List<AutoCert> fleet(int n) {
        for (int i = 0; i < n; i++) {
            node();
        }
        return nodes;
    }

    int orders() {
        return issuers.stream().mapToInt(FakeIssuer::issueCalls).sum();
    }

    Instant pick(AutoCert a) {
        return a.managed(APP).ariChosen();
    }

    BigInteger serial(AutoCert a) {
        return a.status(APP).orElseThrow().serial();
    }

    String meta() throws Exception {
        return Files.readString(dir.resolve(StoreLayout.certMeta(APP)), StandardCharsets.UTF_8);
    }

    /** Consecutive fetches of one certificate across the fleet are at least {@code min} apart. */
    void assertOneFetchPer(Duration min) {
        Map<BigInteger, Instant> last = new ConcurrentHashMap<>();
        for (Map.Entry<Instant, BigInteger> f : fetches) {
            Instant before = last.put(f.getValue(), f.getKey());
            if (before != null) {
                assertTrue(Duration.between(before, f.getKey()).compareTo(min) >= 0,
                        "two fetches of serial " + f.getValue().toString(16) + " within " + min + ": " + before + ", " + f.getKey() + " in " + fetches);
            }
        }
    }

    @Test
    void sharedAriThreeNodesMakeOnePickAndOneFetchPerWindow() throws Exception {
        fleet(3);
        assertEquals(1, orders(), "one order: the later nodes loaded the first one's certificate");
        assertEquals(1, fetches.size(), "one ARI fetch for the fleet at start, not one per node: " + fetches);
        Instant pick = pick(nodes.get(0));
        assertNotNull(pick);
        for (AutoCert a : nodes) {
            assertEquals(pick, pick(a), "every node uses the first node's pick");
        }
        String meta = meta();
        assertTrue(meta.contains("ari.chosen=" + pick.toString().replace(":", "\\:")), "the pick is stored with the certificate: " + meta);
        assertTrue(meta.contains("ari.nextFetch="), meta);

        // 20 days: the window is fetched again every check interval (12 h), once for the fleet
        sched.advance(Duration.ofDays(20));
        assertOneFetchPer(CHECK);
        assertEquals(1 + 20 * 2, fetches.size(), "one fetch per 12 h for three nodes: " + fetches.size());
        for (AutoCert a : nodes) {
            assertEquals(pick, pick(a), "the pick does not change while the window stays the same");
        }

        // the renewal comes at the fleet's one pick, with one order; the others adopt it
        BigInteger before = serial(nodes.get(0));
        sched.advanceTo(pick.minusSeconds(1));
        assertEquals(1, orders());
        sched.advanceTo(pick.plusSeconds(1));
        assertEquals(2, orders(), "one order for the fleet");
        Instant orderedAt = issuers.stream().flatMap(i -> i.times.stream()).max(Instant::compareTo).orElseThrow();
        assertEquals(pick, orderedAt, "renewed exactly at the fleet's pick");
        BigInteger renewed = serial(nodes.get(0));
        assertFalse(before.equals(renewed));
        for (AutoCert a : nodes) {
            assertEquals(renewed, serial(a), "every node serves the renewal");
        }

        // the new certificate's window: one fetch and one pick again
        sched.advance(HOUR);
        long newFetches = fetches.stream().filter(f -> f.getValue().equals(renewed)).count();
        assertEquals(1, newFetches, "one fetch of the new certificate's window: " + fetches);
        Instant second = pick(nodes.get(0));
        assertNotNull(second);
        assertTrue(second.isAfter(pick.plus(Duration.ofDays(49))), "a pick in the new certificate's window: " + second);
        for (AutoCert a : nodes) {
            assertEquals(second, pick(a));
        }
        sched.advance(Duration.ofDays(10));
        assertOneFetchPer(CHECK);
    }

    @Test
    void sharedAriTheCasRetryAfterBoundsTheStoredWindowsFreshness() {
        window = cert -> new Issuer.Window(cert.getNotBefore().toInstant().plus(Duration.ofDays(50)),
                cert.getNotBefore().toInstant().plus(Duration.ofDays(55)), null, sched.now().plus(Duration.ofHours(3)));
        fleet(3);
        assertEquals(1, fetches.size());
        sched.advance(Duration.ofDays(2));
        assertOneFetchPer(Duration.ofHours(3));
        assertEquals(1 + 2 * 8, fetches.size(), "one fetch per Retry-After (3 h) for the fleet: " + fetches.size());
    }

    @Test
    void sharedAriAWindowTheCaMovesIsPickedOnceAgainAndTheFleetFollows() {
        fleet(3);
        Instant first = pick(nodes.get(0));
        sched.advance(DAY);
        // an incident: the CA moves the window to the next two days
        Instant moved = sched.now();
        window = cert -> new Issuer.Window(moved.plus(DAY), moved.plus(DAY.multipliedBy(2)), "https://ca.test/incident", null);
        sched.advance(CHECK.plus(HOUR));
        Instant second = pick(nodes.get(0));
        assertFalse(first.equals(second), "a new window, a new pick");
        assertFalse(second.isBefore(moved.plus(DAY)) || second.isAfter(moved.plus(DAY.multipliedBy(2))), second.toString());
        for (AutoCert a : nodes) {
            assertEquals(second, pick(a), "every node follows the one new pick");
        }
        assertOneFetchPer(CHECK);
        sched.advanceTo(second.plusSeconds(1));
        assertEquals(2, orders(), "one order at the new pick");
    }

    @Test
    void sharedAriANodeStartingWithAStaleRecordFetchesOnceAndKeepsThePickOfTheSameWindow() {
        node();
        Instant pick = pick(nodes.get(0));
        nodes.get(0).close();
        nodes.clear();
        sched.advance(DAY); // the stored record's next fetch (12 h) has passed
        int before = fetches.size();
        fleet(2);
        assertEquals(before + 1, fetches.size(), "the first of the new nodes fetches, the second uses its record: " + fetches);
        for (AutoCert a : nodes) {
            assertEquals(pick, pick(a), "the same window keeps the stored pick");
        }
    }
}
