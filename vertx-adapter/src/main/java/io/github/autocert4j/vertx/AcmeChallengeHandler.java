package io.github.autocert4j.vertx;

import java.util.concurrent.CompletableFuture;

import io.github.autocert4j.Http01Reply;
import io.github.autocert4j.Http01Responder;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
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
 * <p>What to answer is decided by core ({@link Http01Responder#respondAsync}, the table is in
 * {@link Http01Reply}: 200 / 404 / 503 for a token, 400 and the connection closed for a malformed
 * token or a disguised challenge path, judged on the raw request target, 405 with
 * {@code Allow: GET, HEAD} for other methods); this handler renders it and passes every other request
 * on ({@link #tryAnswer} returns false).
 *
 * <p>Tokens this server presented are answered at once; a token another server published (a
 * cluster sharing a {@code CertStore}) is looked up in the store without blocking: the answer is
 * written from the request's own context when the store replies.
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
            send(req, Http01Reply.of(404, req.method().name()));
        }
    }

    /**
     * Answers {@code req} and returns true if core decides it is a challenge request (its path, raw or
     * once decoded, starts with {@value Http01Responder#PATH_PREFIX}); returns false (and leaves
     * {@code req} alone) otherwise.
     */
    public boolean tryAnswer(HttpServerRequest req) {
        String method = req.method().name();
        CompletableFuture<Http01Reply> reply = responder.respondAsync(method, req.uri());
        if (reply.isDone()) {
            Http01Reply now = reply.join();
            if (now.passToHost()) {
                return false;
            }
            send(req, now);
            return true;
        }
        // A token another server published: the store answers on the responder's own threads;
        // write the response back on the request's context, never blocking the event loop.
        Context context = Vertx.currentContext();
        reply.whenComplete((r, failure) -> {
            Http01Reply answer = r != null ? r : Http01Reply.of(503, method);
            if (context == null) {
                send(req, answer);
            } else {
                context.runOnContext(v -> send(req, answer));
            }
        });
        return true;
    }

    /** Renders core's decision; a malformed request is never a CA's: after its 400 the connection is dropped. */
    private static void send(HttpServerRequest req, Http01Reply reply) {
        HttpServerResponse res = req.response();
        try {
            if (res.ended() || res.closed()) {
                return;
            }
            res.setStatusCode(reply.status()).putHeader("Content-Type", reply.contentType());
            reply.headers().forEach((name, value) -> res.putHeader(name, value));
            if (reply.closeConnection()) {
                res.putHeader("Connection", "close");
            }
            Future<Void> done;
            if (reply.sendBody()) {
                done = res.end(Buffer.buffer(reply.bodyBytes()));
            } else {
                res.putHeader("Content-Length", String.valueOf(reply.contentLength()));
                done = res.end();
            }
            if (reply.closeConnection()) {
                done.onComplete(ignored -> req.connection().close());
            }
        } catch (RuntimeException e) {
            LOG.debug("autocert4j: cannot answer challenge request {}: {}", req.uri(), e.toString());
            if (!res.headWritten() && reply.status() != 400) {
                send(req, Http01Reply.of(400, req.method().name()));
            }
        }
    }

    @Override
    public String toString() {
        return "AcmeChallengeHandler[" + responder + "]";
    }
}
