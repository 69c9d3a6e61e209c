package io.github.autocert4j.spring.boot;

import io.github.autocert4j.AutoCert;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.embedded.tomcat.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/** Boot 3.5 + Tomcat: see {@link TomcatHttps}. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass(name = {"org.springframework.boot.web.embedded.tomcat.TomcatServletWebServerFactory", "org.apache.catalina.startup.Tomcat"})
class TomcatBoot3Configuration {

    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> autocert4jTomcatCustomizer(AutoCert autoCert,
            AutoCertProperties properties, ServerIntegrations integrations, Environment environment,
            ObjectProvider<ServletChallengeFilter> challengeFilter) {
        return factory -> {
            factory.addConnectorCustomizers(connector -> TomcatHttps.serveLiveCertificates(connector, autoCert));
            factory.addAdditionalTomcatConnectors(TomcatHttps.plainHttpConnector(properties.getHttpPort(),
                    factory.getAddress() == null ? null : factory.getAddress().getHostAddress(), factory.getPort()));
            String contextPath = ServletChallengeConfiguration.contextPath(environment);
            ServletChallengeFilter challenges = challengeFilter.getIfAvailable();
            if (!contextPath.isEmpty() && challenges != null) {
                // The CA asks at the root, outside the application's context: answer before context mapping.
                factory.addEngineValves(new TomcatChallengeValve(challenges));
            }
            integrations.applied(ServerIntegrations.TOMCAT);
        };
    }
}
