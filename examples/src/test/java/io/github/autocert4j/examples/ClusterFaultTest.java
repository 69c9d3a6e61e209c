package io.github.autocert4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
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

/**
 * The fleet under faults, each a test: PostgreSQL down when the nodes start, PostgreSQL restarted in the middle of
 * a renewal, a node's connection pool exhausted, and the ordering node killed with SIGKILL in the middle of its
 * order. Real PostgreSQL, Pebble, nginx and node JVMs; the CA-side proxy counts orders and holds the finalization
 * request so that each fault hits an order in flight.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@IntegrationTest
class ClusterFaultTest {

    @TempDir
    static Path work;
    static ClusterHarness cluster;

    @BeforeAll
    static void startFleetParts() throws Exception {
        cluster = new ClusterHarness(work, Duration.ofSeconds(30));
    }

    @AfterAll
    static void stopFleetParts() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void stopNodes() throws IOException {
        cluster.stopNodes();
        cluster.pg.start(); // a test that failed midway may have left it stopped
        cluster.freshStore();
    }

    @Test
    void postgresDownAtStartTheNodesServeTheSelfSignedFallbackThenAdoptTheStoredCertificate() throws Exception {
        BigInteger stored = cluster.startFleet(Map.of());
        cluster.stopNodes();
        long orders = cluster.orders();
        cluster.pg.stop();

        cluster.startAll(Map.of(), 1, 2, 3); // build() does not fail on a database that is down
        for (int k = 1; k <= 3; k++) {
            // a node that just started has nothing in memory and cannot read the store: start() returned without waiting
            // for it, it serves the self-signed fallback (HTTPS works, clients that verify refuse it) and reads the store
            // again (0.5 s doubling to 2 s) without checking or ordering: an unreachable store is not an empty one
            X509Certificate fallback = cluster.servedUnverified(k);
            assertEquals(fallback.getSubjectX500Principal(), fallback.getIssuerX500Principal(), "self-signed: " + fallback);
            assertNotEquals(stored, fallback.getSerialNumber());
            int node = k;
            assertThrows(IOException.class, () -> cluster.served(node), "a verifying client refuses the fallback");
        }
        for (int k = 1; k <= 3; k++) {
            // the operator is told (no order was attempted, so there is no failed attempt to report)
            assertTrue(cluster.node(k).logged("serving the self-signed fallback for 1 certificate(s) meanwhile"),
                    "node " + k + " logs that it serves the fallback until the store answers" + cluster.diagnostics());
            assertEquals(0, cluster.node(k).errorLines(), "node " + k + " attempted nothing while the store was down" + cluster.diagnostics());
        }
        Thread.sleep(2500); // a few retries while it stays down
        assertEquals(orders, cluster.orders(), "a node that cannot reach the store never orders");

        Instant up = Instant.now();
        cluster.pg.start();
        for (int k = 1; k <= 3; k++) {
            Instant servedAt = cluster.awaitServed(k, stored, Duration.ofSeconds(20));
            assertNotNull(servedAt, "node " + k + " serves the stored certificate once PostgreSQL is back" + cluster.diagnostics());
            assertNotNull(cluster.node(k).awaitCertificate(stored, Duration.ofSeconds(1)), "reported as loaded");
            System.out.println("[cluster] postgres down at start: node " + k + " serves the stored certificate "
                    + Duration.between(up, servedAt).toMillis() + " ms after PostgreSQL came back");
        }
        assertEquals(orders, cluster.orders(), "the stored certificate was adopted, not ordered again");
    }

    @Test
    void postgresRestartedInTheMiddleOfARenewalLosesNothingAndOrdersOnce() throws Exception {
        BigInteger before = cluster.startFleet(Map.of());
        long orders = cluster.orders();
        long issued = cluster.issuedCertificates();
        CaProxy.Gate finalize = cluster.ca.hold("/finalize-order/", 0);
        CompletableFuture<String> renew = CompletableFuture.supplyAsync(() -> admin(1, "/renew"));
        assertTrue(finalize.awaitHeld(Duration.ofSeconds(30)), "node 1's order reaches finalization" + cluster.diagnostics());

        // the order is validated and about to be finalized: PostgreSQL goes down, the CA issues, the node cannot store
        cluster.pg.stop();
        finalize.release();
        for (int k = 1; k <= 3; k++) {
            assertEquals(before, cluster.served(k), "node " + k + " keeps serving while PostgreSQL is down");
        }
        Thread.sleep(2000);
        Instant up = Instant.now();
        cluster.pg.start();

        String reply = renew.get(60, TimeUnit.SECONDS);
        assertTrue(reply.startsWith("200 serial="), reply + cluster.diagnostics());
        BigInteger renewed = new BigInteger(reply.replaceFirst("^200 serial=([0-9a-f]+).*$", "$1"), 16);
        assertNotEquals(before, renewed);
        for (int k = 1; k <= 3; k++) {
            Instant servedAt = cluster.awaitServed(k, renewed, Duration.ofSeconds(20));
            assertNotNull(servedAt, "node " + k + " serves the renewal" + cluster.diagnostics());
            System.out.println("[cluster] postgres restarted mid-renewal: node " + k + " serves the renewal "
                    + Duration.between(up, servedAt).toMillis() + " ms after PostgreSQL came back");
        }
        assertTrue(cluster.node(1).logged("storing the new certificate " + ClusterHarness.NAME + " failed"),
                "the outage hit the node's write of the issued certificate, which it retried" + cluster.diagnostics());
        assertEquals(1, cluster.orders() - orders, "no second order" + cluster.diagnostics());
        assertEquals(1, cluster.issuedCertificates() - issued, "the certificate the CA issued during the outage was stored, not lost");
        cluster.stopNodes();
        cluster.start(2, Map.of());
        assertNotNull(cluster.awaitServed(2, renewed, Duration.ofSeconds(10)), "a node started afterwards loads it from PostgreSQL");
    }

    @Test
    void anExhaustedPoolFailsTheAttemptCleanlyAndTheNodeRetries() throws Exception {
        Map<String, String> smallPool = Map.of("POOL_SIZE", "3", "POOL_TIMEOUT_MS", "1000");
        BigInteger before = cluster.startFleet(smallPool);
        long orders = cluster.orders();
        String hog = admin(2, "/hog");
        assertTrue(hog.matches("200 held=[1-3]"), hog);
        String status = cluster.admin(2, "GET", "/status");
        assertTrue(status.contains("pool.active=3 pool.total=3"), "every connection of node 2's pool is in use: " + status);

        long t0 = System.nanoTime();
        String reply = admin(2, "/renew");
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(reply.startsWith("500 failed: cannot take the store lock"), reply);
        assertTrue(reply.contains("if a connection pool timed out, it is exhausted"), "the message says what to do: " + reply);
        assertTrue(tookMillis < 10_000, "failed within the pool's timeout, no hang: " + tookMillis + " ms");
        assertEquals(before, cluster.served(2), "node 2 keeps serving");
        assertEquals(orders, cluster.orders(), "nothing ordered without the lock");

        assertEquals("200 released=" + hog.substring("200 held=".length()), admin(2, "/release"));
        // the failed renewNow left the renewal due: the node retries at its first backoff step (2 s) and orders
        ClusterHarness.Line line = cluster.node(2).awaitLine(l -> l.contains("(ordered by this node)") && !l.contains(before.toString(16)),
                Duration.ofSeconds(15));
        assertNotNull(line, "node 2 retried and renewed" + cluster.diagnostics());
        BigInteger renewed = ClusterHarness.CertLine.of(line).orElseThrow().serial();
        for (int k = 1; k <= 3; k++) {
            assertNotNull(cluster.awaitServed(k, renewed, Duration.ofSeconds(10)), "node " + k + cluster.diagnostics());
        }
        assertEquals(1, cluster.orders() - orders);
        System.out.println("[cluster] exhausted pool: renewNow failed after " + tookMillis + " ms: " + reply);
    }

    @Test
    void theOrderingNodeKilledMidOrderIsTakenOverWithinTheLease() throws Exception {
        Duration lease = Duration.ofSeconds(5);
        BigInteger before = cluster.startFleet(Map.of("LEASE_SECONDS", Long.toString(lease.toSeconds())));
        long orders = cluster.orders();
        long issued = cluster.issuedCertificates();
        CaProxy.Gate finalize = cluster.ca.hold("/finalize-order/", 0);
        List<CompletableFuture<String>> renews = new ArrayList<>();
        for (int k = 1; k <= 3; k++) {
            int node = k;
            renews.add(CompletableFuture.supplyAsync(() -> admin(node, "/renew")));
        }
        assertTrue(finalize.awaitHeld(Duration.ofSeconds(30)), "an order reaches finalization" + cluster.diagnostics());
        long pid = cluster.lockHolderPid().orElseThrow(() -> new AssertionError("nobody holds the lock" + cluster.diagnostics()));
        int victim = 0;
        for (int k = 1; k <= 3; k++) {
            if (cluster.node(k).pid() == pid) {
                victim = k;
            }
        }
        assertTrue(victim > 0, "the lock holder is one of the nodes: pid " + pid);

        Instant killed = Instant.now();
        cluster.node(victim).kill(); // SIGKILL: no clean-up, the lock is not released, the order is never finalized
        finalize.drop();

        List<Integer> survivors = new ArrayList<>(List.of(1, 2, 3));
        survivors.remove(Integer.valueOf(victim));
        ClusterHarness.CertLine takeover = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(lease.toSeconds() + 20);
        while (takeover == null && System.nanoTime() < deadline) {
            for (int k : survivors) {
                for (ClusterHarness.CertLine c : cluster.node(k).certificates()) {
                    if (c.orderedHere() && !c.serial().equals(before)) {
                        takeover = c;
                    }
                }
            }
            Thread.sleep(20);
        }
        assertNotNull(takeover, "a surviving node finished the renewal" + cluster.diagnostics());
        Duration took = Duration.between(killed, takeover.at());
        assertTrue(took.compareTo(lease.plusSeconds(10)) <= 0, "taken over within the lease (+ one order): " + took);
        for (int k : survivors) {
            assertNotNull(cluster.awaitServed(k, takeover.serial(), Duration.ofSeconds(10)), "node " + k + cluster.diagnostics());
            String reply = renews.get(k - 1).get(30, TimeUnit.SECONDS);
            assertEquals("200 serial=" + takeover.serial().toString(16), reply.replaceFirst(" ordered-here=.*$", ""), "node " + k);
        }
        assertEquals(2, cluster.orders() - orders, "the killed node's abandoned order and the one that finished");
        assertEquals(1, cluster.issuedCertificates() - issued, "one certificate issued: the abandoned order was never finalized");

        cluster.start(victim, Map.of("LEASE_SECONDS", Long.toString(lease.toSeconds())));
        assertNotNull(cluster.awaitServed(victim, takeover.serial(), Duration.ofSeconds(10)), "the restarted node loads the renewal");
        assertEquals(2, cluster.orders() - orders, "and orders nothing");
        System.out.println("[cluster] ordering node " + victim + " killed mid-order: node " + takeover.node() + " finished the renewal "
                + took.toMillis() + " ms later (lease " + lease.toSeconds() + " s)");
    }

    private static String admin(int k, String path) {
        try {
            return cluster.admin(k, "POST", path);
        } catch (IOException e) {
            return "error " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
