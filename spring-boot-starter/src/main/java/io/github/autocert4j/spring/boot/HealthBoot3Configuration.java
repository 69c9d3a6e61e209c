package io.github.autocert4j.spring.boot;

import java.time.Clock;

import io.github.autocert4j.AutoCert;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Boot 3.5: the health indicator "autocert4j" (disable with management.health.autocert4j.enabled=false). */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(name = "org.springframework.boot.actuate.health.HealthIndicator")
@ConditionalOnEnabledHealthIndicator("autocert4j")
class HealthBoot3Configuration {

    @Bean
    Boot3HealthIndicator autocert4jHealthIndicator(AutoCert autoCert, AutoCertProperties properties) {
        return new Boot3HealthIndicator(() -> HealthEvaluation.of(autoCert, properties, Clock.systemUTC()));
    }
}
