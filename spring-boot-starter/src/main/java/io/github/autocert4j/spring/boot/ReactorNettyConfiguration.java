package io.github.autocert4j.spring.boot;

import io.github.autocert4j.AutoCert;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.http.server.reactive.HttpHandler;

/** WebFlux on Reactor Netty, both Boot lines: the plain-HTTP port ({@link ReactorNettyPlainHttp}). */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
@ConditionalOnClass(name = {"reactor.netty.http.server.HttpServer", "org.springframework.http.server.reactive.ReactorHttpHandlerAdapter"})
class ReactorNettyConfiguration {

    @Bean
    ReactorNettyPlainHttp autocert4jPlainHttp(AutoCert autoCert, ChallengeRequests counts, AutoCertProperties properties,
            Environment environment, ObjectProvider<HttpHandler> application, ServerIntegrations integrations) {
        String address = environment.getProperty("server.address");
        return new ReactorNettyPlainHttp(autoCert.http01(), counts,
                properties.isRedirectToHttps() ? HttpsRedirect.toLocalServerPort(environment) : null,
                application, properties.getHttpPort(), AutoCertFactory.hasText(address) ? address.trim() : null, integrations);
    }
}
