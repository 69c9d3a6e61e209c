package io.github.autocert4j.quarkus.test;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.github.autocert4j.testkit.TlsProbe;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The application {@link QuarkusRestartTest} launches twice ({@code @QuarkusTest} classes do not run a main):
 * each run waits until the extension's AutoCert has started and its certificate is a CA one (bounded), reads the
 * serial the HTTPS port serves (verified against the root in {@code args[1]}), waits a second, and writes
 * {@code "<status serial now> <served serial> <serial at start>"} (hex) to {@code args[0]}; then the application
 * stops.
 */
@QuarkusMain
public class RestartMain implements QuarkusApplication {
    static final Duration T = Duration.ofSeconds(60);

    @Inject
    AutoCertQuarkus extension;

    @ConfigProperty(name = "quarkus.http.test-ssl-port")
    int httpsPort;

    @Override
    public int run(String... args) throws Exception {
        AutoCert a = extension.started().toCompletableFuture().get(T.toSeconds(), TimeUnit.SECONDS);
        CertificateStatus atStart = a.status(PebbleResource.NAME).orElseThrow();
        long deadline = System.nanoTime() + T.toNanos();
        CertificateStatus s = atStart;
        while (s.serial() == null && System.nanoTime() < deadline) {
            Thread.sleep(20);
            s = a.status(PebbleResource.NAME).orElseThrow();
        }
        if (s.serial() == null) {
            throw new IllegalStateException("no certificate within " + T + ": " + s);
        }
        X509Certificate root;
        try (InputStream in = Files.newInputStream(Path.of(args[1]))) {
            root = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        TlsProbe.Result served = TlsProbe.handshake(new InetSocketAddress("127.0.0.1", httpsPort), PebbleResource.NAME, root, T);
        Thread.sleep(1000); // an order a restart wrongly placed would be done by now (an order takes < 1 s against Pebble)
        s = a.status(PebbleResource.NAME).orElseThrow();
        Files.writeString(Path.of(args[0]), s.serial().toString(16) + " " + served.serial().toString(16) + " "
                + (atStart.serial() == null ? "none" : atStart.serial().toString(16)), StandardCharsets.US_ASCII);
        return 0;
    }
}
