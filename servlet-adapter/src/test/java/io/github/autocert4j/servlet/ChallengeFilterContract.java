package io.github.autocert4j.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.testdoubles.CutOffStore;
import io.github.autocert4j.testkit.Http01Table;
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
    static final String TOKEN = Http01Table.TOKEN;
    static final String KEY_AUTHZ = Http01Table.KEY_AUTHORIZATION;
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

            // The table core decides (testkit's Http01Table, the same rows for every adapter), through this container.
            for (Http01Table.Row row : Http01Table.rows()) {
                Http01Table.check(row, Http01Table.send(http, row), app -> {
                    assertEquals(200, app.status(), row + " -> " + app);
                    assertEquals("plain " + row.target(), app.body(), row.toString());
                });
            }
            // ".." leaves the challenge path once decoded: Jetty rejects it (400), Tomcat normalizes it
            // to "/.well-known/" before mapping, so the filter never sees it. Either way no key authorization.
            RawHttp.Response dots = RawHttp.send(http, "GET", PREFIX + "%2e%2e");
            assertTrue(dots.status() == 400 || dots.body().equals("plain " + PREFIX + "%2e%2e"), "encoded dots: " + dots);
            RawHttp.Response bad = RawHttp.send(http, "GET", PREFIX + "a.b");
            assertEquals("close", bad.header("connection"), "a malformed request is never a CA's: " + bad);

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
