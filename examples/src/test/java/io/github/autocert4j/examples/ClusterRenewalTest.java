package io.github.autocert4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.internal.LoadBalancer;

/**
 * A fleet of three node JVMs sharing one PostgreSQL, behind nginx where Pebble validates: one ACME order per
 * renewal (counted at the CA), every validation succeeds whichever node the CA reached, and every node serves each
 * new certificate within 10 s.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
@IntegrationTest
class ClusterRenewalTest {
    static final Duration ADOPTION_BOUND = Duration.ofSeconds(10);
    static final Duration SHORT_LIFETIME = Duration.ofSeconds(16);

    @TempDir
    static Path work;
    static ClusterHarness cluster;

    @BeforeAll
    static void startFleetParts() throws Exception {
        cluster = new ClusterHarness(work, SHORT_LIFETIME);
    }

    @AfterAll
    static void stopFleetParts() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void stopNodes() {
        cluster.stopNodes();
        cluster.freshStore();
    }

    @Test
    void twentyRenewalsMakeTwentyOrdersAndEveryNodeServesEachWithinTenSeconds() throws Exception {
        long ordersAtStart = cluster.orders();
        long validAtStart = cluster.validAuthorizations();
        long triggeredAtStart = cluster.ca.count("POST", "/chalZ/");
        int challengesAtStart = cluster.challengeRequests().size();
        cluster.startAll(Map.of(), 1, 2, 3);

        // first start: three nodes without a certificate try at once; one orders, two wait and adopt
        BigInteger first = awaitOneIssuer(null).serial();
        assertEquals(1, cluster.orders() - ordersAtStart, "one order for the first certificate" + cluster.diagnostics());
        Map<Integer, List<Long>> adoptionMillis = new LinkedHashMap<>();
        List<Integer> orderedBy = new ArrayList<>();
        List<Instant[]> windows = new ArrayList<>();
        BigInteger previous = first;
        for (int round = 1; round <= 20; round++) {
            long ordersBefore = cluster.orders();
            Instant roundStart = Instant.now();
            List<Integer> triggered = round % 2 == 1 ? List.of(((round / 2) % 3) + 1) : shuffled(1, 2, 3);
            // odd rounds: renewNow on one node (the others adopt through LISTEN/NOTIFY);
            // even rounds: renewNow on all three at the same moment (one orders, two find its certificate under the lock)
            List<CompletableFuture<String>> answers = new ArrayList<>();
            for (int k : triggered) {
                answers.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return cluster.admin(k, "POST", "/renew");
                    } catch (Exception e) {
                        return "error " + e;
                    }
                }));
            }
            List<String> replies = new ArrayList<>();
            for (CompletableFuture<String> a : answers) {
                replies.add(a.get(60, TimeUnit.SECONDS));
            }
            String renewed = replies.get(0).replaceFirst("^200 serial=([0-9a-f]+) .*$", "$1");
            for (String r : replies) {
                assertTrue(r.startsWith("200 serial=" + renewed + " "), "round " + round + " replies " + replies + cluster.diagnostics());
            }
            BigInteger serial = new BigInteger(renewed, 16);
            assertTrue(!serial.equals(previous), "round " + round + " renewed: " + replies);
            ClusterHarness.CertLine issued = awaitOneIssuer(serial);
            orderedBy.add(issued.node());
            // every node serves it within 10 s of going live on the ordering node (a real TLS client per node)
            for (int k = 1; k <= 3; k++) {
                Instant servedAt = cluster.awaitServed(k, serial, ADOPTION_BOUND);
                assertNotNull(servedAt, "round " + round + ": node " + k + " does not serve " + renewed + " within 10 s" + cluster.diagnostics());
                if (k != issued.node()) {
                    ClusterHarness.CertLine adopted = cluster.node(k).awaitCertificate(serial, Duration.ofSeconds(1));
                    assertNotNull(adopted, "node " + k + " reported the adoption");
                    assertTrue(!adopted.orderedHere(), "node " + k + " adopted, not ordered: " + adopted);
                    adoptionMillis.computeIfAbsent(k, x -> new ArrayList<>()).add(Duration.between(issued.at(), adopted.at()).toMillis());
                }
                assertTrue(Duration.between(issued.at(), servedAt).compareTo(ADOPTION_BOUND) <= 0, "node " + k + " round " + round);
            }
            assertEquals(1, cluster.orders() - ordersBefore, "round " + round + " (renewNow on " + triggered + "): exactly one order"
                    + cluster.diagnostics());
            windows.add(new Instant[] {roundStart, Instant.now()});
            previous = serial;
        }

        Thread.sleep(500); // a late second order would show up here
        assertEquals(21, cluster.orders() - ordersAtStart, "21 orders at the CA: the first certificate and 20 renewals");
        assertEquals(0, cluster.invalidAuthorizations(), "no validation failed, whichever node the CA reached");
        // Pebble reuses a valid authorization about 1 % of the time even with PEBBLE_AUTHZREUSE=0 (it creates a new one
        // only if rand.Intn(100) > 0): such an order needs no validation. Every challenge the nodes triggered was valid.
        long triggered = cluster.ca.count("POST", "/chalZ/") - triggeredAtStart;
        assertTrue(triggered >= 18 && triggered <= 21, "challenges triggered: " + triggered);
        assertEquals(triggered, cluster.validAuthorizations() - validAtStart, "every triggered challenge ended valid");

        // The CA fetched each token 3 times; nginx spread the fetches round-robin. Every fetch got 200, and the
        // nodes that did not order answered most of them: from the store, since the token was never in their memory.
        List<LoadBalancer.Request> fetches = cluster.challengeRequests().subList(challengesAtStart, cluster.challengeRequests().size());
        int expectedFetches = (int) (3 * triggered);
        assertEquals(expectedFetches, fetches.size(), "3 validation fetches per validated order: " + fetches);
        Map<Integer, Integer> answeredBy = new LinkedHashMap<>();
        int byOthers = 0;
        for (LoadBalancer.Request f : fetches) {
            assertEquals(200, f.status(), "fetch answered: " + f);
            int node = cluster.slotOf(f.answeredBy());
            answeredBy.merge(node, 1, Integer::sum);
            int round = roundOf(windows, f.at());
            if (round >= 0 && node != orderedBy.get(round)) {
                byOthers++;
            }
        }
        for (int k = 1; k <= 3; k++) {
            assertTrue(answeredBy.getOrDefault(k, 0) >= 10, "node " + k + " answered its share: " + answeredBy);
        }
        assertTrue(byOthers >= 20, "non-ordering nodes answered from the store: " + byOthers + " of " + expectedFetches);
        long answeredTotal = 0;
        for (int k = 1; k <= 3; k++) {
            String status = cluster.admin(k, "GET", "/status");
            answeredTotal += Long.parseLong(status.replaceFirst("^.* answered=(\\d+) .*$", "$1"));
        }
        assertEquals(expectedFetches, answeredTotal, "the nodes' own counters agree with nginx's log");
        System.out.println("[cluster] orders=" + (cluster.orders() - ordersAtStart) + " validations=" + triggered + " orderedBy=" + orderedBy
                + " challenge answers per node=" + answeredBy + " answered by non-ordering nodes=" + byOthers
                + " adoption ms per node=" + adoptionMillis);
    }

    @Test
    void aNodeThatStartsWhileAnotherIsOrderingWaitsAndAdopts() throws Exception {
        long ordersBefore = cluster.orders();
        CaProxy.Gate finalize = cluster.ca.hold("/finalize-order/", 0);
        cluster.start(1, Map.of());
        assertTrue(finalize.awaitHeld(Duration.ofSeconds(30)), "node 1 reaches finalization" + cluster.diagnostics());
        // node 1 holds the lock and its order is in flight; node 2 starts now and must not order
        cluster.start(2, Map.of());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        String status = cluster.admin(2, "GET", "/status");
        while (status.contains("lastAttempt=-") && System.nanoTime() < deadline) {
            Thread.sleep(50);
            status = cluster.admin(2, "GET", "/status");
        }
        assertTrue(status.contains("state=PENDING") && !status.contains("lastAttempt=-"), "node 2 is waiting for the lock: " + status);
        Thread.sleep(500);
        finalize.release();
        ClusterHarness.Line one = cluster.node(1).awaitLine(l -> l.contains("(ordered by this node)"), Duration.ofSeconds(30));
        assertNotNull(one, "node 1 finished its order" + cluster.diagnostics());
        BigInteger serial = ClusterHarness.CertLine.of(one).orElseThrow().serial();
        ClusterHarness.CertLine adopted = cluster.node(2).awaitCertificate(serial, Duration.ofSeconds(10));
        assertNotNull(adopted, "node 2 adopted node 1's certificate" + cluster.diagnostics());
        assertTrue(!adopted.orderedHere());
        assertNotNull(cluster.awaitServed(2, serial, Duration.ofSeconds(5)));
        assertEquals(1, cluster.orders() - ordersBefore, "one order" + cluster.diagnostics());
        assertEquals(0, cluster.node(2).errorLines(), "node 2 waited, it did not fail" + cluster.diagnostics());
    }

    @Test
    void shortLivedCertificatesRenewByThemselvesWithOneOrderForTheFleet() throws Exception {
        long ordersAtStart = cluster.orders();
        long invalidAtStart = cluster.invalidAuthorizations();
        // 16-second certificates, no renewNow: each renews when half its lifetime remains, and all three nodes'
        // checks come due at the same moment; one orders, two wait for the lock and find its certificate
        BigInteger previous = cluster.startFleet(Map.of("PROFILE", ClusterHarness.SHORT));
        List<BigInteger> seen = new ArrayList<>(List.of(previous));
        for (int renewal = 1; renewal <= 2; renewal++) {
            ClusterHarness.CertLine issued = awaitNewIssue(seen, Duration.ofSeconds(20));
            for (int k = 1; k <= 3; k++) {
                Instant servedAt = cluster.awaitServed(k, issued.serial(), ADOPTION_BOUND);
                assertNotNull(servedAt, "renewal " + renewal + ": node " + k + " serves it within 10 s" + cluster.diagnostics());
            }
            seen.add(issued.serial());
            assertEquals(1 + renewal, cluster.orders() - ordersAtStart, "one order per renewal" + cluster.diagnostics());
        }
        assertEquals(0, cluster.invalidAuthorizations() - invalidAtStart);
        for (int k = 1; k <= 3; k++) {
            assertEquals(0, cluster.node(k).errorLines(), "no node failed an attempt" + cluster.diagnostics());
        }
    }

    /** The first "ordered by this node" line, on any node, for a serial not in {@code seen}. */
    private static ClusterHarness.CertLine awaitNewIssue(List<BigInteger> seen, Duration max) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            for (int k = 1; k <= 3; k++) {
                for (ClusterHarness.CertLine c : cluster.node(k).certificates()) {
                    if (c.orderedHere() && !seen.contains(c.serial())) {
                        return c;
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no renewal within " + max + cluster.diagnostics());
    }

    /** Waits until exactly one node printed "ordered by this node" for a serial other than {@code previous}. */
    private static ClusterHarness.CertLine awaitOneIssuer(BigInteger serial) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (int k = 1; k <= 3; k++) {
                for (ClusterHarness.CertLine c : cluster.node(k).certificates()) {
                    if (c.orderedHere() && (serial == null || c.serial().equals(serial))) {
                        if (serial == null) {
                            for (int j = 1; j <= 3; j++) {
                                assertNotNull(cluster.awaitServed(j, c.serial(), ADOPTION_BOUND), "node " + j + " serves the first certificate"
                                        + cluster.diagnostics());
                            }
                            return c;
                        }
                        return c;
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no node ordered " + (serial == null ? "a certificate" : serial.toString(16)) + cluster.diagnostics());
    }

    private static int roundOf(List<Instant[]> windows, Instant at) {
        for (int i = 0; i < windows.size(); i++) {
            if (!at.isBefore(windows.get(i)[0]) && !at.isAfter(windows.get(i)[1])) {
                return i;
            }
        }
        return -1;
    }

    private static List<Integer> shuffled(Integer... ks) {
        List<Integer> l = new ArrayList<>(List.of(ks));
        Collections.shuffle(l);
        return l;
    }
}
