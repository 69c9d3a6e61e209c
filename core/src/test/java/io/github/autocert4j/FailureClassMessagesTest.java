package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every failure of the ACME order flow names the failing CA by its directory URL and says what to
 * do ("Fix: "), whatever failed: the directory, the account, the order, the validation, the
 * finalization, the network, the timeouts. One fault per case, against a real Pebble behind the
 * fault proxy; the case's first failed attempt is checked.
 */
@WithPebble
class FailureClassMessagesTest {
    static final String APP = "messages-class.autocert4j.test";
    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path store;

    static FaultProxy.Resp rewriteStatus(FaultProxy.Resp r, String from, String to) {
        return r.withBody(r.bodyText().replaceFirst("\"status\":\\s*\"" + from + "\"", "\"status\": \"" + to + "\"")
                .getBytes(StandardCharsets.UTF_8));
    }

    /** The fault of each case, as a proxy rule. */
    static FaultProxy.Rule rule(String fault) {
        return switch (fault) {
            case "rateLimited" -> (req, fwd) -> CA.proxy().is("newOrder").test(req)
                    ? FaultProxy.Resp.problem(429, "rateLimited", "too many orders", "Retry-After", "3600") : fwd.call();
            case "503 Retry-After" -> (req, fwd) -> CA.proxy().is("newOrder").test(req)
                    ? FaultProxy.Resp.of(503, "text/plain", "maintenance", "Retry-After", "120") : fwd.call();
            case "serverInternal" -> (req, fwd) -> CA.proxy().is("newOrder").test(req)
                    ? FaultProxy.Resp.problem(500, "serverInternal", "database on fire") : fwd.call();
            case "rejectedIdentifier" -> (req, fwd) -> CA.proxy().is("newOrder").test(req)
                    ? FaultProxy.Resp.problem(400, "rejectedIdentifier", "policy forbids this name") : fwd.call();
            case "invalidContact" -> (req, fwd) -> CA.proxy().is("newAccount").test(req)
                    ? FaultProxy.Resp.problem(400, "invalidContact", "no such domain") : fwd.call();
            case "stalled newOrder" -> (req, fwd) -> {
                if (CA.proxy().is("newOrder").test(req)) {
                    Thread.sleep(3_000);
                }
                return fwd.call();
            };
            case "badCSR at finalize" -> (req, fwd) -> req.pathStarts("/finalize-order/")
                    ? FaultProxy.Resp.problem(400, "badCSR", "the CSR is unacceptable") : fwd.call();
            case "order invalid" -> (req, fwd) -> {
                FaultProxy.Resp r = fwd.call();
                return req.pathStarts("/my-order/") ? rewriteStatus(r, "(ready|valid|processing)", "invalid") : r;
            };
            case "authorization deactivated" -> (req, fwd) -> {
                FaultProxy.Resp r = fwd.call();
                return req.pathStarts("/authZ/") ? rewriteStatus(r, "pending", "deactivated") : r;
            };
            case "authorization stuck pending" -> (req, fwd) -> {
                FaultProxy.Resp r = fwd.call();
                return req.pathStarts("/authZ/") ? rewriteStatus(r, "(valid|invalid)", "pending") : r;
            };
            case "validation failed" -> FaultProxy.PASS; // with no responder: Pebble's validation gets a 404
            case "directory 404", "unreachable", "untrusted" -> FaultProxy.PASS;
            default -> throw new IllegalArgumentException(fault);
        };
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"rateLimited", "503 Retry-After", "serverInternal", "rejectedIdentifier", "invalidContact",
            "stalled newOrder", "badCSR at finalize", "order invalid", "authorization deactivated", "authorization stuck pending",
            "validation failed", "directory 404", "unreachable", "untrusted"})
    void namesTheCaAndAFix(String fault) throws Exception {
        URI directory = switch (fault) {
            case "directory 404" -> CA.proxy().directoryUri().resolve("/no-such-directory");
            case "unreachable" -> {
                try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                    yield URI.create("https://127.0.0.1:" + s.getLocalPort() + "/dir");
                }
            }
            default -> CA.proxy().directoryUri();
        };
        CA.proxy().rule(rule(fault));
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        AutoCertBuilder b = AutoCert.builder().directory(directory).agreeToTermsOfService(true).certificate(APP)
                .email("admin@autocert4j.test").storageDirectory(store).listener(events::add)
                .renewal(RenewalPolicy.defaults().withHttpTimeout(Duration.ofSeconds(1)).withOrderTimeout(Duration.ofSeconds(5)));
        if (!fault.equals("untrusted")) {
            b.acmeServerTrust(CA.proxy().caPem());
        }
        try (AutoCert a = b.build()) {
            CA.challenges().responder = fault.equals("validation failed") ? null : a.http01();
            a.start();
            CertEvent.Failed f = FaultMatrixTestAccess.await(events, CertEvent.Failed.class, Duration.ofSeconds(30));
            String m = f.error();
            assertTrue(m.contains(directory.toString()), fault + ": names the CA's directory " + directory + ": " + m);
            assertTrue(m.contains("Fix: "), fault + ": names a fix: " + m);
            assertEquals(1, m.split("Fix: ", -1).length - 1, fault + ": one fix, said once: " + m);
        } finally {
            CA.proxy().rule(null);
        }
    }
}
