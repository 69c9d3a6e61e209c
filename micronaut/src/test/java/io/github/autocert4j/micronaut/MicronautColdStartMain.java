package io.github.autocert4j.micronaut;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.github.autocert4j.testkit.internal.UnverifiedTls;

/**
 * A main, not a test: one fresh JVM's Micronaut HTTPS start over an AutoCert whose certificate is already in the store
 * (a restart), for benchmarks/ab/hostab.sh (docs/micronaut.md, docs/startup.md). {@code prepare STORE} issues the
 * certificate into STORE from an in-memory CA; {@code run STORE} starts the {@code ApplicationContext} (the AutoCert
 * loads the certificate), then {@code EmbeddedServer.start()}, then makes two HTTPS requests, and prints one line
 * {@code T <step> <wall ms> <process CPU ms>} per step and {@code T total ...} from the context's start to the second
 * answer. The CA is made only when something must be issued, so a run loads no BouncyCastle for it; the client
 * trusts any certificate (a timing tool) but checks the served name. With netty-tcnative off the class path (as
 * hostab.sh runs it) the HTTPS context has the JDK provider.
 */
public final class MicronautColdStartMain {
    static final String NAME = "coldstart.micronaut.test";

    private MicronautColdStartMain() {
    }

    /** The in-memory CA, made at the first order only. */
    static final class LazyCa implements Issuer {
        private InMemoryCa ca;

        @Override
        public String id() {
            return "coldstart-ca";
        }

        @Override
        public synchronized Result issue(Request request) {
            try {
                if (ca == null) {
                    ca = new InMemoryCa("coldstart-ca", Duration.ofDays(30));
                }
                return ca.issue(request);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Wall and process CPU since it was made. */
    record Mark(long wall, long cpu) {
        static Mark now() {
            return new Mark(System.nanoTime(),
                    ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime());
        }

        void print(String step) {
            Mark n = now();
            System.out.printf("T %s %d %d%n", step, (n.wall - wall) / 1_000_000, (n.cpu - cpu) / 1_000_000);
        }
    }

    public static void main(String[] args) throws Exception {
        Path store = Path.of(args[1]);
        AutoCert autoCert = AutoCert.builder().issuer(new LazyCa()).storageDirectory(store).certificate(NAME).build();
        if (args[0].equals("prepare")) {
            try (AutoCert started = autoCert.start()) {
                awaitValid(started);
            }
            return;
        }
        int https;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            https = free.getLocalPort();
        }
        Mark all = Mark.now();
        ApplicationContext context = ApplicationContext.builder().properties(Map.of("micronaut.server.host", "127.0.0.1",
                "micronaut.server.port", -1, "micronaut.server.ssl.enabled", true, "micronaut.server.ssl.port", https))
                .singletons(autoCert).start(); // the module's AutoCertStarter starts the AutoCert
        all.print("context");
        Mark server = Mark.now();
        context.getBean(EmbeddedServer.class).start();
        server.print("embeddedServerStart");
        awaitValid(autoCert);
        Mark first = Mark.now();
        request(https);
        first.print("firstRequest");
        Mark second = Mark.now();
        request(https);
        second.print("secondRequest");
        all.print("total");
        context.close();
        System.exit(0);
    }

    static void awaitValid(AutoCert autoCert) throws InterruptedException {
        for (long end = System.nanoTime() + Duration.ofSeconds(30).toNanos(); System.nanoTime() < end; Thread.sleep(5)) {
            if (autoCert.status(NAME).orElseThrow().state() == CertificateStatus.State.VALID) {
                return;
            }
        }
        throw new IllegalStateException("no valid certificate within 30 s: " + autoCert.status(NAME));
    }

    /** One TLS handshake (SNI {@link #NAME}) and a GET; fails unless the served certificate names {@link #NAME}. */
    static void request(int port) throws Exception {
        SSLContext tls = UnverifiedTls.trustingAnything();
        try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
            s.setSoTimeout(30_000);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(NAME)));
            s.setSSLParameters(p);
            s.startHandshake();
            String subject = ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
            if (!subject.contains(NAME)) {
                throw new IllegalStateException("served " + subject + ", not " + NAME);
            }
            s.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + NAME + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String status = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            if (status == null || !status.startsWith("HTTP/1.1 ")) {
                throw new IllegalStateException("no HTTP answer: " + status);
            }
        }
    }
}
