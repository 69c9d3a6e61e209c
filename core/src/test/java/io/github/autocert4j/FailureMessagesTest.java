package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a user reads when the CA cannot be used: each run-time failure names what failed, where,
 * and what to do (review defect 9), is logged once per attempt, and a CA outage costs one order
 * per attempt, not two (review defect 7). Against a real Pebble, through the fault proxy where a
 * fault is needed.
 */
@WithPebble
class FailureMessagesTest {
    static final String APP = "messages.autocert4j.test";
    static final Duration T = Duration.ofSeconds(20);

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path store;

    AutoCertBuilder builder(URI directory, List<CertEvent> events) {
        return PebbleAutoCerts.builderFor(directory, CA.proxy().caPem()).certificate(APP)
                .storageDirectory(store).listener(events::add)
                .renewal(RenewalPolicy.defaults().withHttpTimeout(Duration.ofSeconds(2)).withOrderTimeout(Duration.ofSeconds(10)));
    }

    /** Runs {@code scenario} with System.err (slf4j-simple's output) captured; returns the log text. */
    static String capturingLog(ThrowingRunnable scenario) throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            scenario.run();
        } finally {
            System.setErr(err);
        }
        String text = log.toString(StandardCharsets.UTF_8);
        err.print(text);
        return text;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Starts a manager with an empty store against {@code directory} and returns its first failure. */
    CertEvent.Failed firstFailure(Function<List<CertEvent>, AutoCertBuilder> b) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = CA.build(b.apply(events))) {
            a.start();
            CertEvent.Failed f = FaultMatrixTestAccess.await(events, CertEvent.Failed.class, T);
            assertEquals(f.error(), a.status(APP).orElseThrow().lastError());
            return f;
        }
    }

    @Test
    void anUnreachableCaNamesTheAddressAndTheFixAndTheFallbackIsLogged() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        URI dead = URI.create("https://127.0.0.1:" + closed + "/dir");
        CertEvent.Failed[] f = new CertEvent.Failed[1];
        String log = capturingLog(() -> f[0] = firstFailure(ev -> builder(dead, ev)));
        String msg = f[0].error();
        assertTrue(msg.contains("cannot connect to the ACME server at 127.0.0.1:" + closed), msg);
        assertTrue(msg.contains("Fix: check directory(" + dead + ")"), msg);
        assertFalse(f[0].permanent(), "a network failure is retried");
        assertTrue(log.lines().anyMatch(l -> l.contains("INFO") && l.contains("self-signed fallback") && l.contains(APP)),
                "serving the fallback is logged: " + log);
    }

    @Test
    void aWrongDirectoryPathSaysSoAndNamesTheFix() throws Exception {
        URI wrong = CA.proxy().directoryUri().resolve("/no-such-directory");
        CertEvent.Failed f = firstFailure(ev -> builder(wrong, ev));
        assertTrue(f.error().contains("the ACME directory " + wrong + " answered HTTP 404"), f.error());
        assertTrue(f.error().contains("Fix: check the directory URL"), f.error());
    }

    @Test
    void anUntrustedAcmeServerPointsToAcmeServerTrustOnce() throws Exception {
        CertEvent.Failed[] f = new CertEvent.Failed[1];
        String log = capturingLog(() -> f[0] = firstFailure(ev -> AutoCert.builder().directory(CA.proxy().directoryUri())
                .agreeToTermsOfService(true).certificate(APP).storageDirectory(store).listener(ev::add)));
        String msg = f[0].error();
        assertTrue(msg.contains("is not trusted") && msg.contains("acmeServerTrust(Path.of("), msg);
        long lines = log.lines().filter(l -> l.contains("obtaining certificate " + APP + " failed")).count();
        long trustMentions = log.lines().filter(l -> l.contains("is not trusted")).count();
        assertEquals(lines, trustMentions, "one line per failed attempt, the cause said once in it: " + log);
        assertTrue(log.lines().filter(l -> l.contains("is not trusted")).allMatch(l -> l.indexOf("not trusted") == l.lastIndexOf("not trusted")));
    }

    @Test
    void aCaOutageDuringARenewalCostsOneOrderPerAttempt() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = CA.build(builder(CA.proxy().directoryUri(), events))) {
            a.start();
            FaultMatrixTestAccess.await(events, CertEvent.Issued.class, T);
            String hex = a.status(APP).orElseThrow().serialHex();
            assertTrue(a.status(APP).orElseThrow().toString().contains("serial=" + hex), "status prints the serial in hex, like the logs");
            CA.proxy().reset();
            CA.proxy().rule((req, fwd) -> CA.proxy().is("newOrder").test(req)
                    ? FaultProxy.Resp.problem(503, "serverInternal", "the database is down") : fwd.call());
            ExecutionException e = assertThrows(ExecutionException.class, () -> a.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));
            List<FaultProxy.Seen> orders = CA.proxy().requests("POST", "newOrder");
            assertEquals(1, orders.size(), "no second order without 'replaces' for a refusal that is not about it: " + orders);
            assertTrue(orders.get(0).payload().contains("\"replaces\""), "the renewal named the certificate it replaces");
            IssuanceException failure = (IssuanceException) e.getCause();
            assertEquals("urn:ietf:params:acme:error:serverInternal", failure.problemType().orElseThrow());
            assertEquals("the database is down", failure.detail().orElseThrow());
            assertFalse(failure.permanent());
        }
    }

    @Test
    void storeLayoutFilesAreWhereTheReadmeSays() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = CA.build(builder(CA.proxy().directoryUri(), events))) {
            a.start();
            FaultMatrixTestAccess.await(events, CertEvent.Issued.class, T);
        }
        assertTrue(Files.isRegularFile(store.resolve("certs/" + APP + "/" + APP + ".pem")));
        assertTrue(Files.readString(store.resolve("certs/" + APP + "/" + APP + ".properties")).contains("issuer="));
        assertTrue(Files.isRegularFile(store.resolve("acme/" + StoreLayout.caId(CA.proxy().directoryUri()) + "/account/account.key.pem")));
        assertFalse(Files.exists(store.resolve("challenges/http-01")) && Files.list(store.resolve("challenges/http-01")).findAny().isPresent(),
                "challenge tokens are withdrawn after the order");
    }
}
