package io.github.autocert4j.netty;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AsyncMapping;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * The first handler of an HTTPS pipeline with on-demand TLS: reads the ClientHello's SNI name,
 * waits — without blocking the event loop — until {@link AutoCert#certificateReady} says the
 * certificate for that name is live (bounded by {@code OnDemand.handshakeWait()}), then replaces
 * itself with the {@code SslHandler} of the live context. While one name's certificate is being
 * obtained, every other connection on the same event loop keeps being served.
 *
 * <p>A name that is not allowed, cannot be ordered now, or is not ready in time gets the refusal
 * context: a handshake failure alert, or the default certificate when the configuration says
 * {@code OnTimeout.SERVE_FALLBACK}. Created by {@link AutoCertSsl.Handlers#newHandler}.
 *
 * <pre>{@code
 * AutoCertSsl.Handlers tls = AutoCertSsl.handlers(autoCert);
 * ch.pipeline().addLast(tls.newHandler(ch.alloc()), new HttpServerCodec(), new MyApp());
 * }</pre>
 */
public final class OnDemandSniHandler extends SniHandler {
    private final AutoCert autoCert;
    private final SslContext live;
    private final SslContext refused;
    private final long waitMillis;

    OnDemandSniHandler(AutoCert autoCert, SslContext live, SslContext refused, long waitMillis) {
        super((AsyncMapping<String, SslContext>) (host, promise) -> promise.setSuccess(live)); // lookup() below decides
        this.autoCert = autoCert;
        this.live = live;
        this.refused = refused;
        this.waitMillis = waitMillis;
    }

    @Override
    protected Future<SslContext> lookup(ChannelHandlerContext ctx, String hostname) {
        Promise<SslContext> promise = ctx.executor().newPromise();
        if (hostname == null) {
            return promise.setSuccess(live); // no SNI never orders: the default certificate
        }
        CompletableFuture<Boolean> ready = autoCert.certificateReady(hostname);
        if (ready.isDone()) {
            return promise.setSuccess(Boolean.TRUE.equals(ready.getNow(false)) ? live : refused);
        }
        ScheduledFuture<?> timeout = ctx.executor().schedule(() -> promise.trySuccess(refused), waitMillis, TimeUnit.MILLISECONDS);
        ready.whenComplete((ok, failure) -> {
            timeout.cancel(false);
            promise.trySuccess(Boolean.TRUE.equals(ok) ? live : refused);
        });
        return promise;
    }
}
