package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.Http01Responder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

/**
 * 100,000+ generated requests, as raw bytes, through Netty's real HTTP codec and the
 * {@link AcmeChallengeHandler}, with a "host" handler behind it: path traversal, encoded
 * slashes and dots, over-long and non-base64url tokens, odd methods with bodies, absolute-form
 * targets, queries, pipelined requests and malformed HTTP. Asserts each status and that no
 * request whose raw path is a challenge path ever reaches the host; 200 only ever carries the
 * key authorization of a pending token.
 */
class FuzzNettyChallengeTest {
    static final int REQUESTS = 100_000;
    static final String P = Http01Responder.PATH_PREFIX;
    static final Pattern STATUS = Pattern.compile("HTTP/1\\.[01] (\\d{3}) ");
    static final String B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static final String[] BAD_TOKEN_PARTS = {"..", "../", "..%2f", "%2e%2e", "%2e%2e%2f", "%2F", "%252F", "%5C", "\\", "./", "/", "//", "%00",
        "%20", "+", "=", ".", "~", "!", "$", "*", "%ff", "%c0%ae", ";", ",", "%", "%zz", "'", "(", "@", ":"};
    static final String[] ODD_METHODS = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "PROPFIND", "FOO", "get", "Get", "M-SEARCH"};

    /** What the host saw; it answers 418 (400 for a request the codec could not decode). */
    static final class Host extends ChannelInboundHandlerAdapter {
        final List<String> uris = new ArrayList<>();
        final List<Boolean> failed = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest r) {
                uris.add(r.uri());
                failed.add(r.decoderResult().isFailure());
                HttpResponseStatus s = r.decoderResult().isFailure() ? HttpResponseStatus.BAD_REQUEST : HttpResponseStatus.valueOf(418);
                DefaultFullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, s, Unpooled.EMPTY_BUFFER);
                res.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0).set(HttpHeaderNames.CONNECTION, "close");
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            }
            ReferenceCountUtil.release(msg);
        }
    }

    enum Kind { OK, HEAD_OK, NOT_FOUND, BAD, NOT_ALLOWED, HOST, MALFORMED }

    record Case(Kind kind, String raw, String detail) {
    }

    @Test
    void generatedRequestsGetTheRightStatusAndNothingEscapesToTheHost() {
        Http01Responder responder = new Http01Responder();
        List<String> tokens = new ArrayList<>();
        Map<String, String> keyAuth = new TreeMap<>();
        SplittableRandom rnd = new SplittableRandom(20_260_728L);
        for (int i = 0; i < 20; i++) {
            String t = token(rnd, 43);
            tokens.add(t);
            keyAuth.put(t, t + ".thumbprint" + i);
            responder.present(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", t, t + ".thumbprint" + i));
        }
        Map<Kind, Integer> counts = new TreeMap<>();
        int requests = 0;
        for (int n = 0; requests < REQUESTS && n < REQUESTS * 2; n++) {
            List<Case> batch = new ArrayList<>();
            // Mostly one request per connection; sometimes a keep-alive pipeline of well-formed ones.
            int pipeline = rnd.nextInt(10) == 0 ? 2 + rnd.nextInt(4) : 1;
            for (int i = 0; i < pipeline; i++) {
                Case c = generate(rnd, tokens);
                if (pipeline > 1 && (c.kind == Kind.MALFORMED || c.kind == Kind.HOST || c.kind == Kind.BAD)) {
                    c = new Case(Kind.NOT_FOUND, "GET " + P + token(rnd, 43) + " HTTP/1.1\r\nHost: a\r\n\r\n", "pipelined unknown");
                }
                batch.add(c);
            }
            Host host = new Host();
            EmbeddedChannel ch = new EmbeddedChannel(new HttpServerCodec(), new AcmeChallengeHandler(responder), host);
            StringBuilder in = new StringBuilder();
            batch.forEach(c -> in.append(c.raw));
            ch.writeInbound(Unpooled.wrappedBuffer(in.toString().getBytes(StandardCharsets.ISO_8859_1)));
            String out = drain(ch);
            ch.finishAndReleaseAll();
            requests += batch.size();
            batch.forEach(c -> counts.merge(c.kind, 1, Integer::sum));
            check(batch, out, host, keyAuth);
        }
        assertTrue(requests >= REQUESTS, "generated " + requests);
        for (Kind k : Kind.values()) {
            assertTrue(counts.getOrDefault(k, 0) > 1_000, "every kind is well covered: " + counts);
        }
        System.out.println("fuzzed " + requests + " requests: " + counts);
    }

    static void check(List<Case> batch, String out, Host host, Map<String, String> keyAuth) {
        List<Integer> statuses = new ArrayList<>();
        List<Integer> starts = new ArrayList<>();
        Matcher m = STATUS.matcher(out);
        while (m.find()) {
            statuses.add(Integer.parseInt(m.group(1)));
            starts.add(m.start());
        }
        String ctx = batch + " -> " + out;
        // Nothing whose path is a challenge path, raw or once decoded, reaches the host.
        for (int i = 0; i < host.uris.size(); i++) {
            String path = Http01Responder.requestPath(host.uris.get(i));
            assertTrue(path == null || !path.startsWith(P), "escaped to the host: " + host.uris.get(i) + " in " + ctx);
            assertTrue(host.failed.get(i) || new Http01Responder().respond("GET", host.uris.get(i)).passToHost(),
                    "a disguised challenge path escaped to the host: " + host.uris.get(i) + " in " + ctx);
        }
        if (batch.size() == 1 && batch.get(0).kind == Kind.MALFORMED) {
            assertTrue(statuses.size() <= 1, ctx);
            assertTrue(statuses.isEmpty() || statuses.get(0) == 400, "malformed -> 400 or nothing: " + ctx);
            assertTrue(host.failed.stream().allMatch(f -> f), "the host sees malformed requests only as decoder failures: " + ctx);
            return;
        }
        assertEquals(batch.size(), statuses.size(), "one response per request: " + ctx);
        for (int i = 0; i < batch.size(); i++) {
            Case c = batch.get(i);
            int s = statuses.get(i);
            String response = out.substring(starts.get(i), i + 1 < starts.size() ? starts.get(i + 1) : out.length());
            switch (c.kind) {
                case OK -> {
                    assertEquals(200, s, ctx);
                    String body = response.substring(response.indexOf("\r\n\r\n") + 4);
                    assertTrue(keyAuth.containsValue(body) && keyAuth.get(c.detail).equals(body), "200 carries exactly the key authorization: " + ctx);
                }
                case HEAD_OK -> {
                    assertEquals(200, s, ctx);
                    assertTrue(response.endsWith("\r\n\r\n"), "HEAD has no body: " + ctx);
                }
                case NOT_FOUND -> assertEquals(404, s, ctx);
                case BAD -> assertEquals(400, s, ctx);
                case NOT_ALLOWED -> {
                    assertEquals(405, s, ctx);
                    assertTrue(response.contains("allow: GET, HEAD") || response.contains("Allow: GET, HEAD"), ctx);
                }
                case HOST -> {
                    assertEquals(418, s, "passed on to the host: " + ctx);
                    assertTrue(host.uris.contains(c.detail), "the host got the target unchanged: " + ctx);
                }
                default -> throw new AssertionError(c.toString());
            }
        }
    }

    static String drain(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        for (Object o = ch.readOutbound(); o != null; o = ch.readOutbound()) {
            if (o instanceof ByteBuf b) {
                sb.append(b.toString(StandardCharsets.ISO_8859_1));
            }
            ReferenceCountUtil.release(o);
        }
        return sb.toString();
    }

    static String token(SplittableRandom rnd, int len) {
        StringBuilder sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            sb.append(B64URL.charAt(rnd.nextInt(B64URL.length())));
        }
        return sb.toString();
    }

    static String request(String method, String target, String extraHeaders, String body) {
        return method + " " + target + " HTTP/1.1\r\nHost: app.autocert4j.test\r\n" + extraHeaders
                + (body.isEmpty() ? "" : "Content-Length: " + body.length() + "\r\n") + "\r\n" + body;
    }

    static String decorate(SplittableRandom rnd, String path) {
        return switch (rnd.nextInt(6)) {
            case 0 -> path + "?x=" + rnd.nextInt(1000);
            case 1 -> "http://app.autocert4j.test" + path;
            case 2 -> "http://app.autocert4j.test:80" + path + "?a=b&c";
            default -> path;
        };
    }

    static Case generate(SplittableRandom rnd, List<String> tokens) {
        String known = tokens.get(rnd.nextInt(tokens.size()));
        switch (rnd.nextInt(16)) {
            case 0, 1 -> {
                return new Case(Kind.OK, request("GET", decorate(rnd, P + known), "", ""), known);
            }
            case 2 -> {
                return new Case(Kind.HEAD_OK, request("HEAD", decorate(rnd, P + known), "", ""), known);
            }
            case 3 -> {
                String t = rnd.nextBoolean() ? token(rnd, 1 + rnd.nextInt(256)) : "";
                return new Case(Kind.NOT_FOUND, request(rnd.nextBoolean() ? "GET" : "HEAD", decorate(rnd, P + t), "", ""), t);
            }
            case 4, 5, 6 -> {
                // A token with a traversal / encoding / non-base64url piece spliced in somewhere.
                String base = rnd.nextBoolean() ? known : token(rnd, rnd.nextInt(60));
                String bad = BAD_TOKEN_PARTS[rnd.nextInt(BAD_TOKEN_PARTS.length)];
                int at = base.isEmpty() ? 0 : rnd.nextInt(base.length() + 1);
                String t = base.substring(0, at) + bad + base.substring(at);
                if (rnd.nextInt(4) == 0) {
                    t = t + "/../../../../etc/passwd";
                }
                return new Case(Kind.BAD, request("GET", decorate(rnd, P + t), "", ""), t);
            }
            case 7 -> {
                String t = token(rnd, 257 + rnd.nextInt(3_000));
                return new Case(Kind.BAD, request(rnd.nextBoolean() ? "GET" : "HEAD", P + t, "", ""), "long " + t.length());
            }
            case 8, 9 -> {
                String method = ODD_METHODS[rnd.nextInt(ODD_METHODS.length)];
                String body = rnd.nextBoolean() ? "x".repeat(rnd.nextInt(200)) : "";
                String t = rnd.nextBoolean() ? known : token(rnd, 1 + rnd.nextInt(50));
                return new Case(Kind.NOT_ALLOWED, request(method, decorate(rnd, P + t), "", body), method);
            }
            case 10, 11 -> {
                // Not a challenge path (raw): the host's business, passed on unchanged.
                String[] others = {"/", "/index.html", "/.well-known/acme-challenge", "/.well-known/acme-challengeX/" + known,
                    "/.WELL-KNOWN/acme-challenge/" + known, "//.well-known/acme-challenge/" + known,
                    "/x/.well-known/acme-challenge/" + known, "/.well-known/security.txt", "/static/" + token(rnd, 20)};
                // Challenge paths only once decoded or normalized (core's decision, the same for every host): 400, never the host's.
                String[] disguised = {"/.well-known/%61cme-challenge/" + known, "/.well-known/acme-challenge%2f" + known,
                    "/.well-known/./acme-challenge/" + known, "/" + token(rnd, 20) + "/../.well-known/acme-challenge/" + known};
                if (rnd.nextInt(3) == 0) {
                    String target = disguised[rnd.nextInt(disguised.length)];
                    return new Case(Kind.BAD, request("GET", target, "", ""), target);
                }
                String target = others[rnd.nextInt(others.length)];
                return new Case(Kind.HOST, request(rnd.nextBoolean() ? "GET" : "POST", target, "", ""), target);
            }
            default -> {
                return new Case(Kind.MALFORMED, malformed(rnd, known), "malformed");
            }
        }
    }

    static String malformed(SplittableRandom rnd, String known) {
        return switch (rnd.nextInt(8)) {
            case 0 -> "GET " + P + known + " HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n";
            case 1 -> "GET " + P + known + " HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg";
            case 2 -> "GET " + P + known + " HTTP/1.1\r\nHost : a\r\n\r\n";
            case 3 -> "GET " + P + known + " HTTP/1.1\r\nX-Long: " + "a".repeat(9_000 + rnd.nextInt(2_000)) + "\r\n\r\n";
            case 4 -> "GET " + P + "A".repeat(4_100 + rnd.nextInt(2_000)) + " HTTP/1.1\r\nHost: a\r\n\r\n";
            case 5 -> {
                byte[] junk = new byte[1 + rnd.nextInt(64)];
                for (int i = 0; i < junk.length; i++) {
                    junk[i] = (byte) (rnd.nextInt(31) + 1);
                }
                yield new String(junk, StandardCharsets.ISO_8859_1) + " " + P + known + " HTTP/1.1\r\n\r\n";
            }
            case 6 -> "GET " + P + known + " HTTP/1.1 trailing-junk\r\nHost: a\r\n\r\n";
            default -> "GET " + P + known + " HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n";
        };
    }
}
