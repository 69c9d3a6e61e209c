package io.github.autocert4j.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.testdoubles.CutOffStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link AcmeChallengeFilter} through a real container's plain-HTTP connector, with requests sent
 * byte for byte (no client-side normalization): status codes, headers, HEAD, and pass-through of
 * every other request to the application servlet.
 */
abstract class ChallengeFilterContract {
    static final String TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
    static final String KEY_AUTHZ = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
    static final String PREFIX = "/.well-known/acme-challenge/";

    @TempDir
    Path tmp;

    abstract ServletTestHost newHost(AutoCert autoCert, Registration registration, Path workDir) throws Exception;

    AutoCert autoCert() {
        // Never started: the CA is never contacted; only its Http01Responder is used.
        return AutoCert.builder().directory("https://127.0.0.1:9/directory").agreeToTermsOfService(true)
                .certificate("app.autocert4j.test").storageDirectory(tmp.resolve("store")).build();
    }

    @ParameterizedTest
    @EnumSource(value = Registration.class, names = {"INITIALIZER", "REGISTER", "NO_ARG_FILTER"})
    void answersChallengesAndPassesEverythingElseOn(Registration registration) throws Exception {
        try (AutoCert autoCert = autoCert(); ServletTestHost host = newHost(autoCert, registration, tmp.resolve("work"))) {
            autoCert.http01().present(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", TOKEN, KEY_AUTHZ));
            InetSocketAddress http = host.httpAddress();

            RawHttp.Response ok = RawHttp.send(http, "GET", PREFIX + TOKEN);
            assertEquals(200, ok.status());
            assertEquals(KEY_AUTHZ, ok.body());
            assertTrue(ok.header("content-type").startsWith("text/plain"), ok.headers().toString());
            assertEquals(String.valueOf(KEY_AUTHZ.length()), ok.header("content-length"));

            RawHttp.Response query = RawHttp.send(http, "GET", PREFIX + TOKEN + "?x=1");
            assertEquals(200, query.status());
            assertEquals(KEY_AUTHZ, query.body());

            RawHttp.Response head = RawHttp.send(http, "HEAD", PREFIX + TOKEN);
            assertEquals(200, head.status());
            assertEquals("", head.body(), "HEAD has no body");

            assertEquals(404, RawHttp.send(http, "GET", PREFIX + "unknownToken_123").status());
            assertEquals(404, RawHttp.send(http, "HEAD", PREFIX + "unknownToken_123").status());
            assertEquals(404, RawHttp.send(http, "GET", PREFIX).status(), "empty token");

            RawHttp.Response dot = RawHttp.send(http, "GET", PREFIX + "a.b");
            assertEquals(400, dot.status());
            assertEquals("no-store", dot.header("cache-control"), "answered by the filter, not the container");
            assertEquals(400, RawHttp.send(http, "GET", PREFIX + "x".repeat(257)).status(), "over-long token");
            assertEquals(400, RawHttp.send(http, "GET", PREFIX + TOKEN + "%2Fx").status(), "encoded slash");
            assertEquals(400, RawHttp.send(http, "GET", PREFIX + TOKEN + "%2e").status(), "encoded dot");
            // ".." leaves the challenge path once decoded: Jetty rejects it (400), Tomcat normalizes it
            // to "/.well-known/" before mapping, so the filter never sees it. Either way no key authorization.
            RawHttp.Response dots = RawHttp.send(http, "GET", PREFIX + "%2e%2e");
            assertTrue(dots.status() == 400 || dots.body().equals("plain " + PREFIX + "%2e%2e"), "encoded dots: " + dots);
            assertEquals(400, RawHttp.send(http, "GET", PREFIX + "%41bc").status(), "percent-encoded token");
            assertEquals(400, RawHttp.send(http, "GET", PREFIX + "abc;jsessionid=1").status(), "path parameter");
            assertEquals(400, RawHttp.send(http, "GET", "/.well-known/%61cme-challenge/" + TOKEN).status(), "encoded prefix");

            for (String method : new String[] {"POST", "PUT", "DELETE", "OPTIONS"}) {
                RawHttp.Response r = RawHttp.send(http, method, PREFIX + TOKEN);
                assertEquals(405, r.status(), method);
                assertEquals("GET, HEAD", r.header("allow"), method);
            }

            // Everything else reaches the application servlet unchanged.
            assertApp(http, "GET", "/hello");
            assertApp(http, "POST", "/hello");
            assertApp(http, "GET", "/.well-known/other");
            assertApp(http, "GET", "/.well-known/acme-challenge");
            assertApp(http, "GET", "/x/.well-known/acme-challenge/" + TOKEN);

            // The token disappears once the CA is done with it.
            autoCert.http01().cleanUp(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", TOKEN, KEY_AUTHZ));
            assertEquals(404, RawHttp.send(http, "GET", PREFIX + TOKEN).status());
        }
    }

    /**
     * A server cut off from its shared store cannot tell whether a peer published a token: 503 (a load balancer
     * then tries another server), never 404; its own tokens are still answered from memory.
     */
    @Test
    void aTokenTheUnreachableStoreCannotDecideIs503() throws Exception {
        try (AutoCert cut = AutoCert.builder().directory("https://127.0.0.1:9/directory").agreeToTermsOfService(true)
                .certificate("app.autocert4j.test").store(new CutOffStore()).build();
             ServletTestHost host = newHost(cut, Registration.REGISTER, tmp.resolve("work"))) {
            cut.http01().present(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", TOKEN, KEY_AUTHZ));
            InetSocketAddress http = host.httpAddress();
            RawHttp.Response unknown = RawHttp.send(http, "GET", PREFIX + "peersToken_1");
            assertEquals(503, unknown.status(), unknown.toString());
            assertEquals("Service Unavailable\n", unknown.body());
            assertEquals("no-store", unknown.header("cache-control"), "answered by the filter, not the container");
            assertEquals(503, RawHttp.send(http, "HEAD", PREFIX + "peersToken_2").status());
            RawHttp.Response own = RawHttp.send(http, "GET", PREFIX + TOKEN);
            assertEquals(200, own.status());
            assertEquals(KEY_AUTHZ, own.body());
            assertEquals(400, RawHttp.send(http, "GET", PREFIX + "a.b").status(), "malformed tokens never reach the store");
        }
    }

    @Test
    void initializerLeavesContextsWithoutAttributesAlone() throws Exception {
        try (AutoCert autoCert = autoCert(); ServletTestHost host = newHost(autoCert, Registration.NONE, tmp.resolve("work"))) {
            autoCert.http01().present(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", TOKEN, KEY_AUTHZ));
            assertApp(host.httpAddress(), "GET", PREFIX + TOKEN);
        }
    }

    private static void assertApp(InetSocketAddress http, String method, String target) throws Exception {
        RawHttp.Response r = RawHttp.send(http, method, target);
        assertEquals(200, r.status(), method + " " + target + " -> " + r);
        assertEquals("plain " + target, r.body(), method + " " + target);
    }
}
