package io.github.autocert4j.micronaut;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testkit.FreePorts;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;

/** One real Micronaut application: Netty server with a plain port (the CA's) and an HTTPS port. */
final class MicronautHost implements AutoCloseable {
    final ApplicationContext context;
    final EmbeddedServer server;
    final int plainPort;
    final int httpsPort;

    private MicronautHost(ApplicationContext context, EmbeddedServer server, int plainPort, int httpsPort) {
        this.context = context;
        this.server = server;
        this.plainPort = plainPort;
        this.httpsPort = httpsPort;
    }

    /**
     * Starts a server with {@code properties} (autocert4j and any Micronaut ones); plain HTTP on {@code plainPort}, HTTPS
     * on a free port, both on 127.0.0.1; dual protocol, HTTPS redirect and SSL on unless {@code properties} say otherwise.
     */
    static MicronautHost start(int plainPort, Map<String, Object> autocert4j, Object... singletons) {
        int httpsPort = FreePorts.loopback();
        Map<String, Object> props = new HashMap<>(autocert4j);
        props.putIfAbsent("micronaut.server.host", "127.0.0.1");
        props.put("micronaut.server.port", plainPort);
        props.putIfAbsent("micronaut.server.dual-protocol", true);
        props.putIfAbsent("micronaut.server.http-to-https-redirect", true);
        props.putIfAbsent("micronaut.server.ssl.enabled", true);
        props.put("micronaut.server.ssl.port", httpsPort);
        ApplicationContext context = ApplicationContext.builder().properties(props).singletons(singletons).start();
        try {
            EmbeddedServer server = context.getBean(EmbeddedServer.class).start();
            return new MicronautHost(context, server, plainPort, httpsPort);
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
    }

    AutoCert autoCert() {
        return context.getBean(AutoCert.class);
    }

    InetSocketAddress httpsAddress() {
        return new InetSocketAddress("127.0.0.1", httpsPort);
    }

    /**
     * Closes the context and waits (bounded: 10 s) until both ports are free: Micronaut unbinds its
     * listeners asynchronously, and the next test binds Pebble's plain port again at once.
     */
    @Override
    public void close() {
        context.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (int port : new int[] {plainPort, httpsPort}) {
            while (!bindable(port)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("port " + port + " still bound 10 s after the Micronaut context closed");
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
