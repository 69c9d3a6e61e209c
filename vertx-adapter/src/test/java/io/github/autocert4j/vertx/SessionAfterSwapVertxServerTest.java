package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.ResumingClients;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link SessionAfterSwapVertxTest} through a real Vert.x HTTPS server ({@link AutoCertVertx#configure}'s options,
 * loopback, free port) and a Java client over sockets that keeps its session cache, TLS 1.2 and TLS 1.3: the second
 * connection resumes (else the test could not fail); after {@code renewNow} the next one does not and is served the
 * new certificate.
 */
@IntegrationTest
class SessionAfterSwapVertxServerTest {
    static final String NAME = SessionAfterSwapVertxTest.NAME; // awaitValid waits for it
    static final Duration T = Duration.ofSeconds(10);

    @TempDir
    Path store;

    @ParameterizedTest(name = "{0}")
    @CsvSource({"TLSv1.2", "TLSv1.3"})
    void aResumingClientGetsTheNewCertificateAfterASwap(String protocol) throws Exception {
        InMemoryCa ca = new InMemoryCa("vertx-resume-ca", Duration.ofHours(1));
        Vertx vertx = Vertx.vertx();
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME).build().start()) {
            BigInteger first = SessionAfterSwapVertxTest.awaitValid(autoCert).serial();
            HttpServer server = vertx.createHttpServer(AutoCertVertx.configure(new HttpServerOptions().setHost("127.0.0.1").setPort(0), autoCert))
                    .requestHandler(r -> r.response().end("ok")).listen().await(10, TimeUnit.SECONDS);
            InetSocketAddress addr = new InetSocketAddress("127.0.0.1", server.actualPort());
            ResumingClients.Java client = new ResumingClients.Java(ca.root, protocol);

            ResumingClients.Connection a = client.connect(addr, NAME, T);
            assertEquals(first, a.serial());
            assertEquals(protocol, a.protocol());
            ResumingClients.Connection b = client.connect(addr, NAME, T);
            assertTrue(b.reused(), "before the swap the client resumes (else this test proves nothing): " + b);

            BigInteger renewed = autoCert.renewNow(NAME).get(20, TimeUnit.SECONDS).serial();
            assertNotEquals(first, renewed);
            ResumingClients.Connection c = client.connect(addr, NAME, T);
            assertFalse(c.reused(), "no resumption into the replaced certificate: " + c);
            assertEquals(renewed, c.serial(), "after the swap the resuming client gets the new certificate: " + c);
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }
}
