package io.github.autocert4j.vertx;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * The challenge answers as a vertx-web {@code Router} handler: challenge requests are answered
 * (see {@link AcmeChallengeHandler}), every other request goes on to the next route. Give it a
 * route ahead of any redirect or authentication:
 *
 * <pre>{@code
 * Router plain = Router.router(vertx);
 * plain.route().order(-1000).handler(new AcmeChallengeRoute(new AcmeChallengeHandler(autoCert.http01())));
 * plain.route().handler(ctx -> ctx.redirect("https://" + ctx.request().authority().host() + ctx.request().uri()));
 * }</pre>
 */
public final class AcmeChallengeRoute implements Handler<RoutingContext> {
    private final AcmeChallengeHandler challenges;

    /** A route handler answering through {@code challenges}. */
    public AcmeChallengeRoute(AcmeChallengeHandler challenges) {
        if (challenges == null) {
            throw new IllegalArgumentException("challenges is null. Fix: new AcmeChallengeRoute(new AcmeChallengeHandler(autoCert.http01()))");
        }
        this.challenges = challenges;
    }

    @Override
    public void handle(RoutingContext ctx) {
        if (!challenges.tryAnswer(ctx.request())) {
            ctx.next();
        }
    }
}
