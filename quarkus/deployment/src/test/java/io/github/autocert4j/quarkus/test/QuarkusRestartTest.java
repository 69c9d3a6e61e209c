package io.github.autocert4j.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import com.sun.net.httpserver.HttpServer;
import io.github.autocert4j.AutoCert;
import io.github.autocert4j.Http01Responder;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * Restart without a new order: before the application starts, a first run on the same
 * configuration and store (a plain AutoCert answering Pebble's validation on the same port)
 * obtained the certificate; the Quarkus application then serves that stored certificate at once
 * and Pebble issues nothing more.
 */
@QuarkusTest
@QuarkusTestResource(value = QuarkusRestartTest.FirstRun.class, restrictToAnnotatedClass = true)
@IntegrationTest
class QuarkusRestartTest {
    static final Duration T = Duration.ofSeconds(60);

    @PebbleResource.InjectPebble
    PebbleServer pebble;

    @Inject
    AutoCertQuarkus extension;

    @ConfigProperty(name = "quarkus.http.test-ssl-port")
    int httpsPort;

    @Test
    void servesTheStoredCertificateWithoutANewOrder() throws Exception {
        // started once Quarkus' ports listen (an asynchronous event): from then on the stored certificate is served
        AutoCert autoCert = extension.started().toCompletableFuture().get(T.toSeconds(), TimeUnit.SECONDS);
        // read here, not injected: Quarkus validates every test class's injection points in each application
        BigInteger stored = new BigInteger(ConfigProvider.getConfig().getValue("autocert4j.test.first-serial", String.class), 16);
        assertEquals(stored, autoCert.status(PebbleResource.NAME).orElseThrow().serial(), "the stored certificate is live at start");
        BigInteger served = TlsProbe.handshake(new InetSocketAddress("127.0.0.1", httpsPort), PebbleResource.NAME,
                pebble.issuanceRoot(), T).serial();
        assertEquals(stored, served);
        Thread.sleep(1000); // a restart that wrongly ordered would have done so by now (an order takes < 1 s here)
        assertEquals(1, Awaits.issuedByPebble(pebble), "Pebble issued only the first run's certificate\n" + pebble.logTail(20));
        assertEquals(stored, autoCert.status(PebbleResource.NAME).orElseThrow().serial());
    }

    /** Pebble, plus a first run that obtains the certificate into the store the application then uses. */
    public static class FirstRun extends PebbleResource {
        @Override
        protected Map<String, String> more(PebbleServer pebble, Path store) {
            try (AutoCert first = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                    .agreeToTermsOfService(true).storageDirectory(store).certificate(NAME).build()) {
                HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", pebble.httpPort()), 0);
                http.createContext(Http01Responder.PATH_PREFIX, exchange -> {
                    String token = exchange.getRequestURI().getPath().substring(Http01Responder.PATH_PREFIX.length());
                    byte[] body = first.http01().keyAuthorization(token).orElse("").getBytes(StandardCharsets.US_ASCII);
                    exchange.sendResponseHeaders(body.length == 0 ? 404 : 200, body.length == 0 ? -1 : body.length);
                    exchange.getResponseBody().write(body);
                    exchange.close();
                });
                http.start();
                try {
                    first.start();
                    String serial = Awaits.issued(first, NAME, pebble, Duration.ofSeconds(60)).serialHex();
                    long issued = Awaits.issuedByPebble(pebble);
                    if (issued != 1) {
                        throw new IllegalStateException("the first run should have made Pebble issue 1 certificate, its log shows " + issued);
                    }
                    return Map.of("autocert4j.test.first-serial", serial);
                } finally {
                    http.stop(0);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
