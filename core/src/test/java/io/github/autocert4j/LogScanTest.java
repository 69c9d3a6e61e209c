package io.github.autocert4j;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.tls.LiveKeyManager;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.interfaces.ECPrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No private key material in any log line or toString: an issuance, a renewal and a failed
 * renewal run in-process with the log captured, then the log, every event, status and
 * internal object's toString are searched for the account key and each certificate key
 * (PKCS#8 base64 in 24-character pieces, the EC secret in hex) and for PEM key headers. The
 * logs of the other test classes and of the crash-test children are searched for PEM key headers.
 */
@WithPebble
class LogScanTest {
    static final String NAME = "logscan.autocert4j.test";

    @TempDir
    Path work;

    @Test
    void noPrivateKeyMaterialInLogsOrToString(PebbleServer pebble) throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        List<String> texts = new ArrayList<>();
        List<KeyPair> keys = new ArrayList<>();
        Path store = work.resolve("store");
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try (FaultProxy proxy = new FaultProxy(pebble, work);
             FaultProxy.ChallengeListener l = new FaultProxy.ChallengeListener(pebble.httpPort());
             AutoCert a = AutoCert.builder().directory(proxy.directoryUri()).acmeServerTrust(proxy.caPem()).agreeToTermsOfService(true)
                     .certificate(NAME).storageDirectory(store).listener(e -> {
                         events.add(e);
                         System.err.println("listener got " + e);
                     }).build()) {
            l.responder = a.http01();
            a.start();
            FaultMatrixTestAccess.await(events, CertEvent.Issued.class, java.time.Duration.ofSeconds(20));
            StoreLayout layout = new StoreLayout(proxy.directoryUri());
            keys.add(Pem.decodeBundle(Files.readAllBytes(store.resolve(layout.certBundle(NAME)))).keyPair());
            a.renewNow(NAME).get(20, TimeUnit.SECONDS);
            CertBundle second = Pem.decodeBundle(Files.readAllBytes(store.resolve(layout.certBundle(NAME))));
            keys.add(second.keyPair());
            keys.add(Pem.decodeKeyPair(Files.readAllBytes(store.resolve(layout.accountKey()))));
            // A failure path too: the download answers a chain for another key.
            proxy.rule((req, fwd) -> {
                FaultProxy.Resp r = fwd.call();
                if (proxy.isCertDownload(req) && r.status() == 200) {
                    java.time.Instant now = java.time.Instant.now();
                    return r.withBody(FaultPki.pem(List.of(proxy.pki.leaf(FaultPki.ecKey().getPublic(), now.minusSeconds(60), now.plusSeconds(3600), NAME),
                            proxy.pki.ca)).getBytes(StandardCharsets.US_ASCII));
                }
                return r;
            });
            try {
                a.renewNow(NAME).get(20, TimeUnit.SECONDS);
            } catch (ExecutionException expected) {
                texts.add(String.valueOf(expected.getCause()));
            }
            texts.add(a.toString());
            texts.add(a.status().toString());
            texts.add(a.keyManager().toString());
            texts.add(a.http01().toString());
            texts.add(second.toString());
            LiveKeyManager km = (LiveKeyManager) a.keyManager();
            texts.add(String.valueOf(km.select(NAME)));
            a.status().forEach(s -> texts.add(s.toString() + s.lastFailure()));
            texts.add(FileCertStore.of(store).toString());
            events.forEach(e -> texts.add(e.toString()));
        } finally {
            System.setErr(err);
        }
        String captured = log.toString(StandardCharsets.UTF_8);
        assertTrue(captured.contains("is live") && captured.contains("failed"), "the log covers issuance and failure:\n" + captured);
        texts.add(captured);

        List<String> needles = new ArrayList<>(List.of("PRIVATE KEY"));
        for (KeyPair k : keys) {
            String b64 = Base64.getEncoder().encodeToString(k.getPrivate().getEncoded());
            // Pieces from the end of PKCS#8 (the secret and the public point), not the shared algorithm header.
            for (int i = b64.length() - 24; i > 30; i -= 24) {
                needles.add(b64.substring(i, i + 24));
            }
            if (k.getPrivate() instanceof ECPrivateKey ec) {
                needles.add(ec.getS().toString(16));
                needles.add(ec.getS().toString());
            }
        }
        for (String text : texts) {
            for (String needle : needles) {
                assertFalse(text.contains(needle), "private key material (" + needle + ") in: " + text);
            }
        }

        // Every other test log this build wrote so far: no PEM private key anywhere.
        for (Path dir : List.of(Path.of("target", "surefire-reports"), Path.of("target", "crash-logs"))) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".txt") || p.toString().endsWith(".log")).toList()) {
                    String content = read(f);
                    assertFalse(content.contains("PRIVATE KEY-----"), "PEM private key in " + f);
                }
            }
        }
    }

    private static String read(Path f) throws IOException {
        return new String(Files.readAllBytes(f), StandardCharsets.UTF_8);
    }
}
