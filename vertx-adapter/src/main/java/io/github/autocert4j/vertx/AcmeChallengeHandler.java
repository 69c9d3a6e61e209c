package io.github.autocert4j.vertx;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import io.github.autocert4j.Http01Responder;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers ACME HTTP-01 challenges on a Vert.x plain-HTTP server, ahead of the host's own handler
 * (typically a redirect to HTTPS), which gets every other request untouched:
 *
 * <pre>{@code
 * AcmeChallengeHandler acme = new AcmeChallengeHandler(autoCert.http01());
 * vertx.createHttpServer()
 *      .requestHandler(acme.then(req -> req.response().setStatusCode(308)
 *              .putHeader("Location", "https://" + req.authority().host() + req.uri()).end()))
 *      .listen(80);
 * // With vertx-web: router.route().order(-1000).handler(new AcmeChallengeRoute(acme));
 * }</pre>
 *
 * <ul>
 *   <li>{@code GET|HEAD /.well-known/acme-challenge/{token}}: 200 {@code text/plain} with the key
 *       authorization, or 404 for an unknown or empty token;</li>
 *   <li>a token that is not base64url (judged on the raw request target, so encoded slashes and
 *       dots stay visible): 400, and the connection is closed;</li>
 *   <li>any other method on that path: 405 with {@code Allow: GET, HEAD};</li>
 *   <li>a token published by another server whose shared store cannot be read right now: 503
 *       (the CA retries the validation);</li>
 *   <li>anything else: not handled ({@link #tryAnswer} returns false).</li>
 * </ul>
 *
 * <p>Tokens this server presented are answered at once; a token another server published (a
 * cluster sharing a {@code CertStore}) is looked up with {@link Http01Responder#lookup}, which
 * never blocks: the answer is written from the request's own context when the store replies.
 * Vert.x does not hand the next pipelined request of a connection to the handler before this
 * response has ended, so answers stay in order. No exception leaves the handler and none is
 * logged per request above debug level.
 */
public final class AcmeChallengeHandler implements Handler<HttpServerRequest> {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeChallengeHandler.class);

    private final Http01Responder responder;

    /** A handler answering from {@code responder} (usually {@code autoCert.http01()}). */
    public AcmeChallengeHandler(Http01Responder responder) {
        if (responder == null) {
            throw new IllegalArgumentException("responder is null. Fix: new AcmeChallengeHandler(autoCert.http01())");
        }
        this.responder = responder;
    }

    /**
     * A request handler that answers challenge requests and passes every other request to
     * {@code next} (the host's redirect or application).
     */
    public Handler<HttpServerRequest> then(Handler<HttpServerRequest> next) {
        if (next == null) {
            throw new IllegalArgumentException("next is null. Fix: pass the handler for every other request (a redirect to HTTPS)");
        }
        return req -> {
            if (!tryAnswer(req)) {
                next.handle(req);
            }
        };
    }

    /** Answers {@code req} if it is a challenge request; any other request gets a 404. */
    @Override
    public void handle(HttpServerRequest req) {
        if (!tryAnswer(req)) {
            send(req, 404, null);
        }
    }

    /**
     * Answers {@code req} if its path starts with {@value Http01Responder#PATH_PREFIX} and returns
     * true; returns false (and leaves {@code req} alone) otherwise.
     */
    public boolean tryAnswer(HttpServerRequest req) {
        String path = Http01Responder.requestPath(req.uri());
        if (path == null || !path.startsWith(Http01Responder.PATH_PREFIX)) {
            return false;
        }
        try {
            answer(req, path.substring(Http01Responder.PATH_PREFIX.length()));
        } catch (RuntimeException e) {
            LOG.debug("autocert4j: bad challenge request {}: {}", req.uri(), e.toString());
            if (!req.response().headWritten()) {
                send(req, 400, null);
            }
        }
        return true;
    }

    private void answer(HttpServerRequest req, String token) {
        HttpMethod method = req.method();
        if (!HttpMethod.GET.equals(method) && !HttpMethod.HEAD.equals(method)) {
            req.response().putHeader("Allow", "GET, HEAD");
            send(req, 405, null);
            return;
        }
        if (token.isEmpty()) {
            send(req, 404, null);
            return;
        }
        if (!Http01Responder.isWellFormedToken(token)) {
            send(req, 400, null);
            return;
        }
        CompletableFuture<Optional<String>> lookup = responder.lookup(token);
        if (lookup.isDone()) {
            reply(req, lookup.getNow(Optional.empty()), null);
            return;
        }
        // A token another server published: the store answers on the responder's own threads;
        // write the response back on the request's context, never blocking the event loop.
        Context context = Vertx.currentContext();
        lookup.whenComplete((found, failure) -> {
            if (context == null) {
                reply(req, found, failure);
            } else {
                context.runOnContext(v -> reply(req, found, failure));
            }
        });
    }

    private static void reply(HttpServerRequest req, Optional<String> keyAuthorization, Throwable failure) {
        if (failure != null) {
            LOG.debug("autocert4j: challenge lookup in the shared store failed: {}", failure.toString());
            req.response().putHeader("Retry-After", "2");
            send(req, 503, null);
        } else if (keyAuthorization != null && keyAuthorization.isPresent()) {
            send(req, 200, keyAuthorization.get());
        } else {
            send(req, 404, null);
        }
    }

    private static void send(HttpServerRequest req, int status, String body) {
        HttpServerResponse res = req.response();
        if (res.ended() || res.closed()) {
            return;
        }
        String text = body != null ? body : reason(status) + "\n";
        res.setStatusCode(status)
                .putHeader("Content-Type", "text/plain; charset=us-ascii")
                .putHeader("Cache-Control", "no-store");
        if (status == 400) {
            res.putHeader("Connection", "close");
        }
        if (HttpMethod.HEAD.equals(req.method())) {
            res.putHeader("Content-Length", String.valueOf(text.length()));
            res.end().onComplete(done -> closeIfBad(req, status));
            return;
        }
        res.end(text).onComplete(done -> closeIfBad(req, status));
    }

    /** A malformed request is never a CA's: after the answer, the connection is dropped. */
    private static void closeIfBad(HttpServerRequest req, int status) {
        if (status == 400) {
            req.connection().close();
        }
    }

    private static String reason(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 503 -> "Service Unavailable";
            default -> String.valueOf(status);
        };
    }

    @Override
    public String toString() {
        return "AcmeChallengeHandler[" + responder + "]";
    }
}
