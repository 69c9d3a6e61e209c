package io.github.autocert4j.cli;

import static io.github.autocert4j.cli.CliTestSupport.cli;
import static io.github.autocert4j.cli.CliTestSupport.orders;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.RenewalPolicy;
import io.github.autocert4j.StoreAdmin;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Moving off certbot with a REAL certbot directory: Debian's certbot (scripts/get-certbot.sh) obtains a
 * certificate from Pebble (standalone http-01 on Pebble's validation port, config/work/logs in a temp dir),
 * {@code import certbot DIR} stores it with its key and certbot's account, a real server serves it at once
 * with no new order at the CA, and renews it on schedule (Pebble issues 100-second certificates here, so the
 * schedule, half the lifetime for short-lived ones, comes after ~50 s) with certbot's account. Bad input
 * (expired, a key of another certificate, a missing file, a conflict with the store) is refused with exit 5
 * and leaves the store byte for byte as it was.
 */
@WithPebble(profiles = @WithPebble.Profile(name = "default", seconds = 100))
class CertbotImportTest {
    static final String NAME = "certbot.cli.autocert4j.test";
    static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path work;

    @Test
    void importsCertbotsCertificateAndAccountServesAtOnceAndRenewsOnSchedule(PebbleServer pebble) throws Exception {
        Path certbot = runCertbot(pebble);
        Path live = certbot.resolve("live").resolve(NAME);
        X509Certificate certbotLeaf = readCerts(live.resolve("cert.pem")).get(0);
        int ordersAfterCertbot = orders(pebble);
        assertEquals(1, ordersAfterCertbot, "certbot ordered once: " + pebble.logTail(20));

        Path store = work.resolve("store");
        Files.createDirectories(store);
        CliTestSupport.Result check = cli("--store", store.toString(), "import", "certbot", certbot.toString(), "--check");
        assertEquals(0, check.code(), check.toString());
        assertEquals(Map.of(), CliTestSupport.snapshot(store), "--check writes nothing");
        CliTestSupport.Result imported = cli("--store", store.toString(), "import", "certbot", certbot.toString());
        assertEquals(0, imported.code(), imported.toString());
        assertTrue(imported.out().contains("Imported 1 certificate(s) and 1 account(s)"), imported.toString());
        StoreAdmin admin = StoreAdmin.of(FileCertStore.of(store));
        assertEquals(certbotLeaf.getSerialNumber(), admin.certificate(NAME).orElseThrow().serial());
        String regrUri = (String) org.jose4j.json.JsonUtil.parseJson(Files.readString(findAccount(certbot).resolve("regr.json"))).get("uri");
        assertEquals(regrUri, admin.account(pebble.directoryUri()).orElseThrow().getValue().toString(), "certbot's account URL stored");
        assertEquals(0, cli("--store", store.toString(), "import", "certbot", certbot.toString()).code(), "importing the same again is a no-op");

        try (CliTestSupport.Http01Listener http = new CliTestSupport.Http01Listener(pebble.httpPort());
             AutoCert server = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                     .agreeToTermsOfService(true).certificate(NAME).storageDirectory(store)
                     .renewal(RenewalPolicy.defaults().withAri(false)).build()) {
            http.responder = server.http01();
            server.start();
            // served at once, from the store, no order
            assertEquals(certbotLeaf.getSerialNumber(), server.status(NAME).orElseThrow().serial(), server.status().toString());
            assertEquals(certbotLeaf.getSerialNumber(), served(server, pebble), "the TLS listener serves certbot's certificate");
            Thread.sleep(2_000);
            assertEquals(ordersAfterCertbot, orders(pebble), "0 new orders at the CA after the import");

            badInputIsRefusedAndTheStoreUnchanged(certbot, pebble);

            // renewed on schedule (half of the 100 s lifetime), by the server, with certbot's account
            Instant due = certbotLeaf.getNotAfter().toInstant().minus(Duration.between(certbotLeaf.getNotBefore().toInstant(),
                    certbotLeaf.getNotAfter().toInstant()).dividedBy(2));
            assertTrue(CliTestSupport.await(Duration.between(Instant.now(), due).plus(T),
                    () -> !server.status(NAME).orElseThrow().serial().equals(certbotLeaf.getSerialNumber())),
                    "renewed on schedule (due " + due + "): " + server.status());
            assertTrue(!Instant.now().isBefore(due.minusSeconds(1)), "not renewed before it was due (" + due + ")");
            assertEquals(ordersAfterCertbot + 1, orders(pebble), "one order, the renewal");
            assertEquals(regrUri, admin.account(pebble.directoryUri()).orElseThrow().getValue().toString(),
                    "renewed with certbot's account, no new registration");
            assertNotEquals(certbotLeaf.getSerialNumber(), admin.certificate(NAME).orElseThrow().serial());
        }
    }

    private void badInputIsRefusedAndTheStoreUnchanged(Path certbot, PebbleServer pebble) throws Exception {
        // a store holding something already: a good import of the same directory
        Path store = work.resolve("store2");
        Files.createDirectories(store);
        assertEquals(0, cli("--store", store.toString(), "import", "certbot", certbot.toString()).code());
        Map<String, String> before = CliTestSupport.snapshot(store);

        // expired
        Path expired = copy(certbot, "expired");
        KeyPair k = ec();
        X509Certificate old = selfSigned(k, NAME, Instant.now().minus(Duration.ofDays(10)), Instant.now().minus(Duration.ofDays(1)));
        Files.writeString(expired.resolve("live").resolve(NAME).resolve("fullchain.pem"), pem("CERTIFICATE", old.getEncoded()));
        Files.writeString(expired.resolve("live").resolve(NAME).resolve("privkey.pem"), pem("PRIVATE KEY", k.getPrivate().getEncoded()));
        refused(store, expired, before, "expired");

        // the key of another certificate
        Path mismatched = copy(certbot, "mismatched");
        Files.writeString(mismatched.resolve("live").resolve(NAME).resolve("privkey.pem"), pem("PRIVATE KEY", ec().getPrivate().getEncoded()));
        refused(store, mismatched, before, "does not belong to the certificate");

        // a missing file (the link into archive/ dangles)
        Path missing = copy(certbot, "missing");
        Path target = missing.resolve("live").resolve(NAME).resolve("privkey.pem").toRealPath();
        Files.delete(target);
        refused(store, missing, before, "is missing");

        // not a certbot directory at all
        refused(store, work.resolve("nothing-here"), before, "not a certbot directory");

        // a conflict: the store already holds another certificate under that id
        Path other = copy(certbot, "other");
        KeyPair k2 = ec();
        X509Certificate fresh = selfSigned(k2, NAME, Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(30)));
        Files.writeString(other.resolve("live").resolve(NAME).resolve("fullchain.pem"), pem("CERTIFICATE", fresh.getEncoded()));
        Files.writeString(other.resolve("live").resolve(NAME).resolve("privkey.pem"), pem("PRIVATE KEY", k2.getPrivate().getEncoded()));
        refused(store, other, before, "the store already has certificate");
    }

    private static void refused(Path store, Path certbotDir, Map<String, String> before, String why) throws IOException {
        CliTestSupport.Result r = cli("--store", store.toString(), "import", "certbot", certbotDir.toString());
        assertEquals(5, r.code(), r.toString());
        assertTrue(r.err().contains(why), "the message says '" + why + "': " + r);
        assertTrue(r.err().contains("nothing was"), r.toString());
        assertEquals(before, CliTestSupport.snapshot(store), "store unchanged byte for byte after: " + why);
    }

    /** Runs Debian's certbot against Pebble: standalone http-01 on Pebble's validation port, everything in a temp dir. */
    private Path runCertbot(PebbleServer pebble) throws Exception {
        Path base = work.resolve("certbot");
        Path config = base.resolve("config");
        String bin = System.getenv().getOrDefault("CERTBOT_BIN", Files.isExecutable(Path.of("/usr/bin/certbot")) ? "/usr/bin/certbot" : "certbot");
        List<String> cmd = List.of(bin, "certonly", "--non-interactive", "--agree-tos", "--register-unsafely-without-email",
                "--server", pebble.directoryUri().toString(), "--no-verify-ssl", "--standalone", "--preferred-challenges", "http",
                "--http-01-port", String.valueOf(pebble.httpPort()), "--http-01-address", "127.0.0.1",
                "--config-dir", config.toString(), "--work-dir", base.resolve("work").toString(), "--logs-dir", base.resolve("logs").toString(),
                "--cert-name", NAME, "-d", NAME);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(base.resolve("certbot.out").toFile());
        Files.createDirectories(base);
        pb.environment().put("HOME", base.toString());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new AssertionError("certbot is not installed: run scripts/get-certbot.sh (apt-get install certbot)", e);
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("certbot did not finish within 120 s: " + Files.readString(base.resolve("certbot.out")));
        }
        assertEquals(0, p.exitValue(), () -> "certbot failed: " + read(base.resolve("certbot.out")) + "\n" + pebble.logTail(20));
        assertTrue(Files.isSymbolicLink(config.resolve("live").resolve(NAME).resolve("privkey.pem")), "certbot's live/ links into archive/");
        return config;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private Path copy(Path certbot, String name) throws Exception {
        Path to = work.resolve(name);
        Process p = new ProcessBuilder("cp", "-a", certbot.toString(), to.toString()).inheritIO().start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "cp -a");
        return to;
    }

    private static Path findAccount(Path certbot) throws IOException {
        try (var s = Files.walk(certbot.resolve("accounts"))) {
            return s.filter(x -> Files.isRegularFile(x.resolve("regr.json"))).findFirst().orElseThrow();
        }
    }

    private static List<X509Certificate> readCerts(Path pem) throws Exception {
        try (var in = Files.newInputStream(pem)) {
            List<X509Certificate> out = new ArrayList<>();
            CertificateFactory.getInstance("X.509").generateCertificates(in).forEach(c -> out.add((X509Certificate) c));
            return out;
        }
    }

    private static KeyPair ec() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        return g.generateKeyPair();
    }

    private static X509Certificate selfSigned(KeyPair k, String name, Instant from, Instant to) throws Exception {
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name("CN=" + name), BigInteger.valueOf(System.nanoTime()),
                Date.from(from), Date.from(to), new X500Name("CN=" + name), k.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, name)));
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(k.getPrivate())));
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** One real handshake against a JSSE server socket using {@code autoCert.sslContext()}, verified against Pebble's root. */
    static BigInteger served(AutoCert autoCert, PebbleServer pebble) throws Exception {
        try (SSLServerSocket server = (SSLServerSocket) autoCert.sslContext().getServerSocketFactory()
                .createServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            Thread accept = new Thread(() -> {
                try (SSLSocket s = (SSLSocket) server.accept()) {
                    s.startHandshake();
                    s.getInputStream().read();
                } catch (Exception ignored) {
                    // the client closes after the handshake
                }
            }, "certbot-import-tls");
            accept.setDaemon(true);
            accept.start();
            TlsProbe.Result r = TlsProbe.handshake(new InetSocketAddress("127.0.0.1", server.getLocalPort()), NAME, pebble.issuanceRoot(),
                    Duration.ofSeconds(10));
            accept.join(5_000);
            return r.serial();
        }
    }
}
