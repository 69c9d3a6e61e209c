package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.github.autocert4j.testdoubles.CutOffStore;
import io.github.autocert4j.testkit.Http01Table;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The one HTTP-01 decision, {@link Http01Responder#respond}: testkit's {@link Http01Table} (the rows
 * every adapter also runs against its real server), plus what only core can check directly: 503 from
 * a store that cannot tell, dot segments and other disguises, absolute-form targets, odd inputs that
 * must never throw.
 */
class Http01ReplyTableTest {
    private final Http01Responder responder = new Http01Responder();

    Http01ReplyTableTest() {
        responder.present(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", Http01Table.TOKEN, Http01Table.KEY_AUTHORIZATION));
    }

    @ParameterizedTest
    @MethodSource("io.github.autocert4j.testkit.Http01Table#rows")
    void theSharedTable(Http01Table.Row row) {
        Http01Reply reply = responder.respond(row.method(), row.target());
        if (row.status() == Http01Table.HOST) {
            assertSame(Http01Reply.PASS_TO_HOST, reply, row.toString());
            return;
        }
        assertFalse(reply.passToHost(), row.toString());
        assertEquals(row.status(), reply.status(), row.toString());
        assertEquals(Http01Reply.CONTENT_TYPE, reply.contentType());
        assertEquals("no-store", reply.headers().get("Cache-Control"));
        assertEquals(row.status() == 405 ? "GET, HEAD" : null, reply.headers().get("Allow"), row.toString());
        assertEquals(!row.method().equals("HEAD"), reply.sendBody(), "HEAD: no body " + row);
        assertEquals(row.status() == 400, reply.closeConnection(), "a malformed request closes the connection " + row);
        String body = row.status() == 200 ? Http01Table.KEY_AUTHORIZATION : Http01Reply.reason(row.status()) + "\n";
        assertEquals(body, reply.body(), row.toString());
        assertEquals(body.length(), reply.contentLength());
        assertArrayEquals(body.getBytes(StandardCharsets.US_ASCII), reply.bodyBytes());
        assertTrue(responder.respondAsync(row.method(), row.target()).isDone(), "answered from memory at once: " + row);
    }

    @ParameterizedTest
    @CsvSource(delimiterString = " => ", value = {
            // disguised challenge paths: decoded, de-parametered or normalized they are one; never a CA's request
            "GET /x/../.well-known/acme-challenge/TOKEN => 400",
            "GET /.well-known/./acme-challenge/TOKEN => 400",
            "GET /%2Ewell-known/acme-challenge/TOKEN => 400",
            "GET /.well-known/acme%2Dchallenge/TOKEN => 400",
            "GET /.well-known/acme-challenge%2FTOKEN => 400",
            "GET /.well-known;p=1/acme-challenge/TOKEN => 400",
            "GET /.well-known\\acme-challenge/TOKEN => 400",
            "POST /.well-known/%61cme-challenge/TOKEN => 405",
            // under the prefix, anything but a bare token is 400
            "GET /.well-known/acme-challenge/../../etc/passwd => 400",
            "GET /.well-known/acme-challenge/./TOKEN => 400",
            "GET /.well-known/acme-challenge/%zz => 400",
            // absolute form, query, fragment
            "GET http://app.autocert4j.test/.well-known/acme-challenge/TOKEN => 200",
            "GET http://app.autocert4j.test:80/.well-known/acme-challenge/TOKEN?a=b&c => 200",
            "GET /.well-known/acme-challenge/TOKEN#f => 200",
            "GET http://h?x=/.well-known/acme-challenge/TOKEN => 0",
            // methods are case-sensitive
            "get /.well-known/acme-challenge/TOKEN => 405",
            "TRACE /.well-known/acme-challenge/TOKEN => 405",
            // the host's business
            "GET //.well-known/acme-challenge/TOKEN => 0",
            "GET /.WELL-KNOWN/acme-challenge/TOKEN => 0",
            "GET /.well-known/acme-challengeX/TOKEN => 0",
            "GET /a/%2e%2e => 0",
            "GET * => 0",
            "OPTIONS * => 0",
            "CONNECT app.autocert4j.test:443 => 0",
    })
    void moreRows(String request, int status) {
        String method = request.substring(0, request.indexOf(' '));
        String target = request.substring(request.indexOf(' ') + 1);
        Http01Reply reply = responder.respond(method, target.replace("TOKEN", Http01Table.TOKEN));
        assertEquals(status == 0, reply.passToHost(), method + " " + target + " -> " + reply);
        assertEquals(status, reply.status(), method + " " + target);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "%", "/%", "/.well-known/acme-challenge/%", "/.well-known/acme-challenge/\u0000", "\u00ff/x",
        "http://", "http:///", "/.well-known/acme-challenge/\u00e4", "/../../../../.well-known/acme-challenge/t"})
    void neverThrows(String target) {
        for (String method : new String[] {"GET", "HEAD", "POST", "", null}) {
            Http01Reply reply = responder.respond(method, target);
            assertTrue(reply.passToHost() || List.of(400, 404, 405).contains(reply.status()), method + " " + target + " -> " + reply);
        }
        assertSame(Http01Reply.PASS_TO_HOST, responder.respond("GET", null));
        assertEquals(400, responder.respond("GET", "/x" + "/..".repeat(100_000) + "/.well-known/acme-challenge/t").status());
        assertEquals(405, responder.respond(null, Http01Table.PREFIX + Http01Table.TOKEN).status());
    }

    @Test
    void aStoreThatCannotTellIs503AndOwnTokensStill200() {
        Http01Responder cut = new Http01Responder(new CutOffStore());
        try {
            cut.present(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", Http01Table.TOKEN, Http01Table.KEY_AUTHORIZATION));
            Http01Reply unknown = cut.respond("GET", Http01Table.PREFIX + "peersToken_1");
            assertEquals(503, unknown.status(), unknown.toString());
            assertEquals("Service Unavailable\n", unknown.body());
            assertEquals(Map.of("Cache-Control", "no-store", "Retry-After", "2"), unknown.headers());
            assertFalse(unknown.closeConnection(), "a load balancer may retry on the same connection");
            CompletableFuture<Http01Reply> head = cut.respondAsync("HEAD", Http01Table.PREFIX + "peersToken_2");
            Http01Reply h = head.join();
            assertEquals(503, h.status());
            assertFalse(h.sendBody());
            assertEquals(200, cut.respond("GET", Http01Table.PREFIX + Http01Table.TOKEN).status());
            assertEquals(400, cut.respond("GET", Http01Table.PREFIX + "a.b").status(), "malformed tokens never reach the store");
        } finally {
            cut.close();
        }
    }

    @Test
    void theReplyShowsNoKeyAuthorizationAndHeadersAreFixed() {
        Http01Reply ok = responder.respond("GET", Http01Table.PREFIX + Http01Table.TOKEN);
        assertFalse(ok.toString().contains(Http01Table.TOKEN), ok.toString());
        assertEquals(Map.of("Cache-Control", "no-store"), ok.headers());
        org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class, () -> ok.headers().put("X", "y"));
        assertEquals(List.of("Cache-Control", "Allow"), List.copyOf(Http01Reply.of(405, "POST").headers().keySet()), "in order");
    }

    @Test
    void cleanUpTurns200Into404() {
        responder.cleanUp(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", Http01Table.TOKEN, Http01Table.KEY_AUTHORIZATION));
        assertEquals(404, responder.respond("GET", Http01Table.PREFIX + Http01Table.TOKEN).status());
    }
}
