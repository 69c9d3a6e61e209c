package io.github.autocert4j;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What to answer for one request on the plain-HTTP port, decided by
 * {@link Http01Responder#respond(String, String)} alike for every host: either
 * {@linkplain #passToHost() pass the request on} to the host's own handler, or answer with
 * {@link #status()}, {@link #contentType()}, the extra {@link #headers()} and, unless
 * {@link #sendBody()} is false (HEAD), {@link #body()}. Adapters only render it:
 *
 * <pre>{@code
 * Http01Reply reply = autoCert.http01().respond(method, rawRequestTarget);
 * if (reply.passToHost()) { next.handle(request); return; }
 * response.status(reply.status()).header("Content-Type", reply.contentType())
 *         .header("Content-Length", reply.contentLength());
 * reply.headers().forEach(response::header);                  // Cache-Control, Allow for 405
 * if (reply.closeConnection()) { response.header("Connection", "close"); }
 * response.end(reply.sendBody() ? reply.bodyBytes() : new byte[0]);
 * }</pre>
 *
 * <p>The table: {@code GET|HEAD /.well-known/acme-challenge/{token}} is 200 with the key
 * authorization, 404 for a token no server has pending (or an empty one), 503 when this server
 * cannot tell (its shared store failed or was too slow: a load balancer should try another server;
 * {@code Retry-After: 2});
 * a token that is not base64url, or a path that is a challenge path only once percent-decoded or
 * normalized, is 400 and closes the connection (never a CA's request); another method on a challenge
 * path is 405 with {@code Allow: GET, HEAD}; every other path is passed to the host. Every answer is
 * {@code text/plain} with {@code Cache-Control: no-store}; an answer without a key authorization
 * carries the status's reason phrase and a newline.
 *
 * @param passToHost true when the request is not a challenge request: the host handles it; all other components are then empty
 * @param status the HTTP status: 200, 400, 404, 405 or 503 (0 when passed to the host)
 * @param contentType the {@code Content-Type} header value ("" when passed to the host)
 * @param body the response body, US-ASCII ("" when passed to the host)
 * @param headers further response headers, in order ({@code Cache-Control}; {@code Allow} for 405,
 *        {@code Retry-After: 2} for 503)
 * @param sendBody false for a HEAD request: send the headers (with the body's length) but no body
 * @param closeConnection true when the connection should be closed after the answer (a malformed request)
 */
public record Http01Reply(boolean passToHost, int status, String contentType, String body, Map<String, String> headers,
        boolean sendBody, boolean closeConnection) {

    /** The content type of every answer. */
    public static final String CONTENT_TYPE = "text/plain; charset=us-ascii";

    /** Not a challenge request: the host handles it. */
    public static final Http01Reply PASS_TO_HOST = new Http01Reply(true, 0, "", "", Map.of(), false, false);

    /** Checks the components and copies the headers into an unmodifiable, ordered map. */
    public Http01Reply {
        if (contentType == null || body == null || headers == null) {
            throw new IllegalArgumentException("an Http01Reply has a content type, a body and headers (empty, never null)");
        }
        headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
    }

    /** 200 with {@code keyAuthorization}; no body for {@code HEAD}. */
    static Http01Reply found(String keyAuthorization, String method) {
        return new Http01Reply(false, 200, CONTENT_TYPE, keyAuthorization, Map.of("Cache-Control", "no-store"),
                !"HEAD".equals(method), false);
    }

    /**
     * The standard answer without a key authorization for {@code status} (400, 404, 405 or 503) to a
     * request with {@code method}: the reason phrase and a newline as body ({@code HEAD}: none),
     * {@code Allow: GET, HEAD} for 405, the connection closed after a 400. For adapters that must
     * answer a request their server could not parse (400) or that is no challenge request at all (404).
     */
    public static Http01Reply of(int status, String method) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Cache-Control", "no-store");
        if (status == 405) {
            headers.put("Allow", "GET, HEAD");
        } else if (status == 503) {
            headers.put("Retry-After", "2"); // this server cannot tell now: try again (or another server) shortly
        }
        return new Http01Reply(false, status, CONTENT_TYPE, reason(status) + "\n", headers, !"HEAD".equals(method), status == 400);
    }

    /** The body's bytes (US-ASCII), also for HEAD, where they are not sent. */
    public byte[] bodyBytes() {
        return body.getBytes(StandardCharsets.US_ASCII);
    }

    /** The {@code Content-Length} to send: the body's length, also for HEAD. */
    public int contentLength() {
        return body.length();
    }

    /** The reason phrase of {@code status}. */
    static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 503 -> "Service Unavailable";
            default -> "Status " + status;
        };
    }

    @Override
    public String toString() {
        // never the key authorization: it may end up in logs
        return passToHost ? "Http01Reply[passToHost]" : "Http01Reply[" + status + (sendBody ? "" : ", no body")
                + (closeConnection ? ", close" : "") + "]";
    }
}
