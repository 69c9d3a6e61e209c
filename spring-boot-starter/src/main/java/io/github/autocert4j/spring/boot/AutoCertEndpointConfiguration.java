package io.github.autocert4j.spring.boot;

import io.github.autocert4j.AutoCert;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The Actuator endpoint {@code autocert4j} (same annotations in Boot 3.5 and 4.0); created when exposed. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(name = {"org.springframework.boot.actuate.endpoint.annotation.Endpoint",
        "org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint"})
@ConditionalOnAvailableEndpoint(AutoCertEndpoint.class)
class AutoCertEndpointConfiguration {

    @Bean
    AutoCertEndpoint autocert4jEndpoint(AutoCert autoCert) {
        return new AutoCertEndpoint(autoCert);
    }
}
