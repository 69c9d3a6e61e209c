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
 * ends on its own, and {@code close()} without {@code start()} leaves nothing running of this manager.
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
