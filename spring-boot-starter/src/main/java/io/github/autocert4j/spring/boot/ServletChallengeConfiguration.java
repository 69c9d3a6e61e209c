package io.github.autocert4j.spring.boot;

import io.github.autocert4j.AutoCert;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/** Spring MVC on Tomcat or Jetty: the challenge (and redirect) filter, which Boot registers for every request. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass(name = {"jakarta.servlet.Filter", "io.github.autocert4j.servlet.AcmeChallengeFilter"})
class ServletChallengeConfiguration {

    @Bean
    ServletChallengeFilter autocert4jChallengeFilter(AutoCert autoCert, ChallengeRequests counts, AutoCertProperties properties,
            Environment environment) {
        return new ServletChallengeFilter(autoCert.http01(), counts, properties.isRedirectToHttps() ? HttpsRedirect.toLocalServerPort(environment) : null);
    }
}
