package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code build()} prepares the ACME client on a daemon thread (issue 23) and contacts no CA: the CA here is a real
 * listening socket on loopback that counts connections; none comes before {@code start()}, the preparing thread
 * ends on its own, and {@code close()} without {@code start()} leaves nothing running of this manager: not the
 * preparing thread, and not the selector thread of the JDK HTTP client it made (the JDK starts one per client; on
 * Java 17 it ends once the client is unreachable, which {@code close()} makes it even while the application still
 * holds the closed manager).
 */
class BuildPreparesAcmeClientTest {
    @TempDir
    Path tmp;

    @Test
    void buildTouchesNoNetworkAndItsPreparationEnds() throws Exception {
        try (ServerSocket ca = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            AtomicInteger connections = new AtomicInteger();
            Thread acceptor = new Thread(() -> {
                while (!ca.isClosed()) {
                    try (Socket s = ca.accept()) {
                        connections.incrementAndGet();
                    } catch (SocketException closed) {
                        return;
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
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
    void closeLetsGoOfThePreparedHttpClientsEvenWhileTheManagersAreHeld() throws Exception {
        java.util.Set<String> before = selectorThreads();
        List<AutoCert> held = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            // port 9 on loopback: nothing listens, and nothing is asked before start() anyway
            held.add(AutoCert.builder().directory("https://127.0.0.1:9/dir" + i).agreeToTermsOfService(true)
                    .certificate("held" + i + ".example.test").storageDirectory(tmp.resolve("store" + i)).build());
        }
        assertTrue(awaitNoPreparingThread(10_000), "the preparing threads ended: " + preparing());
        java.util.Set<String> made = new java.util.TreeSet<>(selectorThreads());
        made.removeAll(before);
        assertEquals(3, made.size(), "build() made one HTTP client (one selector thread) per manager: " + made);
        held.forEach(AutoCert::close);
        // The managers stay referenced (as an application's field would hold a closed one): only close() can let go.
        long end = System.nanoTime() + 20_000_000_000L; // the JDK 17 selector looks every 3 s whether its client is gone
        java.util.Set<String> left = new java.util.TreeSet<>(made);
        while (!left.isEmpty() && System.nanoTime() < end) {
            System.gc();
            Thread.sleep(250);
            left.retainAll(selectorThreads());
        }
        assertEquals(java.util.Set.of(), left, "the closed managers' HTTP client selector threads ended (" + held.size() + " managers held)");
    }

    private static java.util.Set<String> selectorThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("HttpClient-") && n.endsWith("-SelectorManager")).collect(java.util.stream.Collectors.toSet());
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
