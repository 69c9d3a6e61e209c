package io.github.autocert4j.examples;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.github.autocert4j.testkit.PebbleServer;

/**
 * An HTTPS proxy in front of Pebble's ACME API, on the CA side of the wire: it counts what reaches the CA (every
 * {@code POST} to newOrder is one order, whichever node sent it) and can hold chosen requests until the test
 * releases them, so a fault can be injected at an exact point of an order (e.g. while the order is being
 * finalized). It forwards the client's Host header, so Pebble builds every URL pointing back at the proxy.
 * Loopback only; its own TLS certificate is self-signed for 127.0.0.1 ({@link #trustPem()} is what the nodes trust).
 */
final class CaProxy implements AutoCloseable {
    static {
        // the JDK client sets Host only when told it may (examples/pom.xml sets it for surefire too)
        System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
    }

    private static final Set<String> HOP_BY_HOP = Set.of("connection", "content-length", "transfer-encoding", "keep-alive",
            "upgrade", "expect", "host", "date");

    /** One request that reached the CA. */
    record Seen(Instant at, String method, String path, int status) {
    }

    /** Holds one request (the {@code index}-th, from 0, whose path matches) until {@link #release()} or {@link #drop()}. */
    static final class Gate {
        private final Predicate<String> path;
        private final int index;
        private final CountDownLatch held = new CountDownLatch(1);
        private final CountDownLatch decided = new CountDownLatch(1);
        private volatile boolean dropped;
        private int seen;

        private Gate(Predicate<String> path, int index) {
            this.path = path;
            this.index = index;
        }

        /** Waits until the request is held at this gate. */
        boolean awaitHeld(Duration max) throws InterruptedException {
            return held.await(max.toMillis(), TimeUnit.MILLISECONDS);
        }

        /** Forwards the held request to the CA. */
        void release() {
            decided.countDown();
        }

        /** Never forwards it: the connection is closed without an answer, as if the CA never got it. */
        void drop() {
            dropped = true;
            decided.countDown();
        }

        private synchronized boolean holds(String p) {
            return path.test(p) && seen++ == index;
        }
    }

    private final PebbleServer pebble;
    private final HttpsServer server;
    private final HttpClient upstream;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "ca-proxy");
        t.setDaemon(true);
        return t;
    });
    private final Path trustPem;
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final List<Gate> gates = new CopyOnWriteArrayList<>();

    CaProxy(PebbleServer pebble, Path dir) throws Exception {
        this.pebble = pebble;
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        KeyPair key = g.generateKeyPair();
        Instant now = Instant.now();
        X500Name name = new X500Name("CN=autocert4j cluster test CA proxy");
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(3600)), Date.from(now.plus(Duration.ofDays(2))), name, key.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName[] {new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                        new GeneralName(GeneralName.dNSName, "localhost")}));
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
        StringWriter pem = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
            w.writeObject(cert);
        }
        this.trustPem = Files.writeString(dir.resolve("ca-proxy.pem"), pem.toString());
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("proxy", key.getPrivate(), new char[0], new X509Certificate[] {cert});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        this.upstream = HttpClient.newBuilder().sslContext(pebble.acmeServerSslContext()).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).proxy(HttpClient.Builder.NO_PROXY)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        this.server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.setExecutor(threads);
        server.createContext("/", this::exchange);
        server.start();
        HttpResponse<String> dir0 = upstream.send(HttpRequest.newBuilder(pebble.directoryUri()).header("Host", hostPort()).build(),
                HttpResponse.BodyHandlers.ofString());
        if (!dir0.body().contains(hostPort() + "/order-plz")) {
            throw new IllegalStateException("Pebble did not build its directory from the Host header (or newOrder moved): " + dir0.body());
        }
    }

    String hostPort() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    URI directoryUri() {
        return URI.create("https://" + hostPort() + "/dir");
    }

    /** The proxy's certificate, the trust anchor for the nodes' ACME client. */
    Path trustPem() {
        return trustPem;
    }

    /** Orders that reached the CA: {@code POST}s to Pebble's newOrder resource answered 201. */
    long orders() {
        return seen.stream().filter(s -> s.method().equals("POST") && s.path().equals("/order-plz") && s.status() == 201).count();
    }

    /** Requests with this method whose path starts with {@code prefix} that the CA answered with a 2xx status. */
    long count(String method, String prefix) {
        return seen.stream().filter(s -> s.method().equals(method) && s.path().startsWith(prefix) && s.status() / 100 == 2).count();
    }

    /** Every request that reached the CA so far. */
    List<Seen> seen() {
        return List.copyOf(seen);
    }

    /** Holds the {@code index}-th (from 0) request from now on whose path starts with {@code prefix}. */
    Gate hold(String prefix, int index) {
        Gate g = new Gate(p -> p.startsWith(prefix), index);
        gates.add(g);
        return g;
    }

    private void exchange(HttpExchange ex) {
        try (ex) {
            byte[] body;
            try (InputStream in = ex.getRequestBody()) {
                body = in.readAllBytes();
            }
            String path = ex.getRequestURI().toString();
            for (Gate g : gates) {
                if (g.holds(path)) {
                    g.held.countDown();
                    if (!g.decided.await(60, TimeUnit.SECONDS) || g.dropped) {
                        return; // closed without an answer
                    }
                }
            }
            URI target = URI.create("https://127.0.0.1:" + pebble.directoryUri().getPort() + path);
            HttpRequest.Builder b = HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(30)).header("Host", hostPort());
            ex.getRequestHeaders().forEach((k, v) -> {
                if (!HOP_BY_HOP.contains(k.toLowerCase(Locale.ROOT))) {
                    v.forEach(value -> b.header(k, value));
                }
            });
            b.method(ex.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
            HttpResponse<byte[]> r = upstream.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            seen.add(new Seen(Instant.now(), ex.getRequestMethod(), path, r.statusCode()));
            r.headers().map().forEach((k, v) -> {
                if (!HOP_BY_HOP.contains(k.toLowerCase(Locale.ROOT)) && !k.startsWith(":")) {
                    ex.getResponseHeaders().put(k, new ArrayList<>(v));
                }
            });
            byte[] out = r.body() == null ? new byte[0] : r.body();
            boolean noBody = ex.getRequestMethod().equals("HEAD") || out.length == 0 || r.statusCode() == 204 || r.statusCode() == 304;
            ex.sendResponseHeaders(r.statusCode(), noBody ? -1 : out.length);
            if (!noBody) {
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(out);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the client went away (killed node)
        }
    }

    @Override
    public void close() {
        gates.forEach(Gate::drop);
        server.stop(0);
        threads.shutdownNow();
    }
}
