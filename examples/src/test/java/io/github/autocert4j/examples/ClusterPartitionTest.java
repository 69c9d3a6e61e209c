package io.github.autocert4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.github.autocert4j.testkit.CuttableTcpProxy;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.internal.LoadBalancer;

/**
 * One node of three is up but cut from PostgreSQL (its JDBC URL points at a TCP proxy the test resets and closes):
 * it cannot tell whether a peer published a challenge token, so it answers the CA's fetches 503, and nginx,
 * configured as docs/cluster.md shows ({@link LoadBalancer#CHALLENGE_LOCATION}), tries another node. Renewals
 * during the cut validate every time (0 invalid authorizations at Pebble). When the cut heals, the node listens again
 * and serves the certificate it missed within 2 s.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
@IntegrationTest
class ClusterPartitionTest {

    @TempDir
    static Path work;
    static ClusterHarness cluster;
    static CuttableTcpProxy db3;

    @BeforeAll
    static void startFleetParts() throws Exception {
        cluster = new ClusterHarness(work, Duration.ofSeconds(30));
        db3 = new CuttableTcpProxy(cluster.pg.port());
    }

    @AfterAll
    static void stopFleetParts() {
        if (cluster != null) {
            cluster.close();
        }
        if (db3 != null) {
            db3.close();
        }
    }

    @Test
    void aNodeCutFromPostgresAnswers503SoRenewalsValidateAndItCatchesUpWithinTwoSecondsOfTheCutHealing() throws Exception {
        String viaProxy = cluster.pg.jdbcUrl().replace("127.0.0.1:" + cluster.pg.port() + "/", "127.0.0.1:" + db3.port() + "/");
        assertTrue(viaProxy.contains(":" + db3.port() + "/"), viaProxy);
        cluster.startAll(Map.of(), 1, 2);
        cluster.start(3, Map.of("JDBC_URL", viaProxy));
        BigInteger first = awaitFirstCertificate();
        int cutNode = 3;
        int cutPort = cluster.httpPorts[cutNode];

        long invalidBefore = cluster.invalidAuthorizations();
        long ordersBefore = cluster.orders();
        int requestsBefore = cluster.challengeRequests().size();
        db3.cut();

        // Renewals on node 1 while node 3 is cut, until the CA's fetches reached node 3 at least twice (nginx then skips
        // it for its fail_timeout of 2 s, so not every renewal's fetches reach it).
        BigInteger last = first;
        int renewals = 0;
        while (renewals < 12 && reachedOn(cutPort, requestsBefore) < 2) {
            String reply = cluster.admin(1, "POST", "/renew");
            assertTrue(reply.startsWith("200 serial="), "renewal " + (renewals + 1) + " during the cut: " + reply + cluster.diagnostics());
            last = new BigInteger(reply.replaceFirst("^200 serial=([0-9a-f]+) .*$", "$1"), 16);
            renewals++;
            assertNotNull(cluster.awaitServed(2, last, Duration.ofSeconds(10)), "node 2 adopts renewal " + renewals + cluster.diagnostics());
            awaitLoggedChallenges(requestsBefore);
        }
        List<LoadBalancer.Request> duringCut = cluster.challengeRequests().subList(requestsBefore, cluster.challengeRequests().size());
        long reachedCutNode = duringCut.stream().filter(r -> r.triedPorts().contains(cutPort)).count();
        assertTrue(reachedCutNode >= 2, "the CA's fetches reached the cut node " + reachedCutNode + " times in " + renewals
                + " renewals: " + duringCut + cluster.diagnostics());
        for (LoadBalancer.Request r : duringCut) {
            assertEquals(200, r.status(), "every validation fetch answered 200 through nginx: " + r + cluster.diagnostics());
            int i = r.triedPorts().indexOf(cutPort);
            if (i >= 0) {
                assertEquals(503, r.backendStatuses().get(i), "the cut node answered 503 (not 404): " + r);
                assertTrue(i < r.triedPorts().size() - 1, "and nginx tried another node: " + r);
            }
        }
        assertEquals(0, cluster.invalidAuthorizations() - invalidBefore, "0 invalid authorizations at Pebble during the cut"
                + cluster.diagnostics());
        assertEquals(renewals, cluster.orders() - ordersBefore, "one order per renewal" + cluster.diagnostics());
        assertEquals(first, cluster.served(cutNode), "the cut node keeps serving what it had");

        // The cut heals: the watch listens again within its one-second retry (on its own unpooled session), asks for a
        // re-read, and the node serves the certificate it missed.
        LocalTime healedAt = LocalTime.now(); // the node logs HH:mm:ss.SSS in the same zone on the same machine
        db3.heal();
        long healed = System.nanoTime();
        Instant caughtUp = cluster.awaitServed(cutNode, last, Duration.ofSeconds(30));
        assertNotNull(caughtUp, "node 3 serves the certificate it missed after the cut healed" + cluster.diagnostics());
        long catchUpMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - healed);
        LocalTime listening = loggedAt(cluster.node(cutNode).log, "listening again on");
        assertNotNull(listening, "the watch listens again" + cluster.diagnostics());
        long listenMillis = Duration.between(healedAt, listening).toMillis();
        assertTrue(listenMillis <= 2000, "LISTEN back " + listenMillis + " ms after the cut healed (at most 2 s)" + cluster.diagnostics());
        assertTrue(catchUpMillis <= 2000, "node 3 caught up " + catchUpMillis + " ms after the cut healed (at most 2 s)" + cluster.diagnostics());

        // And it follows the next renewal through NOTIFY as before the cut.
        String reply = cluster.admin(1, "POST", "/renew");
        assertTrue(reply.startsWith("200 serial="), reply);
        BigInteger next = new BigInteger(reply.replaceFirst("^200 serial=([0-9a-f]+) .*$", "$1"), 16);
        assertNotNull(cluster.awaitServed(cutNode, next, Duration.ofSeconds(2)), "adopted within 2 s through NOTIFY" + cluster.diagnostics());

        // A failed lookup is a WARN line at most every 10 s, never a stack trace per request.
        List<String> log = Files.readAllLines(cluster.node(cutNode).log, StandardCharsets.UTF_8);
        assertEquals(0, log.stream().filter(l -> l.contains("at io.github.autocert4j.internal.cluster.PeerChallenges")).count(), "no stack trace per request");
        long lookupWarnings = log.stream().filter(l -> l.contains("cannot look up a challenge in the shared store")).count();
        assertTrue(lookupWarnings >= 1 && lookupWarnings <= 1 + renewals, "rate-limited lookup warnings: " + lookupWarnings);
        System.out.printf("partition: %d renewals during the cut, %d fetches reached the cut node (503, retried), 0 invalid; "
                + "LISTEN back %d ms and caught up %d ms after the cut healed%n", renewals, reachedCutNode, listenMillis, catchUpMillis);
    }

    /** The time of the first line of a node's log containing {@code text}, waiting up to 10 s; null if none. */
    private static LocalTime loggedAt(Path log, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        do {
            for (String l : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                if (l.contains(text) && l.length() > 12) {
                    return LocalTime.parse(l.substring(0, 12)); // -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS
                }
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        return null;
    }

    /** How many challenge requests since {@code from} reached (nginx tried it) {@code port}. */
    private static long reachedOn(int port, int from) {
        List<LoadBalancer.Request> all = cluster.challengeRequests();
        return all.subList(from, all.size()).stream().filter(r -> r.triedPorts().contains(port)).count();
    }

    /** nginx writes its access log line when a request ends: wait until the last renewal's fetches are there. */
    private static void awaitLoggedChallenges(int from) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        int seen = -1;
        while (System.nanoTime() < deadline) {
            int now = cluster.challengeRequests().size();
            if (now == seen && now > from) {
                return;
            }
            seen = now;
            Thread.sleep(200);
        }
    }

    private static BigInteger awaitFirstCertificate() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (int k = 1; k <= 3; k++) {
                for (ClusterHarness.CertLine c : cluster.node(k).certificates()) {
                    if (c.orderedHere()) {
                        for (int j = 1; j <= 3; j++) {
                            assertNotNull(cluster.awaitServed(j, c.serial(), Duration.ofSeconds(10)),
                                    "node " + j + " serves the first certificate" + cluster.diagnostics());
                        }
                        return c.serial();
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no first certificate within 60 s" + cluster.diagnostics());
    }
}
