package io.github.autocert4j.spring.boot;

import io.github.autocert4j.AutoCert;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.tomcat.TomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Boot 4.0 + Tomcat (module spring-boot-tomcat): see {@link TomcatHttps}. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass(name = {"org.springframework.boot.tomcat.TomcatWebServerFactory", "org.apache.catalina.startup.Tomcat"})
class TomcatBoot4Configuration {

    @Bean
    WebServerFactoryCustomizer<TomcatWebServerFactory> autocert4jTomcatCustomizer(AutoCert autoCert, AutoCertProperties properties,
            ServerIntegrations integrations,
            ObjectProvider<ServletChallengeFilter> challengeFilter) {
        return factory -> {
            factory.addConnectorCustomizers(connector -> TomcatHttps.serveLiveCertificates(connector, autoCert));
            factory.addAdditionalConnectors(TomcatHttps.plainHttpConnector(properties.getHttpPort(),
                    factory.getAddress() == null ? null : factory.getAddress().getHostAddress(), factory.getPort()));
            ServletChallengeFilter challenges = challengeFilter.getIfAvailable();
            if (challenges != null) {
                // With a context path the CA's request (at the root) maps to no context: answered at the engine.
                factory.addEngineValves(new TomcatChallengeValve(challenges.challengesOnly()));
            }
            integrations.applied(ServerIntegrations.TOMCAT);
        };
    }
}
