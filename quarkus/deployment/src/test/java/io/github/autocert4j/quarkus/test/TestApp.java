package io.github.autocert4j.quarkus.test;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import io.vertx.ext.web.Router;

/** The tests' application: one page, so a request shows which server and certificate answered. */
@Singleton
public class TestApp {
    void routes(@Observes Router router) {
        router.get("/hello").handler(ctx -> ctx.response().end((ctx.request().isSSL() ? "tls " : "plain ") + ctx.request().path()));
    }
}
