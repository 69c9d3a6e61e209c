package io.github.autocert4j.vertx;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import io.github.autocert4j.AutoCert;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.github.autocert4j.testkit.internal.UnverifiedTls;

/**
 * A fresh JVM's Vert.x 5 HTTPS server set up by {@link AutoCertVertx#httpsOptions} and its first
 * request: the AutoCert is built, not started (no CA), so its key manager serves the self-signed
 * fallback (made before the timed request); the client trusts any certificate. Prints {@code MODE <mode>}, {@code STATUS <status line>}
 * and {@code FIRST_REQUEST_MS <ms>} (connect, handshake, GET, status line read). Arguments: the store directory, then {@code adapter} (the options
 * as the adapter sets them) or {@code vertx-jdk-engine} (a plain {@link JdkSSLEngineOptions} set
 * afterwards: Vert.x's own context factory, the control). Run by {@link VertxFirstRequestClassLoadTest}.
 */
public final class FirstHttpsRequestChild {
    static final String NAME = "first.autocert4j.test";

    private FirstHttpsRequestChild() {
    }

    public static void main(String[] args) throws Exception {
        Path store = Path.of(args[0]);
        boolean vertxEngine = args[1].equals("vertx-jdk-engine");
        System.out.println("MODE " + args[1]);
        Vertx vertx = Vertx.vertx();
        try (AutoCert autoCert = AutoCert.builder().directory("https://127.0.0.1:9/dir").agreeToTermsOfService(true)
                .storageDirectory(store).certificate(NAME).build()) {
            // Made before the timed request, as a started AutoCert with a stored certificate serves that one instead:
            // the self-signed fallback (made on first need, about 0.3 s cold) and the client's JSSE context.
            if (autoCert.keyManager().getCertificateChain("fallback#0") == null) {
                throw new IllegalStateException("no self-signed fallback under alias fallback#0 (LiveCertificates.FALLBACK_ALIAS)");
            }
            SSLContext warm = SSLContext.getInstance("TLS");
            warm.init(null, null, null);
            warm.createSSLEngine().getEnabledCipherSuites();
            HttpServerOptions options = AutoCertVertx.httpsOptions(autoCert).setHost("127.0.0.1").setPort(0);
            if (vertxEngine) {
                options.setSslEngineOptions(new JdkSSLEngineOptions());
            }
            HttpServer server = vertx.createHttpServer(options).requestHandler(r -> r.response().end("first\n")).listen()
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            long t = System.nanoTime();
            String status = request(server.actualPort());
            System.out.println("FIRST_REQUEST_MS " + (System.nanoTime() - t) / 1_000_000);
            System.out.println("STATUS " + status);
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        }
        System.exit(0);
    }

    /** One handshake (SNI {@link #NAME}, any certificate trusted) and a GET; the status line. */
    static String request(int port) throws Exception {
        SSLContext client = UnverifiedTls.trustingAnything();
        try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            s.setSoTimeout(30_000);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(NAME)));
            s.setSSLParameters(p);
            s.startHandshake();
            s.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + NAME + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        }
    }
}
