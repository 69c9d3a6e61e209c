package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;

import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.Http01Responder;
import io.github.autocert4j.testkit.Http01Table;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * testkit's {@link Http01Table} (the table core decides) against real Vert.x 5 servers over raw
 * sockets: {@link AcmeChallengeHandler#then} in front of an application handler, and
 * {@link AcmeChallengeRoute} first in a vertx-web Router. The application answers {@code "app <uri>"}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Http01TableVertxTest {
    final Http01Responder responder = new Http01Responder();
    Vertx vertx;
    HttpServer handler;
    HttpServer router;

    @BeforeAll
    void start() throws Exception {
        responder.present(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", Http01Table.TOKEN, Http01Table.KEY_AUTHORIZATION));
        vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        AcmeChallengeHandler acme = new AcmeChallengeHandler(responder);
        handler = VertxHost.await(vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
                .requestHandler(acme.then(req -> req.response().end("app " + req.uri()))).listen());
        Router r = Router.router(vertx);
        r.route().order(-1000).handler(new AcmeChallengeRoute(acme));
        r.route().handler(ctx -> ctx.response().end("app " + ctx.request().uri()));
        router = VertxHost.await(vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
                .requestHandler(r).listen());
    }

    @AfterAll
    void stop() throws Exception {
        VertxHost.await(vertx.close());
    }

    @ParameterizedTest
    @MethodSource("io.github.autocert4j.testkit.Http01Table#rows")
    void handler(Http01Table.Row row) throws Exception {
        check(row, handler);
    }

    @ParameterizedTest
    @MethodSource("io.github.autocert4j.testkit.Http01Table#rows")
    void router(Http01Table.Row row) throws Exception {
        check(row, router);
    }

    private static void check(Http01Table.Row row, HttpServer server) throws Exception {
        Http01Table.Reply reply = Http01Table.send(new InetSocketAddress("127.0.0.1", server.actualPort()), row);
        Http01Table.check(row, reply, app -> {
            assertEquals(200, app.status(), row + " -> " + app);
            assertEquals("app " + row.target(), app.body(), row.toString());
        });
        if (row.status() == 400) {
            assertEquals("close", reply.header("connection"), row.toString());
        }
    }
}
