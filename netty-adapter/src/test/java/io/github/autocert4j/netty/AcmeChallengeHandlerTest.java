package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.Http01Responder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AcmeChallengeHandlerTest {

    private static final String TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
    private static final String KEY_AUTH = TOKEN + ".NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    private static final String PATH = Http01Responder.PATH_PREFIX + TOKEN;

    private final Http01Responder responder = new Http01Responder();
    private EmbeddedChannel ch;

    @BeforeEach
    void setUp() throws Exception {
        responder.present(new ChallengeSolver.Challenge("http-01", "app.example.test", TOKEN, KEY_AUTH));
        ch = new EmbeddedChannel(new AcmeChallengeHandler(responder));
    }

    @AfterEach
    void tearDown() {
        ch.finishAndReleaseAll();
    }

    private static DefaultFullHttpRequest get(String uri) {
        return new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
    }

    /** Writes {@code request}, expects one response and nothing passed on. */
    private FullHttpResponse exchange(Object request) {
        assertFalse(ch.writeInbound(request), "a challenge request must not reach the next handler");
        FullHttpResponse res = ch.readOutbound();
        assertTrue(res != null, "no response written");
        assertNull(ch.readOutbound(), "exactly one response");
        return res;
    }

    private static String body(FullHttpResponse res) {
        try {
            return res.content().toString(StandardCharsets.US_ASCII);
        } finally {
            res.release();
        }
    }

    @Test
    void nullResponderIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new AcmeChallengeHandler(null));
    }

    @Test
    void getKnownTokenAnswersTheKeyAuthorization() {
        DefaultFullHttpRequest req = get(PATH);
        FullHttpResponse res = exchange(req);
        assertEquals(0, req.refCnt(), "the answered request is released");
        assertEquals(HttpResponseStatus.OK, res.status());
        assertEquals(HttpVersion.HTTP_1_1, res.protocolVersion());
        assertEquals(String.valueOf(KEY_AUTH.length()), res.headers().get(HttpHeaderNames.CONTENT_LENGTH));
        assertTrue(res.headers().get(HttpHeaderNames.CONTENT_TYPE).startsWith("text/plain"));
        assertEquals("no-store", res.headers().get(HttpHeaderNames.CACHE_CONTROL));
        assertNull(res.headers().get(HttpHeaderNames.CONNECTION), "HTTP/1.1 keep-alive needs no header");
        assertEquals(KEY_AUTH, body(res));
        assertTrue(ch.isOpen(), "keep-alive");
        // and again on the same connection
        assertEquals(KEY_AUTH, body(exchange(get(PATH))));
    }

    @Test
    void headAnswersHeadersOnly() {
        FullHttpResponse res = exchange(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.HEAD, PATH));
        assertEquals(HttpResponseStatus.OK, res.status());
        assertEquals(String.valueOf(KEY_AUTH.length()), res.headers().get(HttpHeaderNames.CONTENT_LENGTH));
        assertEquals("", body(res));
        assertTrue(ch.isOpen());
        FullHttpResponse missing = exchange(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.HEAD, Http01Responder.PATH_PREFIX + "unknown"));
        assertEquals(HttpResponseStatus.NOT_FOUND, missing.status());
        assertEquals("", body(missing));
    }

    @Test
    void unknownTokenIs404AndKeepsTheConnection() throws Exception {
        FullHttpResponse res = exchange(get(Http01Responder.PATH_PREFIX + "unknownToken"));
        assertEquals(HttpResponseStatus.NOT_FOUND, res.status());
        assertFalse(body(res).contains(KEY_AUTH));
        assertTrue(ch.isOpen());
        FullHttpResponse empty = exchange(get(Http01Responder.PATH_PREFIX));
        assertEquals(HttpResponseStatus.NOT_FOUND, empty.status());
        empty.release();
        // after cleanUp the token is gone
        responder.cleanUp(new ChallengeSolver.Challenge("http-01", "app.example.test", TOKEN, KEY_AUTH));
        FullHttpResponse gone = exchange(get(PATH));
        assertEquals(HttpResponseStatus.NOT_FOUND, gone.status());
        gone.release();
    }

    @ParameterizedTest
    @ValueSource(strings = {"%2F", "a%2Fb", "..", "../x", "a/b", "a+b", "a.b", "%41", "tok%00", "a=b",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    void malformedTokenIs400AndClosesTheConnection(String token) {
        FullHttpResponse res = exchange(get(Http01Responder.PATH_PREFIX + token));
        assertEquals(HttpResponseStatus.BAD_REQUEST, res.status());
        assertEquals("close", res.headers().get(HttpHeaderNames.CONNECTION));
        assertFalse(body(res).contains(KEY_AUTH));
        assertFalse(ch.isOpen(), "closed after a 400");
    }

    @Test
    void overlongTokenIs400() {
        String token = "a".repeat(300);
        assertEquals(300, token.length());
        FullHttpResponse res = exchange(get(Http01Responder.PATH_PREFIX + token));
        assertEquals(HttpResponseStatus.BAD_REQUEST, res.status());
        res.release();
    }

    @Test
    void otherMethodsAre405WithAllow() {
        for (HttpMethod m : List.of(HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE, HttpMethod.OPTIONS)) {
            DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, m, PATH,
                    Unpooled.copiedBuffer("body", StandardCharsets.US_ASCII));
            FullHttpResponse res = exchange(req);
            assertEquals(HttpResponseStatus.METHOD_NOT_ALLOWED, res.status(), m.name());
            assertEquals("GET, HEAD", res.headers().get(HttpHeaderNames.ALLOW));
            assertFalse(body(res).contains(KEY_AUTH));
            assertEquals(0, req.refCnt());
            assertTrue(ch.isOpen());
        }
    }

    @Test
    void otherRequestsArePassedOnUntouched() {
        for (String uri : List.of("/", "/index.html", "/.well-known/acme-challenge", "/.well-known/other/x",
                "//.well-known/acme-challenge/" + TOKEN, "/x/.well-known/acme-challenge/" + TOKEN, "*", "http://h/app")) {
            ByteBuf content = Unpooled.copiedBuffer("payload", StandardCharsets.US_ASCII);
            DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, uri, content);
            assertTrue(ch.writeInbound(req));
            Object passed = ch.readInbound();
            assertSame(req, passed, uri);
            assertEquals(1, req.refCnt(), "refcount untouched for " + uri);
            assertEquals("payload", req.content().toString(StandardCharsets.US_ASCII));
            assertNull(ch.readOutbound(), "no response for " + uri);
            req.release();
        }
        // non-HTTP messages too
        ByteBuf raw = Unpooled.copiedBuffer("raw", StandardCharsets.US_ASCII);
        assertTrue(ch.writeInbound(raw));
        assertSame(raw, ch.readInbound());
        assertEquals(1, raw.refCnt());
        raw.release();
    }

    @Test
    void streamedChallengeRequestBodyIsSwallowedAndReleased() {
        DefaultHttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, PATH);
        head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, "chunked");
        FullHttpResponse res = exchange(head);
        assertEquals(HttpResponseStatus.METHOD_NOT_ALLOWED, res.status());
        res.release();
        List<HttpContent> chunks = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            chunks.add(new DefaultHttpContent(Unpooled.copiedBuffer("chunk" + i, StandardCharsets.US_ASCII)));
        }
        chunks.add(new DefaultLastHttpContent(Unpooled.copiedBuffer("last", StandardCharsets.US_ASCII)));
        for (HttpContent c : chunks) {
            assertFalse(ch.writeInbound(c), "body chunks of an answered request are not passed on");
            assertEquals(0, c.refCnt(), "chunk released");
        }
        assertNull(ch.readOutbound());
        // the next request on the same connection goes to the application again
        DefaultHttpRequest next = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/app");
        assertTrue(ch.writeInbound(next));
        assertSame(next, ch.readInbound());
        LastHttpContent end = new DefaultLastHttpContent(Unpooled.copiedBuffer("x", StandardCharsets.US_ASCII));
        assertTrue(ch.writeInbound(end), "the application's own body chunks are passed on");
        assertSame(end, ch.readInbound());
        assertEquals(1, end.refCnt());
        end.release();
    }

    @Test
    void streamedGetWithEmptyLastContent() {
        FullHttpResponse res = exchange(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, PATH));
        assertEquals(KEY_AUTH, body(res));
        assertFalse(ch.writeInbound(LastHttpContent.EMPTY_LAST_CONTENT));
        // a new request arriving while still "discarding" (no LastHttpContent seen) is handled normally
        assertEquals(HttpResponseStatus.OK, exchange(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, PATH)).status());
        DefaultHttpRequest next = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/after");
        assertTrue(ch.writeInbound(next));
        assertSame(next, ch.readInbound());
    }

    @Test
    void connectionCloseIsHonoured() {
        DefaultFullHttpRequest req = get(PATH);
        req.headers().set(HttpHeaderNames.CONNECTION, "close");
        FullHttpResponse res = exchange(req);
        assertEquals(HttpResponseStatus.OK, res.status());
        assertEquals("close", res.headers().get(HttpHeaderNames.CONNECTION));
        assertEquals(KEY_AUTH, body(res));
        assertFalse(ch.isOpen());
    }

    @Test
    void otherHttpVersionsAreAnsweredAsHttp11NeverEchoed() {
        // Through the real codec, as in a host pipeline: "HTTP/2.0" parses as version 2.0.
        for (String version : List.of("HTTP/2.0", "HTTP/1.2", "HTTP/9.9")) {
            EmbeddedChannel raw = new EmbeddedChannel(new HttpServerCodec(), new AcmeChallengeHandler(responder));
            try {
                raw.writeInbound(Unpooled.copiedBuffer("GET " + PATH + " " + version + "\r\nHost: a\r\n\r\n", StandardCharsets.US_ASCII));
                StringBuilder out = new StringBuilder();
                for (Object o = raw.readOutbound(); o != null; o = raw.readOutbound()) {
                    ByteBuf b = (ByteBuf) o;
                    out.append(b.toString(StandardCharsets.US_ASCII));
                    b.release();
                }
                assertTrue(out.toString().startsWith("HTTP/1.1 200 OK\r\n"), version + ": " + out);
                assertFalse(out.toString().contains(version), "never echoed: " + out);
            } finally {
                raw.finishAndReleaseAll();
            }
        }
    }

    @Test
    void http10KeepAliveOnlyWhenAsked() {
        FullHttpResponse plain = exchange(new DefaultFullHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, PATH));
        assertEquals(HttpVersion.HTTP_1_0, plain.protocolVersion());
        assertEquals("close", plain.headers().get(HttpHeaderNames.CONNECTION));
        assertEquals(KEY_AUTH, body(plain));
        assertFalse(ch.isOpen());

        EmbeddedChannel ch2 = new EmbeddedChannel(new AcmeChallengeHandler(responder));
        try {
            DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, PATH);
            req.headers().set(HttpHeaderNames.CONNECTION, "keep-alive");
            assertFalse(ch2.writeInbound(req));
            FullHttpResponse res = ch2.readOutbound();
            assertEquals("keep-alive", res.headers().get(HttpHeaderNames.CONNECTION));
            assertEquals(KEY_AUTH, body(res));
            assertTrue(ch2.isOpen());
        } finally {
            ch2.finishAndReleaseAll();
        }
    }

    @Test
    void absoluteFormAndQueryString() {
        assertEquals(KEY_AUTH, body(exchange(get("http://app.example.test" + PATH))));
        assertEquals(KEY_AUTH, body(exchange(get("http://app.example.test:80" + PATH + "?x=1"))));
        assertEquals(KEY_AUTH, body(exchange(get(PATH + "?cache-buster=1&y=/z"))));
        assertEquals(KEY_AUTH, body(exchange(get(PATH + "#frag"))));
    }

    // ------------------------------------------------------------------ with a real HttpServerCodec

    private static EmbeddedChannel codecChannel(Http01Responder responder) {
        return new EmbeddedChannel(new HttpServerCodec(), new AcmeChallengeHandler(responder));
    }

    private static String drainOutbound(EmbeddedChannel c) {
        StringBuilder sb = new StringBuilder();
        Object o;
        int n = 0;
        while ((o = c.readOutbound()) != null && n++ < 100) {
            ByteBuf b = (ByteBuf) o;
            sb.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return sb.toString();
    }

    private static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    @Test
    void rawBytesThroughHttpServerCodec() {
        EmbeddedChannel c = codecChannel(responder);
        try {
            c.writeInbound(ascii("GET " + PATH + " HTTP/1.1\r\nHost: app.example.test\r\n\r\n"));
            String out = drainOutbound(c);
            assertTrue(out.startsWith("HTTP/1.1 200 OK\r\n"), out);
            assertTrue(out.contains("content-length: " + KEY_AUTH.length()) || out.contains("Content-Length: " + KEY_AUTH.length()), out);
            assertTrue(out.endsWith("\r\n\r\n" + KEY_AUTH), out);
            assertNull(c.readInbound(), "nothing reached the application");

            c.writeInbound(ascii("HEAD " + PATH + " HTTP/1.1\r\nHost: app.example.test\r\n\r\n"));
            String head = drainOutbound(c);
            assertTrue(head.startsWith("HTTP/1.1 200 OK\r\n"), head);
            assertTrue(head.toLowerCase().contains("content-length: " + KEY_AUTH.length()), head);
            assertTrue(head.endsWith("\r\n\r\n"), "HEAD has no body: " + head);

            c.writeInbound(ascii("GET " + Http01Responder.PATH_PREFIX + "a%2Fb HTTP/1.1\r\nHost: h\r\n\r\n"));
            String bad = drainOutbound(c);
            assertTrue(bad.startsWith("HTTP/1.1 400 Bad Request\r\n"), bad);
            assertFalse(c.isOpen());
        } finally {
            c.finishAndReleaseAll();
        }
    }

    @Test
    void pipelinedRequestsThroughHttpServerCodec() {
        EmbeddedChannel c = codecChannel(responder);
        try {
            c.writeInbound(ascii("GET " + PATH + " HTTP/1.1\r\nHost: h\r\n\r\n"
                    + "GET /app HTTP/1.1\r\nHost: h\r\n\r\n"));
            String out = drainOutbound(c);
            assertTrue(out.startsWith("HTTP/1.1 200 OK\r\n") && out.endsWith(KEY_AUTH), out);
            HttpRequest app = c.readInbound();
            assertEquals("/app", app.uri());
            Object end = c.readInbound();
            assertInstanceOf(LastHttpContent.class, end);
            ReferenceCountUtil.release(end);
            assertNull(c.readInbound());
        } finally {
            c.finishAndReleaseAll();
        }
    }

    @Test
    void chunkedPostToChallengePathThroughHttpServerCodec() {
        EmbeddedChannel c = codecChannel(responder);
        try {
            c.writeInbound(ascii("POST " + PATH + " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
            c.writeInbound(ascii("5\r\nhello\r\n"));
            c.writeInbound(ascii("6\r\n world\r\n0\r\n\r\n"));
            c.writeInbound(ascii("POST /app HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"));
            String out = drainOutbound(c);
            assertTrue(out.startsWith("HTTP/1.1 405 Method Not Allowed\r\n"), out);
            assertTrue(out.toLowerCase().contains("allow: get, head"), out);
            assertTrue(c.isOpen());
            HttpRequest app = c.readInbound();
            assertEquals("/app", app.uri(), "the next request on the connection reaches the application");
            StringBuilder body = new StringBuilder();
            Object o;
            int n = 0;
            while ((o = c.readInbound()) != null && n++ < 10) {
                body.append(((HttpContent) o).content().toString(StandardCharsets.US_ASCII));
                ReferenceCountUtil.release(o);
            }
            assertEquals("abc", body.toString(), "none of the swallowed body leaks into the next request");
        } finally {
            c.finishAndReleaseAll();
        }
    }

    @Test
    void absoluteFormAndConnectionCloseThroughHttpServerCodec() {
        EmbeddedChannel c = codecChannel(responder);
        try {
            c.writeInbound(ascii("GET http://app.example.test" + PATH + "?q=1 HTTP/1.1\r\nHost: app.example.test\r\nConnection: close\r\n\r\n"));
            String out = drainOutbound(c);
            assertTrue(out.startsWith("HTTP/1.1 200 OK\r\n"), out);
            assertTrue(out.toLowerCase().contains("connection: close"), out);
            assertTrue(out.endsWith(KEY_AUTH), out);
            assertFalse(c.isOpen());
        } finally {
            c.finishAndReleaseAll();
        }
    }
}
