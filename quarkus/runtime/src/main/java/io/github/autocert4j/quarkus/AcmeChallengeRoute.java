package io.github.autocert4j.quarkus;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import io.github.autocert4j.Http01Responder;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
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
 * <ul>
 *   <li>{@code GET|HEAD /.well-known/acme-challenge/{token}}: 200 with the key authorization, or 404;</li>
 *   <li>a token that is not base64url (judged on the raw request target): 400 and the connection closed;</li>
 *   <li>another method on that path: 405 with {@code Allow: GET, HEAD};</li>
 *   <li>a token of another server sharing the store that cannot be read now: 503.</li>
 * </ul>
 * The decision is core's {@link Http01Responder}; the lookup never blocks the event loop.
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

    /** Answers {@code req} if its raw path starts with the challenge prefix; false otherwise. */
    boolean tryAnswer(HttpServerRequest req) {
        String path = Http01Responder.requestPath(req.uri());
        if (path == null || !path.startsWith(Http01Responder.PATH_PREFIX)) {
            return false;
        }
        try {
            answer(req, path.substring(Http01Responder.PATH_PREFIX.length()));
        } catch (RuntimeException e) {
            LOG.debugf("autocert4j: bad challenge request %s: %s", req.uri(), e);
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
            LOG.debugf("autocert4j: challenge lookup in the shared store failed: %s", failure);
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
}
