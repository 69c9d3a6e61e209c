package io.github.autocert4j.netty;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

import io.github.autocert4j.Http01Reply;
import io.github.autocert4j.Http01Responder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers ACME HTTP-01 challenges in the host's own plain-HTTP pipeline and passes every other
 * message on untouched, so the host's redirect-to-HTTPS and application handlers keep serving
 * the same port.
 *
 * <p>Place it after the {@code HttpServerCodec}; an {@code HttpObjectAggregator} before or after
 * it is fine. One instance per channel (it tracks the body of a request it answered):
 *
 * <pre>{@code
 * ch.pipeline().addLast(new HttpServerCodec())
 *              .addLast(new AcmeChallengeHandler(autoCert.http01()))
 *              .addLast(new RedirectToHttpsHandler());
 * }</pre>
 *
 * <p>What to answer is decided by core ({@link Http01Responder#respondAsync}, the table is in
 * {@link Http01Reply}: 200 / 404 / 503 for a challenge token, 400 for a malformed token or a disguised
 * challenge path, 405 for other methods); this handler only renders it, passes every other request on,
 * answers 400 for a challenge request the codec could not decode, and never blocks the event loop
 * (a peer's token is looked up in the shared store off the loop, later requests wait in order).
 */
public final class AcmeChallengeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeChallengeHandler.class);

    private static final int MAX_HELD_BACK = 64;

    private final Http01Responder responder;
    // True while the body of a request this handler answered is still arriving: swallow it.
    private boolean discardingBody;
    // True while a challenge answer waits for the shared store; later messages wait in heldBack.
    private boolean awaiting;
    private final ArrayDeque<Object> heldBack = new ArrayDeque<>();

    /** A handler answering from {@code responder} (usually {@code autoCert.http01()}). */
    public AcmeChallengeHandler(Http01Responder responder) {
        if (responder == null) {
            throw new IllegalArgumentException("responder is null: pass autoCert.http01()");
        }
        this.responder = responder;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (awaiting) {
            if (heldBack.size() >= MAX_HELD_BACK) {
                ReferenceCountUtil.release(msg);
                ctx.close(); // a client pipelining this much behind a challenge request is not a CA
                return;
            }
            heldBack.add(msg);
            return;
        }
        if (discardingBody) {
            if (msg instanceof HttpContent) {
                if (msg instanceof LastHttpContent) {
                    discardingBody = false;
                }
                ReferenceCountUtil.release(msg);
                return;
            }
            discardingBody = false;
        }
        if (msg instanceof HttpRequest request) {
            String method = request.method().name();
            CompletableFuture<Http01Reply> reply = responder.respondAsync(method, request.uri());
            if (!(reply.isDone() && reply.join().passToHost())) {
                try {
                    // A request the codec could not parse is never a CA's: 400, whatever the path says.
                    answer(ctx, request, request.decoderResult().isFailure() ? CompletableFuture.completedFuture(Http01Reply.of(400, method)) : reply);
                } catch (RuntimeException e) {
                    LOG.debug("autocert4j: bad challenge request {}: {}", request.uri(), e.toString());
                    send(ctx, request, Http01Reply.of(400, method));
                } finally {
                    discardingBody = !(msg instanceof LastHttpContent);
                    ReferenceCountUtil.release(msg);
                }
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    private void answer(ChannelHandlerContext ctx, HttpRequest request, CompletableFuture<Http01Reply> reply) {
        if (reply.isDone()) {
            send(ctx, request, reply.join());
            return;
        }
        // Looked up in a shared store (a token another server published): never block the event
        // loop; hold back later requests on this connection so responses stay in order.
        awaiting = true;
        reply.whenComplete((r, failure) -> ctx.executor().execute(() -> {
            awaiting = false;
            send(ctx, request, r != null ? r : Http01Reply.of(503, request.method().name()));
            replayHeldBack(ctx);
        }));
    }

    private void replayHeldBack(ChannelHandlerContext ctx) {
        while (!awaiting && !heldBack.isEmpty()) {
            Object next = heldBack.poll();
            if (ctx.channel().isActive()) {
                channelRead(ctx, next);
            } else {
                ReferenceCountUtil.release(next);
            }
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Object m;
        while ((m = heldBack.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
        ctx.fireChannelInactive();
    }

    /** Renders core's decision: status, headers, body (none for HEAD); closes after a 400 or when the client asks. */
    private static void send(ChannelHandlerContext ctx, HttpRequest request, Http01Reply reply) {
        byte[] bytes = reply.bodyBytes();
        ByteBuf content = reply.sendBody() ? Unpooled.wrappedBuffer(bytes) : Unpooled.EMPTY_BUFFER;
        // Answer HTTP/1.0 as HTTP/1.0 and everything else as HTTP/1.1: never echo a version we do not speak.
        HttpVersion version = HttpVersion.HTTP_1_0.equals(request.protocolVersion()) ? HttpVersion.HTTP_1_0 : HttpVersion.HTTP_1_1;
        FullHttpResponse response = new DefaultFullHttpResponse(version, HttpResponseStatus.valueOf(reply.status()), content);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, reply.contentType());
        response.headers().set(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        reply.headers().forEach(response.headers()::set);
        boolean keepAlive = !reply.closeConnection() && !request.decoderResult().isFailure() && HttpUtil.isKeepAlive(request);
        if (keepAlive) {
            if (version.equals(HttpVersion.HTTP_1_0)) {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            ctx.writeAndFlush(response);
        } else {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
