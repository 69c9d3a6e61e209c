package io.github.autocert4j.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The HTTP-01 answer table, written once: core's {@code Http01Responder.respond} is checked against
 * it, and every adapter runs the same rows against its real server over a raw socket (request
 * targets are sent byte for byte, never normalized by a client). Before a run, the host presents
 * {@link #TOKEN} with {@link #KEY_AUTHORIZATION}; {@link #UNKNOWN} is pending nowhere.
 *
 * <pre>{@code
 * @ParameterizedTest
 * @MethodSource("io.github.autocert4j.testkit.Http01Table#rows")
 * void table(Http01Table.Row row) throws Exception {
 *     Http01Table.check(row, Http01Table.send(plainHttp, row), app -> assertEquals("app", app.body()));
 * }
 * }</pre>
 */
public final class Http01Table {
    /** A pending token (presented by the test before the run). */
    public static final String TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
    /** {@link #TOKEN}'s key authorization. */
    public static final String KEY_AUTHORIZATION = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
    /** A well-formed token no server has pending. */
    public static final String UNKNOWN = "unknownToken_123";
    /** The challenge path prefix. */
    public static final String PREFIX = "/.well-known/acme-challenge/";
    /** The status of a row whose request is not a challenge request: the host's own handler answers it. */
    public static final int HOST = 0;

    /**
     * One request and its expected answer.
     *
     * @param method the request method, sent as is
     * @param target the raw request target, sent as is
     * @param status 200, 400, 404 or 405, or {@link #HOST} when the host must get the request
     * @param why what the row is about
     * @param serverMayReject true when a server may refuse the request itself, with its own 400, before
     *        autocert4j sees it (an encoded slash, an ambiguous segment): then only the status is checked
     */
    public record Row(String method, String target, int status, String why, boolean serverMayReject) {
        /** A row that every server hands to autocert4j. */
        public Row(String method, String target, int status, String why) {
            this(method, target, status, why, false);
        }

        @Override
        public String toString() {
            return method + " " + (target.length() > 60 ? target.substring(0, 60) + "..." : target) + " -> "
                    + (status == HOST ? "host" : status) + " (" + why + ")";
        }
    }

    /**
     * A raw response.
     *
     * @param status the status code
     * @param headers header names in lower case
     * @param body the body, ISO-8859-1, de-chunked
     */
    public record Reply(int status, Map<String, String> headers, String body) {
        /** The header {@code name} (any case), or null. */
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private static final List<Row> ROWS = List.of(
            new Row("GET", PREFIX + TOKEN, 200, "pending token"),
            new Row("HEAD", PREFIX + TOKEN, 200, "HEAD: headers only"),
            new Row("GET", PREFIX + TOKEN + "?x=1", 200, "a query is not part of the path"),
            new Row("GET", PREFIX + UNKNOWN, 404, "token pending nowhere"),
            new Row("HEAD", PREFIX + UNKNOWN, 404, "HEAD of an unknown token"),
            new Row("GET", PREFIX, 404, "empty token"),
            new Row("GET", PREFIX + "a.b", 400, "not base64url"),
            new Row("HEAD", PREFIX + "a.b", 400, "HEAD of a malformed token"),
            new Row("GET", PREFIX + "x".repeat(257), 400, "over-long token"),
            new Row("GET", PREFIX + TOKEN + "%2Fx", 400, "encoded slash", true),
            new Row("GET", PREFIX + TOKEN + "%2e", 400, "encoded dot", true),
            new Row("GET", PREFIX + "%41bc", 400, "percent-encoded token"),
            new Row("GET", PREFIX + "abc;jsessionid=1", 400, "path parameter", true),
            new Row("GET", PREFIX + TOKEN + "/x", 400, "a slash in the token"),
            new Row("GET", "/.well-known/%61cme-challenge/" + TOKEN, 400, "encoded prefix"),
            new Row("GET", "/.well-known%2Facme-challenge/" + TOKEN, 400, "encoded slash in the prefix", true),
            new Row("POST", PREFIX + TOKEN, 405, "POST"),
            new Row("PUT", PREFIX + TOKEN, 405, "PUT"),
            new Row("DELETE", PREFIX + UNKNOWN, 405, "DELETE"),
            new Row("OPTIONS", PREFIX + TOKEN, 405, "OPTIONS"),
            new Row("GET", "/hello", HOST, "the application's path"),
            new Row("POST", "/hello", HOST, "the application's POST"),
            new Row("GET", "/.well-known/acme-challenge", HOST, "no slash after the prefix"),
            new Row("GET", "/.well-known/other", HOST, "another well-known path"),
            new Row("GET", "/x/.well-known/acme-challenge/" + TOKEN, HOST, "the prefix deeper in the path"));

    private Http01Table() {
    }

    /** Every row (for {@code @MethodSource("io.github.autocert4j.testkit.Http01Table#rows")}). */
    public static List<Row> rows() {
        return ROWS;
    }

    /**
     * Checks {@code reply} against {@code row}: a challenge answer's status, {@code text/plain},
     * {@code Cache-Control: no-store}, the key authorization for 200 (no body for HEAD),
     * {@code Allow: GET, HEAD} for 405, {@code Content-Length} of the body; for a {@link #HOST} row,
     * {@code host} checks that the application answered.
     */
    public static void check(Row row, Reply reply, Consumer<Reply> host) {
        String ctx = row + ": " + reply;
        if (row.status() == HOST) {
            host.accept(reply);
            return;
        }
        assertEquals(row.status(), reply.status(), ctx);
        if (row.serverMayReject() && !"no-store".equals(reply.header("cache-control"))) {
            return; // the server's own 400
        }
        assertEquals("no-store", reply.header("cache-control"), "answered by autocert4j, not the server: " + ctx);
        assertNotNull(reply.header("content-type"), ctx);
        assertTrue(reply.header("content-type").startsWith("text/plain"), ctx);
        String body = row.status() == 200 ? KEY_AUTHORIZATION : reason(row.status()) + "\n";
        if (reply.header("content-length") != null) {
            assertEquals(String.valueOf(body.length()), reply.header("content-length"), ctx);
        }
        assertEquals(row.method().equals("HEAD") ? "" : body, reply.body(), ctx);
        if (row.status() == 405) {
            assertEquals("GET, HEAD", reply.header("allow"), ctx);
        }
    }

    private static String reason(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            default -> "Service Unavailable";
        };
    }

    /**
     * Sends {@code row}'s request exactly as written ({@code Connection: close}; POST and PUT with a
     * small body) and reads the response until the server closes (at most 5 s of silence).
     */
    public static Reply send(InetSocketAddress server, Row row) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(server, 5_000);
            s.setSoTimeout(5_000);
            String body = row.method().equals("POST") || row.method().equals("PUT") ? "x=1" : "";
            String req = row.method() + " " + row.target() + " HTTP/1.1\r\nHost: app.autocert4j.test\r\nConnection: close\r\n"
                    + (body.isEmpty() ? "" : "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + body.length() + "\r\n")
                    + "\r\n" + body;
            s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            String text = new String(in.readNBytes(1 << 20), StandardCharsets.ISO_8859_1);
            int end = text.indexOf("\r\n\r\n");
            if (end < 0) {
                throw new IOException("incomplete response to " + row + ": " + text);
            }
            String[] lines = text.substring(0, end).split("\r\n");
            int status = Integer.parseInt(lines[0].split(" ")[1]);
            Map<String, String> headers = new TreeMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
                }
            }
            String rest = text.substring(end + 4);
            if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                rest = dechunk(rest);
            }
            return new Reply(status, headers, rest);
        }
    }

    private static String dechunk(String s) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        for (int n = 0; n < 10_000 && i < s.length(); n++) {
            int eol = s.indexOf("\r\n", i);
            if (eol < 0) {
                break;
            }
            int size = Integer.parseInt(s.substring(i, eol).split(";")[0].trim(), 16);
            if (size == 0) {
                break;
            }
            out.append(s, eol + 2, eol + 2 + size);
            i = eol + 2 + size + 2;
        }
        return out.toString();
    }
}
