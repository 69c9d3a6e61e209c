package io.github.autocert4j.vertx;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.autocert4j.AutoCert;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;

/**
 * A Vert.x 5 host as an application writes it: plain HTTP on Pebble's validation port with the
 * challenge handler ahead of a redirect to HTTPS, and HTTPS on a free loopback port with
 * {@link AutoCertVertx#httpsOptions}, whose app answers {@code "tls <host> <path>"}. Optionally
 * one event loop only, a vertx-web Router on the plain port, and challenge answers for names
 * starting with a prefix delayed (a slow validation, so an order stays in flight).
 */
final class VertxHost implements AutoCloseable {
    final Vertx vertx;
    final HttpServer plain;
    final HttpServer https;
    final AtomicInteger slowChallengesSeen = new AtomicInteger();

    VertxHost(AutoCert autoCert, int httpPort, int eventLoops, boolean router, Duration slowFor, String slowPrefix) throws Exception {
        vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(eventLoops));
        try {
            AcmeChallengeHandler acme = new AcmeChallengeHandler(autoCert.http01());
            Handler<HttpServerRequest> redirect = req -> req.response().setStatusCode(308)
                    .putHeader("Location", "https://" + req.authority().host() + req.uri()).end();
            Handler<HttpServerRequest> plainHandler;
            if (router) {
                Router r = Router.router(vertx);
                r.route().order(-1000).handler(new AcmeChallengeRoute(acme));
                r.route().handler(ctx -> redirect.handle(ctx.request()));
                plainHandler = r;
            } else {
                plainHandler = acme.then(redirect);
            }
            Handler<HttpServerRequest> front = plainHandler;
            if (slowFor != null) {
                front = req -> {
                    String host = req.authority() == null ? "" : req.authority().host();
                    if (host.startsWith(slowPrefix)) {
                        slowChallengesSeen.incrementAndGet();
                        req.pause();
                        vertx.setTimer(slowFor.toMillis(), t -> {
                            plainHandler.handle(req);
                            req.resume();
                        });
                    } else {
                        plainHandler.handle(req);
                    }
                };
            }
            plain = await(vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(httpPort))
                    .requestHandler(front).listen());
            https = await(vertx.createHttpServer(AutoCertVertx.httpsOptions(autoCert).setHost("127.0.0.1").setPort(0))
                    .requestHandler(req -> req.response().putHeader("Content-Type", "text/plain")
                            .end("tls " + (req.authority() == null ? "-" : req.authority().host()) + " " + req.path()))
                    .listen());
        } catch (Exception | Error e) {
            vertx.close();
            throw e;
        }
    }

    InetSocketAddress httpsAddress() {
        return new InetSocketAddress("127.0.0.1", https.actualPort());
    }

    static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        await(vertx.close());
    }
}
