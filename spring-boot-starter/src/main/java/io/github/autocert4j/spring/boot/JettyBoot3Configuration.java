package io.github.autocert4j.spring.boot;

import io.github.autocert4j.AutoCert;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.embedded.jetty.ConfigurableJettyWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Boot 3.5 + Jetty 12.0: see {@link JettyHttps}. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass(name = {"org.springframework.boot.web.embedded.jetty.ConfigurableJettyWebServerFactory", "org.eclipse.jetty.server.Server"})
class JettyBoot3Configuration {

    @Bean
    WebServerFactoryCustomizer<ConfigurableJettyWebServerFactory> autocert4jJettyCustomizer(AutoCert autoCert,
            AutoCertProperties properties, ServerIntegrations integrations) {
        return factory -> {
            factory.addServerCustomizers(server -> {
                JettyHttps.serveLiveCertificates(server, autoCert, properties.getHttpPort());
                JettyChallengeRouting.installIfNeeded(server);
            });
            integrations.applied(ServerIntegrations.JETTY);
        };
    }
}
