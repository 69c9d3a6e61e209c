package io.github.autocert4j.spring.boot;

import io.github.autocert4j.AutoCert;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.reactor.netty.NettyReactiveWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Boot 4.0 + Reactor Netty 1.3 (module spring-boot-reactor-netty): see {@link ReactorNettyHttps}. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
@ConditionalOnClass(name = {"org.springframework.boot.reactor.netty.NettyReactiveWebServerFactory", "reactor.netty.http.server.HttpServer"})
class ReactorNettyBoot4Configuration {

    @Bean
    WebServerFactoryCustomizer<NettyReactiveWebServerFactory> autocert4jNettyCustomizer(AutoCert autoCert,
            ServerIntegrations integrations) {
        return factory -> {
            factory.addServerCustomizers(server -> ReactorNettyHttps.serveLiveCertificates(server, autoCert));
            integrations.applied(ServerIntegrations.REACTOR_NETTY);
        };
    }
}
