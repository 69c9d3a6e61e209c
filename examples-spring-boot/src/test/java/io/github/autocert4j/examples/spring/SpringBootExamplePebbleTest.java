package io.github.autocert4j.examples.spring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The Boot example as {@code ./demo.sh spring} runs it, with 30-second certificates: it prints the
 * demo's lines, serves the certificate it printed, and a scheduled renewal (no renewNow, no restart)
 * prints and serves a new one.
 */
@WithPebble(profiles = @WithPebble.Profile(name = "demo", seconds = 30))
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SpringBootExamplePebbleTest {
    private static final Pattern CERTIFICATE = Pattern.compile("certificate: serial=([0-9a-f]+) notAfter=(\\S+)");

    @Test
    void printsTheDemoLinesAndRenewsLiveOnSchedule(PebbleServer pebble, X509Certificate root, @TempDir Path store) throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream original = System.out;
        System.setOut(new PrintStream(new Tee(original, printed), true, StandardCharsets.UTF_8));
        try (ConfigurableApplicationContext app = SpringApplication.run(SpringBootExample.class,
                "--server.address=127.0.0.1", "--server.port=0",
                "--autocert4j.domains=app.autocert4j.test",
                "--autocert4j.directory=" + pebble.directoryUri(),
                "--autocert4j.acme-server-trust=" + pebble.acmeServerCaPem(),
                "--autocert4j.storage-directory=" + store,
                "--autocert4j.http-port=" + pebble.httpPort(),
                "--autocert4j.profile=demo")) {
            int port = app.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
            InetSocketAddress https = new InetSocketAddress("127.0.0.1", port);
            List<String> first = awaitCertificates(printed, 1, Duration.ofSeconds(30));
            String out = printed.toString(StandardCharsets.UTF_8);
            assertTrue(out.contains("https-url: https://app.autocert4j.test:" + port + "/\n"), out);
            assertTrue(out.contains("connect-to: 127.0.0.1:" + port + "\n"), out);
            TlsProbe.HttpResult page = TlsProbe.httpsGet(https, "app.autocert4j.test", "/", root, Duration.ofSeconds(5));
            assertEquals(200, page.status());
            assertTrue(page.body().contains("hello from Spring Boot over HTTPS"), page.body());
            assertEquals(new BigInteger(first.get(0), 16), page.serial(), "serves the certificate it printed");

            List<String> renewed = awaitCertificates(printed, 2, Duration.ofSeconds(45));
            BigInteger second = new BigInteger(renewed.get(1), 16);
            assertTrue(!second.equals(page.serial()), "a new certificate: " + renewed);
            assertEquals(second, TlsProbe.handshake(https, "app.autocert4j.test", root, Duration.ofSeconds(5)).serial(),
                    "the renewal reached new connections without a restart");
        } finally {
            System.setOut(original);
        }
    }

    /** The serials of the first {@code count} "certificate:" lines printed, waiting for them at most {@code timeout}. */
    private static List<String> awaitCertificates(ByteArrayOutputStream printed, int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Matcher m = CERTIFICATE.matcher(printed.toString(StandardCharsets.UTF_8));
            List<String> serials = m.results().map(r -> r.group(1)).distinct().toList();
            if (serials.size() >= count) {
                return serials;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("expected " + count + " certificate lines within " + timeout.toSeconds() + " s, printed:\n"
                        + printed.toString(StandardCharsets.UTF_8));
            }
            Thread.sleep(100);
        }
    }

    /** Writes to the real stdout and to a buffer the test reads. */
    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public synchronized void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public synchronized void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public synchronized void flush() throws java.io.IOException {
            a.flush();
            b.flush();
        }
    }
}
