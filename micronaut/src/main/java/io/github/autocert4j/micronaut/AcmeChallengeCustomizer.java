package io.github.autocert4j.micronaut;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.netty.AcmeChallengeHandler;
import io.micronaut.context.BeanProvider;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.micronaut.http.server.netty.NettyServerCustomizer;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslHandler;
import jakarta.inject.Singleton;

/**
 * Puts autocert4j's HTTP-01 answer into every HTTP/1.x connection of Micronaut's plain-HTTP
 * listener, right after Netty's {@code HttpServerCodec} (also behind the h2c upgrade handler of
 * {@code micronaut.server.http-version: 2.0}): ahead of Micronaut's routing, filters,
 * security and {@code micronaut.server.http-to-https-redirect}, so the CA's validation is
 * answered before any redirect or authentication. The rules are netty-adapter's
 * {@link AcmeChallengeHandler}: 200 with the key authorization, 404 for an unknown token, 400 for a
 * malformed one, 405 for other methods, 503 when a peer's token cannot be read from the shared
 * store right now (looked up off the event loop); every other request is passed on untouched.
 *
 * <p>Registered through Micronaut's public extension point,
 * {@link NettyServerCustomizer.Registry}, when the registry is created.
 */
@Singleton
@Requires(beans = AutoCert.class)
public class AcmeChallengeCustomizer implements BeanCreatedEventListener<NettyServerCustomizer.Registry> {
    /** The name of the handler in the pipeline. */
    public static final String HANDLER_NAME = "autocert4j-acme-challenge";

    private final BeanProvider<AutoCert> autoCert;

    /** Created by Micronaut. */
    public AcmeChallengeCustomizer(BeanProvider<AutoCert> autoCert) {
        this.autoCert = autoCert;
    }

    @Override
    public NettyServerCustomizer.Registry onCreated(BeanCreatedEvent<NettyServerCustomizer.Registry> event) {
        event.getBean().register(new ListenerCustomizer());
        return event.getBean();
    }

    private final class ListenerCustomizer implements NettyServerCustomizer {
        @Override
        public NettyServerCustomizer specializeForChannel(Channel channel, ChannelRole role) {
            return role == ChannelRole.CONNECTION ? new ConnectionCustomizer(channel) : this;
        }
    }

    private final class ConnectionCustomizer implements NettyServerCustomizer {
        private final Channel channel;

        ConnectionCustomizer(Channel channel) {
            this.channel = channel;
        }

        @Override
        public NettyServerCustomizer specializeForChannel(Channel channel, ChannelRole role) {
            return this;
        }

        @Override
        public void onStreamPipelineBuilt() {
            ChannelPipeline pipeline = channel.pipeline();
            // HTTP/1.x over plain TCP only: CAs validate HTTP-01 on port 80 (HTTP/2 streams and TLS ports are left alone).
            // By type, not by name: with micronaut.server.http-version 2.0 the plain port starts with an h2c upgrade
            // handler, which adds the codec under a generated name and builds this pipeline at the first HTTP/1 request.
            ChannelHandlerContext codec = pipeline.context(HttpServerCodec.class);
            if (codec == null || pipeline.get(SslHandler.class) != null || pipeline.get(HANDLER_NAME) != null) {
                return;
            }
            pipeline.addAfter(codec.name(), HANDLER_NAME, new AcmeChallengeHandler(autoCert.get().http01()));
        }
    }
}
