package io.github.autocert4j.netty;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

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
import io.netty.handler.codec.http.HttpMethod;
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
 * <ul>
 *   <li>{@code GET|HEAD /.well-known/acme-challenge/{token}}: 200 with the key authorization, 404 for a token no
 *       server has pending, or 503 when this server cannot tell (its shared store is unreachable or too slow:
 *       a load balancer should try another server, see docs/cluster.md);</li>
 *   <li>a token that is not base64url (encoded slashes, dots, over-long): 400;</li>
 *   <li>any other method on that path: 405 with {@code Allow: GET, HEAD};</li>
 *   <li>anything else: passed on to the next handler.</li>
 * </ul>
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
            String path = Http01Responder.requestPath(request.uri());
            if (path != null && path.startsWith(Http01Responder.PATH_PREFIX)) {
                try {
                    answer(ctx, request, path.substring(Http01Responder.PATH_PREFIX.length()));
                } catch (RuntimeException e) {
                    LOG.debug("autocert4j: bad challenge request {}: {}", request.uri(), e.toString());
                    send(ctx, request, HttpResponseStatus.BAD_REQUEST, null, false);
                } finally {
                    discardingBody = !(msg instanceof LastHttpContent);
                    ReferenceCountUtil.release(msg);
                }
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    private void answer(ChannelHandlerContext ctx, HttpRequest request, String token) {
        if (request.decoderResult().isFailure()) {
            send(ctx, request, HttpResponseStatus.BAD_REQUEST, null, false);
            return;
        }
        HttpMethod method = request.method();
        boolean head = HttpMethod.HEAD.equals(method);
        if (!head && !HttpMethod.GET.equals(method)) {
            send(ctx, request, HttpResponseStatus.METHOD_NOT_ALLOWED, null, false);
            return;
        }
        if (token.isEmpty()) {
            send(ctx, request, HttpResponseStatus.NOT_FOUND, null, head);
            return;
        }
        if (!Http01Responder.isWellFormedToken(token)) {
            send(ctx, request, HttpResponseStatus.BAD_REQUEST, null, head);
            return;
        }
        CompletableFuture<Http01Responder.Answer> lookup = responder.answerAsync(token);
        if (lookup.isDone()) {
            reply(ctx, request, lookup.isCompletedExceptionally() ? null : lookup.getNow(null), head);
            return;
        }
        // Looked up in a shared store (a token another server published): never block the event
        // loop; hold back later requests on this connection so responses stay in order.
        awaiting = true;
        lookup.whenComplete((found, failure) -> ctx.executor().execute(() -> {
            awaiting = false;
            reply(ctx, request, failure == null ? found : null, head);
            replayHeldBack(ctx);
        }));
    }

    /** Renders the responder's decision (null: the lookup itself failed, which is "cannot tell" too). */
    private static void reply(ChannelHandlerContext ctx, HttpRequest request, Http01Responder.Answer answer, boolean head) {
        if (answer == null) {
            send(ctx, request, HttpResponseStatus.SERVICE_UNAVAILABLE, null, head);
        } else {
            send(ctx, request, HttpResponseStatus.valueOf(answer.status()), answer.found().orElse(null), head);
        }
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

    private static void send(ChannelHandlerContext ctx, HttpRequest request, HttpResponseStatus status, String body, boolean head) {
        byte[] bytes = (body != null ? body : status.reasonPhrase() + "\n").getBytes(StandardCharsets.US_ASCII);
        ByteBuf content = head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes);
        // Answer HTTP/1.0 as HTTP/1.0 and everything else as HTTP/1.1: never echo a version we do not speak.
        HttpVersion version = HttpVersion.HTTP_1_0.equals(request.protocolVersion()) ? HttpVersion.HTTP_1_0 : HttpVersion.HTTP_1_1;
        FullHttpResponse response = new DefaultFullHttpResponse(version, status, content);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=us-ascii");
        response.headers().set(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        response.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        if (status == HttpResponseStatus.METHOD_NOT_ALLOWED) {
            response.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
        }
        boolean keepAlive = status.code() < 400 || status == HttpResponseStatus.NOT_FOUND || status == HttpResponseStatus.METHOD_NOT_ALLOWED
                || status == HttpResponseStatus.SERVICE_UNAVAILABLE;
        keepAlive &= !request.decoderResult().isFailure() && HttpUtil.isKeepAlive(request);
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
