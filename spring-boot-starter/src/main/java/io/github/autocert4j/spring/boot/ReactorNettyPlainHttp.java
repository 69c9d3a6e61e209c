package io.github.autocert4j.spring.boot;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import io.github.autocert4j.Http01Reply;
import io.github.autocert4j.Http01Responder;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ReactorHttpHandlerAdapter;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * The plain-HTTP port of the Reactor Netty integration. Boot's reactive server has one port, so a
 * second, small Reactor Netty {@code HttpServer} (same event loops) listens on
 * {@code autocert4j.http-port}: it answers {@code /.well-known/acme-challenge/{token}} as core decides for every
 * host ({@link Http01Responder#respondAsync}: 200 / 404 / 503 / 400 / 405, judged on the raw request target), then redirects to HTTPS or,
 * without {@code redirect-to-https}, hands the request to the application's own {@link HttpHandler}.
 * Started after Boot's server and before the AutoCert, stopped the other way round.
 */
final class ReactorNettyPlainHttp implements SmartLifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(ReactorNettyPlainHttp.class);

    private final Http01Responder responder;
    private final ChallengeRequests counts;
    private final HttpsRedirect redirect;
    private final ObjectProvider<HttpHandler> application;
    private final int port;
    private final String address;
    private final ServerIntegrations integrations;
    private volatile DisposableServer server;

    /**
     * @param redirect null to serve the application on this port too
     * @param address Boot's server.address, or null for every interface
     */
    ReactorNettyPlainHttp(Http01Responder responder, ChallengeRequests counts, HttpsRedirect redirect,
            ObjectProvider<HttpHandler> application, int port, String address, ServerIntegrations integrations) {
        this.responder = responder;
        this.counts = counts;
        this.redirect = redirect;
        this.application = application;
        this.port = port;
        this.address = address;
        this.integrations = integrations;
    }

    @Override
    public int getPhase() {
        return AutoCertLifecycle.PHASE - 256;
    }

    @Override
    public void start() {
        if (!integrations.contains(ServerIntegrations.REACTOR_NETTY)) {
            // WebFlux on another server than Reactor Netty: nothing of ours serves HTTPS there.
            return;
        }
        HttpHandler handler = redirect == null ? application.getIfAvailable() : null;
        ReactorHttpHandlerAdapter app = handler == null ? null : new ReactorHttpHandlerAdapter(handler);
        HttpServer plain = HttpServer.create().port(port).handle((req, res) -> route(req, res, app));
        if (address != null) {
            plain = plain.host(address);
        }
        server = plain.bindNow(Duration.ofSeconds(30));
        LOG.info("autocert4j: plain HTTP on {} for ACME challenges{}", server.address(),
                redirect != null ? " and redirects to HTTPS" : " and the application");
    }

    @Override
    public void stop() {
        DisposableServer s = server;
        server = null;
        if (s != null) {
            s.disposeNow(Duration.ofSeconds(5));
        }
    }

    @Override
    public boolean isRunning() {
        return server != null;
    }

    /** The bound port, or -1 when not running. */
    int port() {
        DisposableServer s = server;
        return s == null ? -1 : s.port();
    }

    private Publisher<Void> route(HttpServerRequest req, HttpServerResponse res, ReactorHttpHandlerAdapter app) {
        String uri = req.uri();
        // This runs on the event loop: respondAsync() reads a token not pending here from the shared store off the loop,
        // and decides 200 / 400 / 404 / 405 / 503 (the store cannot tell: a load balancer tries another replica).
        CompletableFuture<Http01Reply> reply = responder.respondAsync(req.method().name(), uri);
        if (!reply.isDone() || !reply.join().passToHost()) {
            return Mono.fromFuture(reply).flatMap(r -> answer(res, r));
        }
        if (redirect != null) {
            String path = Http01Responder.requestPath(uri);
            int q = uri.indexOf('?');
            String location = redirect.location(req.requestHeaders().get("Host"), (path == null ? "/" : path) + (q >= 0 ? uri.substring(q) : ""));
            if (location == null) {
                return plain(res, 400, "no usable Host header to redirect to HTTPS\n");
            }
            return res.status(HttpsRedirect.status(req.method().name())).header("Location", location).header("Content-Length", "0").send();
        }
        if (app != null) {
            return app.apply(req, res);
        }
        return plain(res, 404, "Not Found\n");
    }

    /** Renders core's decision and counts it. */
    private Mono<Void> answer(HttpServerResponse res, Http01Reply reply) {
        counts.record(reply.status());
        byte[] bytes = reply.bodyBytes();
        res.status(reply.status())
                .header("Content-Type", reply.contentType())
                .header("Content-Length", Integer.toString(bytes.length));
        reply.headers().forEach(res::header);
        if (reply.closeConnection()) {
            res.header("Connection", "close");
        }
        return reply.sendBody() ? res.sendByteArray(Mono.just(bytes)).then() : res.send().then();
    }

    /** The host's own plain answer (no usable Host header, nothing to serve). */
    private static Mono<Void> plain(HttpServerResponse res, int status, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.US_ASCII);
        res.status(status)
                .header("Content-Type", "text/plain;charset=us-ascii")
                .header("Cache-Control", "no-store")
                .header("Content-Length", Integer.toString(bytes.length));
        return res.sendByteArray(Mono.just(bytes)).then();
    }
}
