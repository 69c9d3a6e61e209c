package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code build()} prepares the ACME client on a daemon thread (issue 23) and contacts no CA: the CA here is a real
 * listening socket on loopback that counts connections; none comes before {@code start()}, the preparing thread
 * ends on its own, and the ACME client it prepared has no thread of its own before its first exchange. After
 * {@code start()} (the CA's socket accepts and closes: every exchange fails) {@code close()} ends the client's exchange
 * threads at once, while the application still holds the closed managers.
 */
class BuildPreparesAcmeClientTest {
    @TempDir
    Path tmp;

    @Test
    void buildTouchesNoNetworkAndItsPreparationEnds() throws Exception {
        try (ServerSocket ca = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            AtomicInteger connections = countConnections(ca);
            AutoCert built = AutoCert.builder().directory("https://127.0.0.1:" + ca.getLocalPort() + "/dir").agreeToTermsOfService(true)
                    .certificate("prepare.example.test").storageDirectory(tmp.resolve("store")).build();
            assertTrue(awaitNoPreparingThread(10_000), "the preparing thread ended on its own within 10 s: " + preparing());
            built.close();
            Thread.sleep(200); // a connection made by close() would be accepted by now (loopback)
            assertEquals(0, connections.get(), "no connection to the CA before start()");
            assertEquals(List.of(), preparing());
        }
    }

    @Test
    void closeEndsTheAcmeClientsThreadsEvenWhileTheManagersAreHeld() throws Exception {
        try (ServerSocket ca = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            AtomicInteger connections = countConnections(ca);
            java.util.Set<Thread> before = exchangeThreads();
            List<AutoCert> held = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                held.add(AutoCert.builder().directory("https://127.0.0.1:" + ca.getLocalPort() + "/dir" + i).agreeToTermsOfService(true)
                        .certificate("held" + i + ".example.test").storageDirectory(tmp.resolve("store" + i)).build());
            }
            assertTrue(awaitNoPreparingThread(10_000), "the preparing threads ended: " + preparing());
            java.util.Set<Thread> made = exchangeThreads();
            made.removeAll(before);
            assertEquals(java.util.Set.of(), made, "build() made no thread of the ACME client");
            held.forEach(AutoCert::start);
            long end = System.nanoTime() + 10_000_000_000L;
            while (connections.get() < 3 && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            assertTrue(connections.get() >= 3, "each manager asked the CA: " + connections.get());
            made = exchangeThreads();
            made.removeAll(before);
            assertTrue(made.size() >= 3, "exchange threads: " + made);
            held.forEach(AutoCert::close);
            end = System.nanoTime() + 5_000_000_000L; // idle exchange threads would otherwise live 30 s
            while (made.stream().anyMatch(Thread::isAlive) && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            assertEquals(List.of(), made.stream().filter(Thread::isAlive).map(Thread::getName).toList(),
                    "the closed managers' exchange threads ended (" + held.size() + " managers held)");
        }
    }

    /** Accepts and closes every connection to {@code ca} (a TLS handshake with it fails) and counts them. */
    private static AtomicInteger countConnections(ServerSocket ca) {
        AtomicInteger connections = new AtomicInteger();
        Thread acceptor = new Thread(() -> {
            while (!ca.isClosed()) {
                try (Socket s = ca.accept()) {
                    connections.incrementAndGet();
                } catch (Exception closed) {
                    return;
                }
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        return connections;
    }

    private static java.util.Set<Thread> exchangeThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).filter(t -> t.getName().equals("autocert4j-acme-http"))
                .collect(java.util.stream.Collectors.toCollection(java.util.HashSet::new));
    }

    private static boolean awaitNoPreparingThread(long ms) throws InterruptedException {
        long end = System.nanoTime() + ms * 1_000_000;
        while (System.nanoTime() < end) {
            if (preparing().isEmpty()) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    private static List<Thread> preparing() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("autocert4j-acme-prepare") && t.isAlive()).toList();
    }
}
