package io.github.autocert4j.quarkus;

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
import io.vertx.ext.web.RoutingContext;
import org.jboss.logging.Logger;

/**
 * The first route of Quarkus' router (Quarkus' own Vert.x 4): answers ACME HTTP-01 challenges
 * on the plain-HTTP server, then, when the application configured
 * {@code quarkus.http.insecure-requests=redirect}, redirects every other plain-HTTP request to
 * HTTPS exactly as Quarkus would (Quarkus' own redirect is a server-level handler that no route
 * can precede, so the extension turns it off and redirects here, after the challenge path).
 *
 * <p>What to answer is decided by core ({@link Http01Responder#respondAsync}; the table is in
 * {@link Http01Reply}: 200 / 404 / 503 for a token, 400 and the connection closed for a malformed token
 * or a disguised challenge path, judged on the raw request target, 405 with {@code Allow: GET, HEAD} for
 * other methods); this route only renders it, with Quarkus' own Vert.x 4 (autocert4j-vertx, built for
 * Vert.x 5, is not reused here). The lookup never blocks the event loop.
 */
public final class AcmeChallengeRoute implements Handler<RoutingContext> {
    private static final Logger LOG = Logger.getLogger(AcmeChallengeRoute.class);

    private final Http01Responder responder;
    private final boolean redirectInsecure;
    private final java.util.function.IntSupplier httpsPort;

    /**
     * A route answering from {@code responder}; with {@code redirectInsecure}, other plain-HTTP
     * requests get a 301 to {@code https://host:httpsPort}.
     */
    public AcmeChallengeRoute(Http01Responder responder, boolean redirectInsecure, java.util.function.IntSupplier httpsPort) {
        this.responder = responder;
        this.redirectInsecure = redirectInsecure;
        this.httpsPort = httpsPort;
    }

    @Override
    public void handle(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        if (tryAnswer(req)) {
            return;
        }
        if (redirectInsecure && !req.isSSL()) {
            redirect(req);
            return;
        }
        ctx.next();
    }

    /** Quarkus' own insecure-request redirect (VertxHttpRecorder), reproduced after the challenge path. */
    private void redirect(HttpServerRequest req) {
        String host = req.getHeader("Host");
        if (host == null) {
            req.response().setStatusCode(404).end();
            return;
        }
        int colon = host.lastIndexOf(':');
        if (colon > host.lastIndexOf(']')) {
            host = host.substring(0, colon);
        }
        req.response().setStatusCode(301).putHeader("Location", "https://" + host + ":" + httpsPort.getAsInt() + req.uri()).end();
    }

    /** Answers {@code req} if core decides it is a challenge request; false (and {@code req} untouched) otherwise. */
    boolean tryAnswer(HttpServerRequest req) {
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
        // A peer's token: looked up in the shared store off the event loop, answered on the request's context.
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

    /** Renders core's decision (Quarkus' Vert.x 4 API); after a 400 the connection is dropped. */
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
            LOG.debugf("autocert4j: cannot answer challenge request %s: %s", req.uri(), e);
            if (!res.headWritten() && reply.status() != 400) {
                send(req, Http01Reply.of(400, req.method().name()));
            }
        }
    }
}
